// The lab's service `web`: a small HTTP server (lab-http-server.ts) in a container on each of the
// first hosts but the last, attached with label app=web, and the service selecting them, published
// on port 8080 of every host. The last host has no backend of its own, so its 8080 shows the mesh
// reaching backends on other hosts; the first hosts' show it choosing between local and remote ones.
import { attachContainer } from "./lab-containers.js";
import { startHttpServer } from "./lab-http-server.js";
import { webNetns } from "./lab-names.js";
import { createLabService } from "./lab-services.js";
import type { LabContainer, LabHost, LabWeb } from "./lab-state.js";

export const WEB_SERVICE = "web";
export const WEB_LABELS: Readonly<Record<string, string>> = { app: "web" };
export const WEB_PUBLISHED_PORT = 8080;
export const WEB_TARGET_PORT = 80;
/** At most this many backends: enough to see the mesh spread, few enough for a small machine. */
export const MAX_WEB_BACKENDS = 4;

/** The hosts that get a backend: all but the last (one host: that one), at most MAX_WEB_BACKENDS. */
export function webBackendHosts<T>(hosts: readonly T[]): T[] {
  return hosts.slice(0, Math.min(MAX_WEB_BACKENDS, Math.max(1, hosts.length - 1)));
}

/**
 * Attaches the backends one at a time (each recorded through `onBackend`, so that `lab down` after a
 * failure finds them), starts their servers, creates the service through the first host's CLI.
 */
export async function createLabWeb(
  prefix: string,
  hosts: readonly LabHost[],
  network: string,
  onBackend: (web: LabWeb) => Promise<void>,
): Promise<LabWeb> {
  const web: LabWeb = { service: WEB_SERVICE, network, published: WEB_PUBLISHED_PORT, target: WEB_TARGET_PORT, backends: [], serverPids: [] };
  for (const [i, host] of webBackendHosts(hosts).entries()) {
    const backend: LabContainer = await attachContainer(host, webNetns(prefix, i + 1), network, { ...WEB_LABELS });
    web.backends.push(backend);
    web.serverPids.push(await startHttpServer({ prefix, netns: backend.netns, port: WEB_TARGET_PORT, host: "0.0.0.0", name: backend.name, logName: `${backend.name}-http.log` }));
    await onBackend(web);
  }
  const created = await createLabService(hosts[0]!, {
    name: WEB_SERVICE,
    network,
    selector: { ...WEB_LABELS },
    ports: [{ protocol: "tcp", published: WEB_PUBLISHED_PORT, target: WEB_TARGET_PORT, publishMode: "ingress" }],
  });
  if (created.vip) web.vip = created.vip;
  return web;
}
