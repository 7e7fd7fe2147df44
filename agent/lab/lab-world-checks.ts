// The lab's checks beyond pings: egress (every container fetches from the world, which must see the
// host's underlay address: masquerade), names (every container resolves every other container of its
// network by name through weft's DNS, and an outside name forwarded to the world), and isolation
// (containers of the second network reach each other but no container of the first, both ways).
// Positive checks retry until their deadline; negative ones try twice and pass only if both fail.
import { mapConcurrent, runCommand } from "./command-runner.js";
import { WORLD_IP, WORLD_ZONE } from "./lab-names.js";
import { pingOnce } from "./lab-namespaces.js";
import type { CheckResult, LabContainer, LabHost } from "./lab-state.js";
import { WORLD_HTTP_PORT, WORLD_ZONE_ADDRESS } from "./lab-world.js";

const CONCURRENCY = 6;

export async function runEgressChecks(containers: readonly LabContainer[], hosts: readonly LabHost[], deadlineMs = 5000): Promise<CheckResult[]> {
  const url = `http://${WORLD_IP}:${WORLD_HTTP_PORT}/`;
  return mapConcurrent(containers, CONCURRENCY, async (c) => {
    const expected = hosts.find((h) => h.name === c.host)?.underlayIp ?? "?";
    const seen = await retry(deadlineMs, async () => {
      const out = await inNetns(c.netns, ["curl", "-s", "-m", "2", url]);
      return out.ok && out.text.trim() === expected ? out : { ok: false, text: out.text.trim() || (out.error ?? "no answer") };
    });
    return { kind: "egress", from: c.name, to: "world", ok: seen.ok, detail: seen.ok ? `world saw ${expected}` : `GET ${url}: ${seen.text} (want ${expected})` };
  });
}

export async function runNameChecks(containers: readonly LabContainer[], deadlineMs = 5000): Promise<CheckResult[]> {
  const pairs = containers.flatMap((from) => containers.filter((to) => to !== from && to.network === from.network).map((to) => ({ from, to: to.name, want: to.ip })));
  const outside = containers.map((from) => ({ from, to: WORLD_ZONE, want: WORLD_ZONE_ADDRESS }));
  return mapConcurrent([...pairs, ...outside], CONCURRENCY, async ({ from, to, want }) => {
    const got = await retry(deadlineMs, async () => {
      const out = await inNetns(from.netns, ["getent", "ahostsv4", to]);
      const addresses = out.ok ? [...new Set(out.text.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter(Boolean))] : [];
      return { ok: addresses.includes(want), text: addresses.join(" ") || out.error || "no answer" };
    });
    return { kind: "name", from: from.name, to, ok: got.ok, detail: got.ok ? `${to} -> ${want}` : `resolve ${to}: ${got.text} (want ${want})` };
  });
}

/** Each isolated container against each container of the first network, both directions: no ping may pass. */
export async function runIsolationChecks(isolated: readonly LabContainer[], others: readonly LabContainer[]): Promise<CheckResult[]> {
  const pairs = isolated.flatMap((i) => others.flatMap((o) => [{ from: i, to: o }, { from: o, to: i }]));
  return mapConcurrent(pairs, CONCURRENCY, async ({ from, to }) => {
    const reached = (await pingOnce(from.netns, to.ip)) === undefined || (await pingOnce(from.netns, to.ip)) === undefined;
    return { kind: "isolation", from: from.name, to: to.name, ok: !reached, detail: reached ? `ping ${to.ip} from another network PASSED` : `ping ${to.ip}: blocked` };
  });
}

interface Outcome {
  ok: boolean;
  text: string;
  error?: string;
}

async function inNetns(netns: string, command: string[]): Promise<Outcome> {
  try {
    const { stdout } = await runCommand("ip", ["netns", "exec", netns, ...command], { timeoutMs: 5000 });
    return { ok: true, text: stdout };
  } catch (err) {
    return { ok: false, text: "", error: err instanceof Error ? err.message : String(err) };
  }
}

async function retry(deadlineMs: number, attempt: () => Promise<Outcome>): Promise<Outcome> {
  const deadline = Date.now() + deadlineMs;
  let last = await attempt();
  while (!last.ok && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await attempt();
  }
  return last;
}
