// Isolation between weft networks: a container of the lab's second network reaches none of the first
// network's containers, on its own host or across hosts, in either direction, over TCP, UDP or ICMP,
// while containers of one network reach each other over all three (so a failure means isolation,
// not a broken network). Containers reach their gateway address only for DNS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inNetns, probe, startServer, withLab, type TestLab } from "../helpers/lab.js";
import type { LabContainer } from "../../agent/lab/index.js";

const PORT = 8080;
let lab: TestLab;
const servers: Array<{ stop(): void }> = [];

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 1 });
  for (const c of [...lab.state.containers, ...(lab.state.isolated ?? [])]) {
    servers.push(await startServer(c.netns, "tcp", PORT), await startServer(c.netns, "udp", PORT));
  }
}, 180_000);

afterAll(async () => {
  for (const s of servers) s.stop();
  await lab?.down();
}, 60_000);

const on = (list: readonly LabContainer[] | undefined, host: string): LabContainer => list!.find((c) => c.host === host)!;

async function reach(from: LabContainer, to: LabContainer): Promise<Record<string, boolean>> {
  const icmp = (await inNetns(from.netns, ["ping", "-n", "-c", "2", "-W", "1", to.ip])).code === 0;
  return { icmp, tcp: (await probe(from.netns, "tcp", to.ip, PORT)) === "ok", udp: (await probe(from.netns, "udp", to.ip, PORT)) === "ok" };
}

describe("isolation between networks", () => {
  it("holds on the same host and across hosts, both ways, for ICMP, TCP and UDP", async () => {
    const all = { icmp: true, tcp: true, udp: true };
    const none = { icmp: false, tcp: false, udp: false };
    // Within a network, across hosts: everything passes.
    expect(await reach(on(lab.state.containers, "h1"), on(lab.state.containers, "h2"))).toEqual(all);
    expect(await reach(on(lab.state.isolated, "h1"), on(lab.state.isolated, "h2"))).toEqual(all);
    for (const [a, b] of [
      [on(lab.state.isolated, "h1"), on(lab.state.containers, "h1")],
      [on(lab.state.isolated, "h1"), on(lab.state.containers, "h2")],
      [on(lab.state.isolated, "h2"), on(lab.state.containers, "h1")],
    ] as const) {
      expect(await reach(a, b), `${a.name} -> ${b.name}`).toEqual(none);
      expect(await reach(b, a), `${b.name} -> ${a.name}`).toEqual(none);
    }
  });

  it("lets a container reach its gateway only for DNS", async () => {
    const c = on(lab.state.containers, "h1");
    const gateway = (await inNetns(c.netns, ["sh", "-c", "sed -n 's/^nameserver //p' /etc/resolv.conf"])).stdout.trim();
    expect(gateway).toMatch(/^10\.40\.\d+\.1$/);
    expect((await inNetns(c.netns, ["getent", "ahostsv4", on(lab.state.containers, "h2").name])).code).toBe(0);
    // A service of the host listening on every address is not reachable through the gateway address.
    const hostService = await startServer(lab.state.hosts[0]!.netns, "tcp", 8081);
    try {
      expect(await probe(lab.state.hosts[0]!.netns, "tcp", gateway, 8081)).toBe("ok");
      expect(await probe(c.netns, "tcp", gateway, 8081)).not.toBe("ok");
    } finally {
      hostService.stop();
    }
  });
});
