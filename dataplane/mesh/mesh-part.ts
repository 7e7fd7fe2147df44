// The mesh's share of the netlink work: loose reverse-path filtering on the gateway bridge while there
// are services. A local backend answers an outside client by its default route (its leg on the gateway
// bridge), not by the overlay bridge the request came in on; strict rp_filter would drop that reply.
// The value is only ever raised to 2 (loose), never cleared: other software may rely on it. The rules
// themselves are written with the firewall part (mesh-objects.ts).
import type { DesiredPart } from "../desired-part.js";
import { emptyPlan, type WeftSysctl } from "../kernel.js";

const GWBRIDGE = "weft_gwbridge";
const RP_FILTER: WeftSysctl = `net.ipv4.conf.${GWBRIDGE}.rp_filter`;
const LOOSE = "2";

export const meshPart: DesiredPart = {
  name: "mesh",
  plan(observed, desired) {
    const plan = emptyPlan();
    if (desired.mesh === undefined || desired.mesh.services?.length === 0 || desired.egress === undefined) return { plan, skipped: [], orphanVeths: [] };
    if (desired.egress.bridge?.name !== GWBRIDGE) {
      return { plan, skipped: [{ object: "mesh", reason: `rp_filter: only ${GWBRIDGE}'s is managed, not ${String(desired.egress.bridge?.name)}'s` }], orphanVeths: [] };
    }
    if (observed.sysctls[RP_FILTER] !== LOOSE) plan.links.push({ kind: "set-sysctl", name: RP_FILTER, value: LOOSE });
    return { plan, skipped: [], orphanVeths: [] };
  },
};
