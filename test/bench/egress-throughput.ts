// Egress TCP throughput on a live lab: a container on the first host to the lab's world
// (`<prefix>-world`, on the underlay) through its egress leg, the host's gwbridge and the masquerade,
// against the first host's own namespace to the world straight over the underlay. Each run measures
// both back to back (the order alternating between runs); the ratio is the median of per-run ratios.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { LabState } from "../../agent/lab/index.js";
import { iperf3, linkMtu, median, type Endpoints } from "./throughput.js";

const run = promisify(execFile);

export interface EgressThroughput {
  runs: number;
  seconds: number;
  egressGbps: number;
  underlayGbps: number;
  /** Median over runs of egress (container -> gwbridge -> NAT -> world) / underlay (host -> world). */
  egressToUnderlay: number;
  /** The container's egress leg (the interface of its default route) and its MTU. */
  egressInterface: string;
  egressMtu: number;
}

export async function measureEgressThroughput(state: LabState, options: { runs: number; seconds: number }): Promise<EgressThroughput> {
  const host = state.hosts[0];
  if (!host) throw new Error("the egress bench needs a lab host");
  if (!state.world) throw new Error("the egress bench needs the lab's world namespace");
  const client = state.containers.find((c) => c.host === host.name);
  if (!client) throw new Error(`the egress bench needs a container on ${host.name}`);
  const egressInterface = await defaultRouteDevice(client.netns);
  const egressMtu = await linkMtu(client.netns, egressInterface);
  const paths: Record<"egress" | "underlay", Endpoints> = {
    egress: { clientNetns: client.netns, serverNetns: state.world.netns, serverIp: state.world.ip },
    underlay: { clientNetns: host.netns, serverNetns: state.world.netns, serverIp: state.world.ip },
  };
  const samples: Array<{ egress: number; underlay: number }> = [];
  for (let i = 0; i < options.runs; i++) {
    const order = i % 2 === 0 ? (["egress", "underlay"] as const) : (["underlay", "egress"] as const);
    const sample = { egress: 0, underlay: 0 };
    for (const path of order) sample[path] = await iperf3(paths[path], options.seconds);
    samples.push(sample);
  }
  const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
  return {
    runs: options.runs,
    seconds: options.seconds,
    egressGbps: round(median(samples.map((s) => s.egress)) / 1e9, 2),
    underlayGbps: round(median(samples.map((s) => s.underlay)) / 1e9, 2),
    egressToUnderlay: round(median(samples.map((s) => s.egress / s.underlay)), 3),
    egressInterface,
    egressMtu,
  };
}

async function defaultRouteDevice(netns: string): Promise<string> {
  const { stdout } = await run("ip", ["-n", netns, "-j", "route", "show", "default"]);
  const [route] = JSON.parse(stdout) as Array<{ dev?: string }>;
  if (!route?.dev) throw new Error(`${netns} has no default route: no egress leg`);
  return route.dev;
}
