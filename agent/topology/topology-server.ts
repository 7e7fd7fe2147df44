// The topology page's HTTP server (read-only, GET only): the page, a JSON snapshot, the live event
// stream, and traces asked of the cluster observer. A thin shell: the snapshot, the rates and the
// request checks are pure functions next to it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorText, WeftError } from "../../proto/values/index.js";
import type { ClusterObserver } from "../trace/trace-report.js";
import { DEFAULT_MAX_EVENT_CLIENTS, TopologyEvents } from "./topology-events.js";
import { TopologyFeed, type TopologyAgent } from "./topology-feed.js";
import { PAGE_CONTENT_SECURITY_POLICY, PAGE_HTML } from "./page/topology-page.js";
import { isAddressHost, parseTraceQuery } from "./topology-request.js";

export interface TopologyServerOptions {
  listen: { host: string; port: number };
  self: { name: string; underlayIp: string };
  agent: TopologyAgent;
  observer: ClusterObserver;
  log?: (line: string) => void;
  /** Streams served at once (DEFAULT_MAX_EVENT_CLIENTS). */
  maxEventClients?: number;
  /** Traces running at once; more get 429. Default 2. */
  maxTraces?: number;
  /** How long a trace may take. Default 30 s. */
  traceTimeoutMs?: number;
  intervalMs?: number;
}

export interface TopologyServer {
  /** host:port it listens on. */
  address: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
};

export async function startTopologyServer(options: TopologyServerOptions): Promise<TopologyServer> {
  const feed = new TopologyFeed({ self: options.self, agent: options.agent, observer: options.observer });
  const events = new TopologyEvents({
    feed,
    ...(options.maxEventClients !== undefined ? { maxClients: options.maxEventClients } : {}),
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  let traces = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET") return sendJson(res, 405, { error: "only GET: the topology page is read-only" }, { allow: "GET" });
    if (!isAddressHost(req.headers.host)) {
      return sendJson(res, 421, { error: "the Host header must be this server's address (an IP or localhost), not a DNS name" });
    }
    const url = new URL(req.url ?? "/", "http://topology.invalid");
    switch (url.pathname) {
      case "/":
        res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": PAGE_CONTENT_SECURITY_POLICY });
        res.end(PAGE_HTML);
        return;
      case "/favicon.ico":
        res.writeHead(204, SECURITY_HEADERS).end();
        return;
      case "/api/topology":
        return sendJson(res, 200, await feed.snapshot());
      case "/api/events":
        if (!events.accept(req, res)) sendJson(res, 503, { error: `too many live pages (at most ${options.maxEventClients ?? DEFAULT_MAX_EVENT_CLIENTS} at once)` }, { "retry-after": "5" });
        return;
      case "/api/trace": {
        let request;
        try {
          request = parseTraceQuery(url.searchParams);
        } catch (err) {
          return sendError(res, err);
        }
        if (traces >= (options.maxTraces ?? 2)) return sendJson(res, 429, { error: "a trace is already running: try again when it finished" }, { "retry-after": "1" });
        traces += 1;
        try {
          return sendJson(res, 200, await withTimeout(options.observer.trace(request), options.traceTimeoutMs ?? 30_000, "the trace"));
        } catch (err) {
          return sendError(res, err);
        } finally {
          traces -= 1;
        }
      }
      default:
        return sendJson(res, 404, { error: `not found: ${url.pathname.slice(0, 100)} (try /, /api/topology, /api/events, /api/trace?from=A&to=B)` });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log?.(`topology: ${req.method} ${req.url?.slice(0, 100)}: ${errorText(err)}`);
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        events.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const STATUS_OF_CODE: Record<string, number> = {
  "invalid-argument": 400,
  "not-found": 404,
  "failed-precondition": 409,
  "resource-exhausted": 429,
  unavailable: 503,
};

function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof WeftError) {
    sendJson(res, STATUS_OF_CODE[err.code] ?? 500, { error: err.message, code: err.code, ...(err.field !== undefined ? { field: err.field } : {}) });
  } else {
    sendJson(res, 500, { error: errorText(err), code: "internal" });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WeftError("unavailable", `${what} did not finish within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
