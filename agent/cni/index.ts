export { startCniServer } from "./cni-server.js";
export { handleCni, type CniHandlerDeps, type CniReply } from "./cni-handler.js";
export { grpcCniAgent } from "./grpc-cni-agent.js";
export { nsenterInspector } from "./container-check.js";
export { cniSocketPath } from "./cni-wire.js";
export type { CniAgent, CniEndpoint } from "./cni-agent.js";
