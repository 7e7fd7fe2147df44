export { DockerDriver, type DriverDeps } from "./docker-driver.js";
export { EndpointAttacher } from "./endpoint-attacher.js";
export { startDockerServer, dockerPluginSocketPath, DEFAULT_DOCKER_PLUGIN_NAME } from "./docker-server.js";
export { grpcDockerAgent } from "./grpc-docker-agent.js";
export { dockerEngine } from "./docker-engine.js";
export { fileNetworkStore } from "./network-store.js";
export { startDockerPlugin, type DockerPluginOptions } from "./docker-plugin.js";
