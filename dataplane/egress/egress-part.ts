// Egress as a part of the desired state: validate entry by entry, then diff. An absent part leaves
// the egress objects as they are; a malformed one is skipped as a whole, never read as "no legs".
import type { DesiredPart } from "../desired-part.js";
import { emptyPlan } from "../kernel.js";
import { diffEgress } from "./egress-diff.js";
import { validateEgress } from "./egress-validation.js";

export const egressPart: DesiredPart = {
  name: "egress",
  plan(observed, desired, options) {
    if (desired.egress === undefined) return { plan: emptyPlan(), skipped: [], orphanVeths: [] };
    const valid = validateEgress(desired.egress);
    if (valid.egress === undefined) return { plan: emptyPlan(), skipped: valid.skipped, orphanVeths: [] };
    const { plan, orphanVeths } = diffEgress(observed, valid.egress, { ...options, heldLegs: valid.heldLegs });
    return { plan, skipped: valid.skipped, orphanVeths };
  },
};
