// The import rules of weft's layers (see ARCHITECTURE.md), checked by `npm run check:deps` inside
// `npm test`. Type-only imports count: a type from another layer couples the layers as much as a
// value does. Reading process.env/argv outside agent/ is checked by test/unit/architecture.test.ts,
// because dependency-cruiser sees imports only.

const TEST_DOUBLES = [
  "^dataplane/fake-kernel\\.ts$",
  "^controlplane/registry/memory-registry\\.ts$",
  "^controlplane/gossip/memory-network\\.ts$",
  "^test/",
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "controlplane-not-dataplane",
      comment: "controlplane/ and dataplane/ never import each other: they meet in agent/ through plain values.",
      severity: "error",
      from: { path: "^controlplane/" },
      to: { path: "^dataplane/" },
    },
    {
      name: "dataplane-not-controlplane",
      comment: "controlplane/ and dataplane/ never import each other: they meet in agent/ through plain values.",
      severity: "error",
      from: { path: "^dataplane/" },
      to: { path: "^controlplane/" },
    },
    {
      name: "layers-not-agent",
      comment: "agent/ is the composition root: controlplane/ and dataplane/ never import it.",
      severity: "error",
      from: { path: "^(controlplane|dataplane)/" },
      to: { path: "^agent/" },
    },
    {
      name: "proto-is-the-bottom",
      comment: "proto/ is the bottom layer: it imports nothing from agent/, controlplane/ or dataplane/.",
      severity: "error",
      from: { path: "^proto/" },
      to: { path: "^(agent|controlplane|dataplane)/" },
    },
    {
      name: "production-not-test-doubles",
      comment:
        "Production code never imports test doubles (fake kernel, memory registry, memory network, test/): " +
        "tests and the simulator bench import them from their own files.",
      severity: "error",
      from: { path: "^(agent|controlplane|dataplane|proto)/", pathNot: TEST_DOUBLES },
      to: { path: TEST_DOUBLES },
    },
    {
      name: "no-circular",
      comment: "No circular imports: each concept builds on the ones below it.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
