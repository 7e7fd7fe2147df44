// The lab's small HTTP servers, each a few lines of Node run with this very Node inside a namespace,
// detached, its script in the lab dir (so `lab down` finds it by command line): the world's, whose
// body is the client address it saw (egress checks), and the web service's backends, whose body is
// their own name (mesh checks: which backend answered) and, on /client, the client address they saw
// (is the client's address preserved?). Every answer closes its connection, so a client asking
// again opens a new flow, which the mesh may send to another backend.
import { writeFile } from "node:fs/promises";
import { spawnDetached } from "./detached-process.js";
import { labDir } from "./lab-names.js";

const SCRIPT = `
const http = require("node:http");
const [port, host, name] = process.argv.slice(2);
http.createServer((req, res) => {
  const client = String(req.socket.remoteAddress).replace(/^::ffff:/, "");
  res.writeHead(200, { "content-type": "text/plain", connection: "close" });
  res.end((name === undefined || req.url === "/client" ? client : name) + "\\n");
}).listen(Number(port), host);
`;
const SCRIPT_FILE = "http-server.cjs";

export interface HttpServerSpec {
  prefix: string;
  netns: string;
  port: number;
  /** Listen address; 0.0.0.0 for every address of the namespace. */
  host: string;
  /** Answer with this name (the client address on /client); without it, always the client address. */
  name?: string;
  /** Its log file's name in the lab dir. */
  logName: string;
}

/** Starts one server; returns its PID. Does not wait for it to listen. */
export async function startHttpServer(spec: HttpServerSpec): Promise<number> {
  const dir = labDir(spec.prefix);
  const script = `${dir}/${SCRIPT_FILE}`;
  await writeFile(script, SCRIPT);
  const args = [script, String(spec.port), spec.host, ...(spec.name === undefined ? [] : [spec.name])];
  return spawnDetached({ netns: spec.netns, command: process.execPath, args, logFile: `${dir}/${spec.logName}` });
}
