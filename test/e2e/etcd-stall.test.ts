// etcd stalled for 60 s (SIGSTOP, as a hung disk or a cut-off member behaves), then resumed: every
// node lease expires in the stall and etcd revokes them on resume, but the peers still answer gossip,
// so no agent takes them for dead (removal needs both signals). Pings every 20 ms across hosts lose
// nothing; an endpoint attached during the stall is reachable from the other hosts through gossip
// alone and survives the resume. Runs over 60 s: its own timeout.
import { execFile, execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabContainer } from "../../agent/lab/index.js";
import { pingSeries, pollUntil, withLab, type TestLab } from "../helpers/lab.js";

const run = promisify(execFile);
const CLI = new URL("../../agent/bin/weft.js", import.meta.url).pathname;
const STALL_MS = 60_000;
// From before the stall to 20 s after it: 85 s of pings at 20 ms.
const PING_COUNT = 4250;
let lab: TestLab;
let extraNamespace: string | undefined;

beforeAll(async () => {
  lab = await withLab({ hosts: 3, containers: 1 });
}, 180_000);

afterAll(async () => {
  // Whatever happened, etcd must not stay stopped.
  if (lab) {
    try {
      process.kill(lab.state.etcd.pid, "SIGCONT");
    } catch {
      // already gone
    }
  }
  if (extraNamespace) execFileSync("ip", ["netns", "del", extraNamespace], { stdio: "ignore" });
  await lab?.down();
}, 60_000);

function containerOn(host: string): LabContainer {
  return lab.state.containers.find((c) => c.host === host)!;
}

async function pingOk(netns: string, ip: string): Promise<boolean> {
  try {
    await run("ip", ["netns", "exec", netns, "ping", "-n", "-q", "-c", "1", "-W", "1", ip]);
    return true;
  } catch {
    return false;
  }
}

async function weft(host: string, ...args: string[]): Promise<string> {
  const socket = lab.state.hosts.find((h) => h.name === host)!.apiSocket;
  const { stdout } = await run("node", [CLI, "--api-socket", socket, ...args], { timeout: 20_000 });
  return stdout;
}

describe("etcd stall", () => {
  it(
    "etcd stopped 60 s and resumed: no 20 ms ping lost, and an endpoint attached in the stall is reachable and survives",
    async () => {
      const [c1, c2, c3] = [containerOn("h1"), containerOn("h2"), containerOn("h3")];
      const series = [
        pingSeries(c1.netns, c2.ip, { intervalMs: 20, count: PING_COUNT }),
        pingSeries(c2.netns, c1.ip, { intervalMs: 20, count: PING_COUNT }),
        pingSeries(c3.netns, c1.ip, { intervalMs: 20, count: PING_COUNT }),
      ];
      let late: ReturnType<typeof pingSeries> | undefined;
      const etcdPid = lab.state.etcd.pid;
      try {
        await new Promise((r) => setTimeout(r, 2000));
        process.kill(etcdPid, "SIGSTOP");
        const stoppedAt = Date.now();
        try {
          // Attach on h1 during the stall: h1 holds its slice already, so no etcd round trip is needed.
          extraNamespace = `${lab.prefix}-h1-c9`;
          execFileSync("ip", ["netns", "add", extraNamespace]);
          const attached = JSON.parse(await weft("h1", "--json", "endpoint", "attach", "--network", "weft-lab", "--netns", extraNamespace)) as { endpoint: { ip: string } };
          const ip = attached.endpoint.ip;
          for (const from of [c2, c3]) {
            expect(await pollUntil(() => pingOk(from.netns, ip), Boolean, 5000), `${ip} from ${from.name} during the stall`).toBe(true);
          }
          late = pingSeries(c2.netns, ip, { intervalMs: 20, count: Math.floor((STALL_MS + 20_000 - (Date.now() - stoppedAt)) / 20) });
          await new Promise((r) => setTimeout(r, Math.max(0, STALL_MS - (Date.now() - stoppedAt))));
        } finally {
          process.kill(etcdPid, "SIGCONT");
        }
        const summaries = await Promise.all([...series.map((s) => s.done), late!.done]);
        for (const s of summaries) expect({ lost: s.transmitted - s.received, summary: s.summary }).toEqual({ lost: 0, summary: s.summary });
        const ip = (JSON.parse(await weft("h2", "--json", "endpoint", "ls", "--network", "weft-lab")) as { endpoints: Array<{ ip: string; name: string }> }).endpoints.find((e) => e.name === extraNamespace)?.ip;
        expect(ip, "the endpoint attached in the stall, as h2 sees it after the resume").toBeDefined();
        for (const from of [c2, c3]) expect(await pingOk(from.netns, ip!), `${ip} from ${from.name} after the resume`).toBe(true);

        // The cause, from the agents' logs: the leases lapsed and etcd revoked them on resume, while
        // gossip still heard every peer (the old agent removed their endpoints at this point).
        const logs = await Promise.all(lab.state.hosts.map((h) => readFile(h.logFile, "utf8")));
        expect(logs.join("\n")).toMatch(/etcd record is gone but it still answers gossip/);
        expect(logs.join("\n")).not.toMatch(/is gone \(no etcd record, not answering gossip\)/);
      } finally {
        for (const s of [...series, ...(late ? [late] : [])]) s.stop();
      }
    },
    STALL_MS + 120_000,
  );
});
