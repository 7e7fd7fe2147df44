// HTTP for Prometheus and for probes: /metrics, /healthz (the process answers), /readyz (registered
// in etcd and the kernel reconciled at least once).
import { createServer, type Server } from "node:http";
import type * as prom from "prom-client";

export async function startMetricsServer(
  listen: { host: string; port: number },
  registry: prom.Registry,
  ready: () => boolean,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ready\n" : "not ready\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics, /healthz or /readyz\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return server;
}
