// The values every layer shares: one parser per concept, and the one error type.
export * from "./ipv4.js";
export * from "./mac.js";
export * from "./names.js";
export * from "./netns-path.js";
export * from "./printable.js";
export * from "./weft-error.js";
