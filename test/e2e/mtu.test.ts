// The overlay MTU follows the underlay: every overlay interface uses the underlay MTU minus 50, and a
// full-size TCP transfer across hosts works when the lab's underlay MTU is lowered to 1400 and when it
// is raised to 9000 (a DF ping of exactly the overlay MTU passes, one byte more does not).
import { describe, expect, it } from "vitest";
import { inNetns, probe, startServer, withLab } from "../helpers/lab.js";

const BYTES = 8 * 1024 * 1024;

async function linkMtu(netns: string, dev: string): Promise<number> {
  return (JSON.parse((await inNetns(netns, ["ip", "-j", "link", "show", "dev", dev])).stdout) as Array<{ mtu: number }>)[0]!.mtu;
}

describe.each([1400, 9000])("an underlay MTU of %i", (underlayMtu) => {
  it("gives the overlay MTU - 50 and carries a full-size TCP transfer across hosts", async () => {
    const lab = await withLab({ hosts: 2, containers: 1, underlayMtu });
    try {
      const overlay = underlayMtu - 50;
      const [a, b] = [lab.state.containers.find((c) => c.host === "h1")!, lab.state.containers.find((c) => c.host === "h2")!];
      const h1 = lab.state.hosts[0]!.netns;
      expect(await linkMtu(h1, "ul0")).toBe(underlayMtu);
      for (const dev of ["weft-vx42", "weft-br42"]) expect(await linkMtu(h1, dev), dev).toBe(overlay);
      expect(await linkMtu(a.netns, "eth0")).toBe(overlay);
      expect(await linkMtu(a.netns, "eth1")).toBe(overlay);

      expect((await inNetns(a.netns, ["ping", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", String(overlay - 28), b.ip])).code).toBe(0);
      expect((await inNetns(a.netns, ["ping", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", String(overlay - 27), b.ip])).code).not.toBe(0);

      const server = await startServer(b.netns, "tcp", 9100);
      try {
        expect(await probe(a.netns, "tcp", b.ip, 9100, { bytes: BYTES, timeoutMs: 20_000 })).toBe("ok");
      } finally {
        server.stop();
      }
    } finally {
      await lab.down();
    }
  }, 240_000);
});
