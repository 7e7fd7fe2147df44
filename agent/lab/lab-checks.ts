// The lab's checks: every container pings every container on another host. Convergence takes
// milliseconds, but a pair is retried until its deadline so a slow first ARP does not fail the lab.
import { mapConcurrent } from "./command-runner.js";
import { pingOnce } from "./lab-namespaces.js";
import type { CheckResult, LabContainer } from "./lab-state.js";

export interface PingPair {
  from: LabContainer;
  to: LabContainer;
}

/** Every ordered pair of containers on different hosts. */
export function crossHostPairs(containers: readonly LabContainer[]): PingPair[] {
  return containers.flatMap((from) => containers.filter((to) => to.host !== from.host).map((to) => ({ from, to })));
}

export async function runPingChecks(
  containers: readonly LabContainer[],
  options: { perPairDeadlineMs?: number; concurrency?: number } = {},
): Promise<CheckResult[]> {
  const perPair = options.perPairDeadlineMs ?? 5000;
  return mapConcurrent(crossHostPairs(containers), options.concurrency ?? 6, async ({ from, to }) => {
    const deadline = Date.now() + perPair;
    let failure: string | undefined;
    do {
      failure = await pingOnce(from.netns, to.ip);
      if (failure === undefined) return { from: from.name, to: to.name, ok: true, detail: `ping ${to.ip}` };
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    return { from: from.name, to: to.name, ok: false, detail: `ping ${to.ip} from ${from.netns}: ${lastLine(failure)}` };
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines.slice(-2).join(" | ");
}
