// Latency figures on a live lab: attach-to-reachable and join-to-remote-FDB. Measured with real
// agents, real kernels and the kernels' own netlink event timestamps.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { createUnaryClient } from "../../proto/grpc-binding.js";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import type { LabState } from "../../agent/lab/index.js";

const run = promisify(execFile);

export interface LatencySamples {
  attachToReachableMs: number[];
  joinToRemoteFdbMs: number[];
}

/**
 * Attaches `count` new containers on the lab's second host, one at a time. For each: the time from
 * the attach call's return until a container on the first host gets a ping reply (ping's own -D
 * receive timestamp), and the time from the new veth's link event on host B until the FDB event for
 * its MAC on host A (both from `ip/bridge monitor` timestamps, the same realtime clock).
 */
export async function measureLatencies(state: LabState, count: number): Promise<LatencySamples> {
  const hostA = state.hosts[0]!;
  const hostB = state.hosts[1]!;
  const probe = state.containers.find((c) => c.host === hostA.name);
  if (!probe) throw new Error("the lab needs a container on its first host");
  const api = createUnaryClient(WeftService, `unix:${hostB.apiSocket}`);
  const linkMonitor = startMonitor(["ip", "-n", hostB.netns, "-ts", "monitor", "link"]);
  const fdbMonitor = startMonitor(["bridge", "-n", hostA.netns, "-timestamp", "monitor", "fdb"]);
  await new Promise((r) => setTimeout(r, 300)); // let both monitors subscribe before the first attach
  const samples: LatencySamples = { attachToReachableMs: [], joinToRemoteFdbMs: [] };
  try {
    for (let i = 0; i < count; i++) {
      const netns = `${state.prefix}-h2-c${100 + i}`;
      await run("ip", ["netns", "add", netns]);
      await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
      // Addresses (and so MACs) are reused after a detach: forget earlier events.
      linkMonitor.clear();
      fdbMonitor.clear();
      const res = await api.attachEndpoint({ network: probe.network, netns, name: `bench${i}`, ifName: "eth0" });
      const attachedAt = Date.now();
      const endpoint = res.endpoint!;
      const reply = await firstPingReply(probe.netns, endpoint.ip);
      samples.attachToReachableMs.push(reply - attachedAt);
      const vethAt = await linkMonitor.waitFor((line) => line.includes(`weft${endpoint.id.slice(0, 11)}`), 2000);
      // Only the VXLAN entry (MAC -> remote VTEP), not the bridge's own learned entry for the MAC.
      const fdbAt = await fdbMonitor.waitFor((line) => line.startsWith(`${endpoint.mac} `) && line.includes(" dst "), 2000);
      samples.joinToRemoteFdbMs.push(fdbAt - vethAt);
      await api.detachEndpoint({ endpoint: endpoint.id });
      await run("ip", ["netns", "del", netns]);
    }
  } finally {
    api.close();
    linkMonitor.stop();
    fdbMonitor.stop();
  }
  return samples;
}

/** Pings every millisecond until the first reply; returns the reply's receive time (epoch ms). */
async function firstPingReply(netns: string, ip: string): Promise<number> {
  const { stdout } = await run("ip", ["netns", "exec", netns, "ping", "-D", "-n", "-i", "0.001", "-c", "1", "-w", "3", ip]);
  const match = /^\[(\d+\.\d+)\].*bytes from/m.exec(stdout);
  if (!match) throw new Error(`no ping reply from ${ip} within 3 s: ${stdout}`);
  return Number(match[1]) * 1000;
}

interface Monitor {
  clear(): void;
  waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<number>;
  stop(): void;
}

/** Runs an iproute2 monitor and remembers every event line with its kernel-side timestamp. */
function startMonitor(command: string[]): Monitor {
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    stdio: ["ignore", "pipe", "ignore"],
    // Both tools print local time; pin it so it compares with Date.now().
    env: { ...process.env, TZ: "UTC" },
  });
  const events: Array<{ at: number; line: string }> = [];
  let pendingTimestamp: number | undefined;
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      // ip -ts: "[2026-11-22T13:11:11.157938] 2: weft...": the timestamp prefixes the event line.
      const ipTs = /^\[(\d{4}-\d\d-\d\dT[\d:.]+)\]\s*(.*)$/.exec(line);
      if (ipTs) {
        events.push({ at: Date.parse(`${ipTs[1]!.slice(0, 23)}Z`) + Number(`0.${ipTs[1]!.split(".")[1]!.slice(3) || "0"}`), line: ipTs[2]! });
        continue;
      }
      // bridge -timestamp: "Timestamp: Sun Nov 22 13:11:11 2026 160766 usec" on its own line, then the event.
      const brTs = /^Timestamp: \w+ (\w+ +\d+ [\d:]+ \d+) (\d+) usec/.exec(line);
      if (brTs) {
        pendingTimestamp = Date.parse(`${brTs[1]} UTC`) + Number(brTs[2]) / 1000;
        continue;
      }
      if (pendingTimestamp !== undefined) {
        events.push({ at: pendingTimestamp, line: line.trim() });
        pendingTimestamp = undefined;
      }
    }
  });
  return {
    clear() {
      events.length = 0;
    },
    async waitFor(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.findIndex((e) => match(e.line));
        if (found >= 0) return events.splice(found, 1)[0]!.at;
        if (Date.now() > deadline) throw new Error(`monitor ${command.join(" ")}: no matching event within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    stop() {
      child.kill();
    },
  };
}
