// The Docker driver as weftd runs it: the driver on the agent's own API, dockerd's Engine API for
// containers' pids, its state under the agent's state dir, served on the plugin socket.
import type { Server } from "node:http";
import { join } from "node:path";
import { DockerDriver } from "./docker-driver.js";
import { dockerEngine } from "./docker-engine.js";
import { startDockerServer } from "./docker-server.js";
import { EndpointAttacher } from "./endpoint-attacher.js";
import { grpcDockerAgent } from "./grpc-docker-agent.js";
import { fileNetworkStore } from "./network-store.js";
import { jsonFileStore } from "./json-file-store.js";
import { pointResolvConf } from "./resolv-conf.js";

export interface DockerPluginOptions {
  apiSocket: string;
  /** Where dockerd finds the plugin, e.g. /run/docker/plugins/weft.sock. */
  pluginSocket: string;
  /** dockerd's API socket (its -H unix://...). */
  dockerSocket: string;
  stateDir: string;
  log: (line: string) => void;
}

export interface DockerPlugin {
  server: Server;
  close(): Promise<void>;
}

export async function startDockerPlugin(options: DockerPluginOptions): Promise<DockerPlugin> {
  const agent = grpcDockerAgent(options.apiSocket);
  let driver: DockerDriver | undefined;
  const attacher = new EndpointAttacher({
    agent,
    engine: dockerEngine(options.dockerSocket),
    record: (networkId, endpointId, name, wanted) => driver!.recordAttached(networkId, endpointId, name, wanted),
    pointResolvConf,
    log: options.log,
  });
  driver = new DockerDriver({ agent, store: fileNetworkStore(join(options.stateDir, "docker")), pools: jsonFileStore(join(options.stateDir, "docker-ipam")), attacher });
  const server = await startDockerServer(options.pluginSocket, driver, options.log);
  return {
    server,
    async close() {
      // dockerd keeps its plugin connections open: close them, or close() waits for their idle timeout.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      agent.close();
    },
  };
}
