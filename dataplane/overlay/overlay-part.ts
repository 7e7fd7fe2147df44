// The overlay as a part of the desired state: validate entry by entry, then diff. A missing or
// malformed part is skipped as a whole, never read as "no networks" (which would remove them all).
import { emptyPlan } from "../kernel.js";
import type { DesiredPart } from "../desired-part.js";
import { diffOverlay } from "./overlay-diff.js";
import { validateOverlay } from "./overlay-validation.js";

export const overlayPart: DesiredPart = {
  name: "overlay",
  plan(observed, desired, options) {
    if (!Array.isArray(desired.overlay?.networks)) {
      return { plan: emptyPlan(), skipped: [{ object: "overlay", reason: "networks: must be a list" }], orphanVeths: [] };
    }
    const valid = validateOverlay(desired.overlay);
    const { plan, orphanVeths } = diffOverlay(observed, { underlay: desired.underlay, overlay: valid.overlay }, { ...options, held: valid.held });
    return { plan, skipped: valid.skipped, orphanVeths };
  },
};
