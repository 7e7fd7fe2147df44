// The overlay as a part of the desired state: validate entry by entry, then diff.
import type { DesiredPart } from "../desired-part.js";
import { diffOverlay } from "./overlay-diff.js";
import { validateOverlay } from "./overlay-validation.js";

export const overlayPart: DesiredPart = {
  name: "overlay",
  plan(observed, desired, options) {
    const valid = validateOverlay(desired.overlay);
    const { plan, orphanVeths } = diffOverlay(observed, { underlay: desired.underlay, overlay: valid.overlay }, { ...options, held: valid.held });
    return { plan, skipped: valid.skipped, orphanVeths };
  },
};
