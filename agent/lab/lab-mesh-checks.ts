// The lab's mesh checks on the service `web`: every host's published port from the world, and from a
// container every host's published port, the VIP and the name `web`. Each target passes when,
// before its deadline, every backend has answered (a server answers with its own name, and closes
// the connection so that each request is a new flow the mesh hashes anew) and nothing else did.
import { execFile } from "node:child_process";
import { mapConcurrent } from "./command-runner.js";
import type { CheckResult, LabContainer, LabHost, LabWeb } from "./lab-state.js";

const CONCURRENCY = 4;
/** Requests per curl run: one run usually sees every backend of a small service. */
const REQUESTS_PER_RUN = 8;

export interface MeshTarget {
  /** Namespace to ask from. */
  netns: string;
  from: string;
  /** What the check calls it: `h1:8080`, `VIP 10.40.255.1:80`, `web:80`. */
  to: string;
  url: string;
}

/** Every target of the checks, in a stable order. */
export function meshTargets(web: LabWeb, hosts: readonly LabHost[], world: { netns: string } | undefined, client: LabContainer | undefined): MeshTarget[] {
  const targets: MeshTarget[] = [];
  const published = (h: LabHost): string => `http://${h.underlayIp}:${web.published}/`;
  if (world) for (const h of hosts) targets.push({ netns: world.netns, from: "world", to: `${h.name}:${web.published}`, url: published(h) });
  if (client) {
    for (const h of hosts) targets.push({ netns: client.netns, from: client.name, to: `${h.name}:${web.published}`, url: published(h) });
    if (web.vip) targets.push({ netns: client.netns, from: client.name, to: `VIP ${web.vip}:${web.target}`, url: `http://${web.vip}:${web.target}/` });
    targets.push({ netns: client.netns, from: client.name, to: `${web.service}:${web.target}`, url: `http://${web.service}:${web.target}/` });
  }
  return targets;
}

/** What one run of answers says against the backends expected: every one seen, no stranger. */
export function judgeAnswers(expected: readonly string[], seen: ReadonlySet<string>): { ok: boolean; missing: string[]; strangers: string[] } {
  const want = new Set(expected);
  const missing = expected.filter((name) => !seen.has(name));
  const strangers = [...seen].filter((name) => !want.has(name)).sort();
  return { ok: missing.length === 0 && strangers.length === 0 && expected.length > 0, missing, strangers };
}

export async function runMeshChecks(targets: readonly MeshTarget[], backends: readonly string[], deadlineMs = 10_000): Promise<CheckResult[]> {
  return mapConcurrent(targets, CONCURRENCY, async (t): Promise<CheckResult> => {
    const deadline = Date.now() + deadlineMs;
    const seen = new Set<string>();
    let failure = "";
    for (;;) {
      const run = await curlRun(t.netns, t.url);
      for (const name of run.answers) seen.add(name);
      if (run.answers.length === 0) failure = run.error;
      const verdict = judgeAnswers(backends, seen);
      if (verdict.ok) return { kind: "mesh", from: t.from, to: t.to, ok: true, detail: `answered by ${[...seen].sort().join(", ")}` };
      if (verdict.strangers.length > 0 || Date.now() >= deadline) {
        const parts = [
          verdict.missing.length > 0 ? `never answered: ${verdict.missing.join(", ")}` : "",
          verdict.strangers.length > 0 ? `answered by a non-backend: ${verdict.strangers.join(", ")}` : "",
          seen.size === 0 && failure ? `GET ${t.url}: ${failure}` : "",
        ];
        return { kind: "mesh", from: t.from, to: t.to, ok: false, detail: parts.filter(Boolean).join("; ") || "no backend expected" };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

/** One curl with REQUESTS_PER_RUN requests: the names that answered (one per line) and curl's complaint. */
function curlRun(netns: string, url: string): Promise<{ answers: string[]; error: string }> {
  const args = ["netns", "exec", netns, "curl", "-s", "-S", "--connect-timeout", "1", "-m", "2", ...Array<string>(REQUESTS_PER_RUN).fill(url)];
  return new Promise((resolve) => {
    execFile("ip", args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const answers = String(stdout).split("\n").map((l) => l.trim()).filter(Boolean);
      resolve({ answers, error: err ? String(stderr).trim().split("\n").pop() || err.message : "" });
    });
  });
}
