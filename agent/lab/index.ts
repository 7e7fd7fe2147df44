// The lab: what the CLI (`weft lab ...`) and the e2e tests use.
export { labUp, labDown, labStatus, labCheck, labAgent, buildLabUnderlay, type LabPrefixOptions } from "./lab.js";
export { formatLabTable, labStatusJson, type LabStatusJson } from "./lab-table.js";
export type { LabOptions, LabNetworkOptions } from "./lab-options.js";
export { DEFAULT_LAB_NETWORK } from "./lab-options.js";
export type { LabState, LabHost, LabContainer, LabWeb, CheckResult } from "./lab-state.js";
export { WEB_SERVICE, WEB_PUBLISHED_PORT, WEB_TARGET_PORT, WEB_LABELS } from "./lab-web.js";
export { startHttpServer } from "./lab-http-server.js";
export { attachContainer, withHostApi } from "./lab-containers.js";
export { createLabService, listLabServices, removeLabService, runWeftCli, type LabServiceSpec } from "./lab-services.js";
export type { LabService, LabServicePort, LabServiceBackend } from "./lab-service.js";
export { judgeAnswers, meshTargets } from "./lab-mesh-checks.js";
export { LabError } from "./lab-error.js";
export { DEFAULT_LAB_PREFIX, LAB_ROOT_DIR, isLabNetns, labDir, validateLabPrefix } from "./lab-names.js";
export { listLabNetns } from "./lab-namespaces.js";
export { pidsWithCommandLine } from "./detached-process.js";
export { agentStatus } from "./lab-agent-process.js";
export { runPingChecks, crossHostPairs } from "./lab-checks.js";
export { labPrometheusConfig, labPrometheusUrl, PROMETHEUS_PORT } from "./lab-prometheus.js";
