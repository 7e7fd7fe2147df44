// Egress through the per-host weft_gwbridge: every container reaches the world masqueraded to its
// host's underlay address; members of the gwbridge cannot reach each other through it (ICC off);
// an internal network has no egress leg and no way out.
import { create } from "@bufbuild/protobuf";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttachEndpointRequestSchema, CreateNetworkRequestSchema } from "../../proto/gen/weft/v1/api_pb.js";
import { inNetns, pollUntil, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

const WORLD = "http://10.251.0.253:80/";
let lab: TestLab;

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 2 });
}, 180_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

async function fetchWorld(netns: string): Promise<string> {
  const run = await inNetns(netns, ["curl", "-s", "-m", "2", WORLD]);
  return run.code === 0 ? run.stdout.trim() : `curl exit ${run.code}`;
}

describe("egress", () => {
  it("lets every container fetch from the world, which sees the host's underlay address", async () => {
    for (const c of [...lab.state.containers, ...(lab.state.isolated ?? [])]) {
      const host = lab.state.hosts.find((h) => h.name === c.host)!;
      const seen = await pollUntil(() => fetchWorld(c.netns), (s) => s === host.underlayIp, 5000);
      expect(seen, `${c.name} via ${host.name}`).toBe(host.underlayIp);
    }
  });

  it("puts the default route on eth1 via the gwbridge, and keeps the gwbridge members apart (ICC off)", async () => {
    const [a, b] = lab.state.containers.filter((c) => c.host === "h1");
    const route = JSON.parse((await inNetns(a!.netns, ["ip", "-j", "route", "show", "default"])).stdout) as Array<{ dev: string; gateway: string }>;
    expect(route).toMatchObject([{ dev: "eth1", gateway: "172.18.0.1" }]);
    const egressOf = async (netns: string): Promise<string> =>
      (JSON.parse((await inNetns(netns, ["ip", "-j", "-4", "addr", "show", "dev", "eth1"])).stdout) as Array<{ addr_info: Array<{ local: string }> }>)[0]!.addr_info[0]!.local;
    const [ipA, ipB] = [await egressOf(a!.netns), await egressOf(b!.netns)];
    expect((await inNetns(a!.netns, ["ping", "-n", "-c", "2", "-W", "1", ipB])).code).not.toBe(0);
    expect((await inNetns(b!.netns, ["ping", "-n", "-c", "2", "-W", "1", ipA])).code).not.toBe(0);
    // The same pair still talks over its own network.
    expect((await inNetns(a!.netns, ["ping", "-n", "-c", "1", "-W", "2", b!.ip])).code).toBe(0);
  });

  it("gives an internal network's endpoints no egress leg and no way out", async () => {
    const netns = `${lab.prefix}-h1-c90`;
    execFileSync("ip", ["netns", "add", netns]);
    try {
      const endpoint = await withLabApi(lab, "h1", async (api) => {
        await api.createNetwork(create(CreateNetworkRequestSchema, { name: "vault", subnet: "10.60.0.0/16", internal: true }));
        return (await api.attachEndpoint(create(AttachEndpointRequestSchema, { network: "vault", netns }))).endpoint!;
      });
      expect(endpoint.interfaces.map((i) => i.name)).toEqual(["eth0"]);
      expect((await inNetns(netns, ["ip", "link", "show", "eth1"])).code).not.toBe(0);
      expect((await inNetns(netns, ["ip", "route", "show", "default"])).stdout.trim()).toBe("");
      expect(await fetchWorld(netns)).not.toBe(lab.state.hosts[0]!.underlayIp);
      await withLabApi(lab, "h1", (api) => api.detachEndpoint({ endpoint: endpoint.id }));
    } finally {
      execFileSync("ip", ["netns", "del", netns]);
    }
  });
});
