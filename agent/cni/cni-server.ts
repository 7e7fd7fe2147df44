// weftd's CNI socket: one request per connection (see cni-wire.ts), answered by handleCni. Root only
// (mode 0600): attaching puts interfaces into any namespace.
import { chmod, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { errorText } from "../../proto/values/index.js";
import { CNI_CODE, CniError, errorResult } from "./cni-error.js";
import { handleCni, type CniHandlerDeps } from "./cni-handler.js";
import { decodeRequest, encodeResponse } from "./cni-wire.js";
import { removeStaleSocket } from "../stale-socket.js";

const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export async function startCniServer(socketPath: string, deps: CniHandlerDeps, log: (line: string) => void): Promise<Server> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  await removeStaleSocket(socketPath, "cni socket");
  // allowHalfOpen: the plugin closes its side after the request and still reads the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        socket.end(encodeResponse(1, errorResult("1.1.0", new CniError(CNI_CODE.ioFailure, `stdin: larger than ${MAX_REQUEST_BYTES} bytes`))));
        socket.destroySoon();
        return;
      }
      chunks.push(chunk);
    });
    socket.on("end", () => {
      if (size > MAX_REQUEST_BYTES) return;
      void answer(Buffer.concat(chunks), deps).then(
        (response) => socket.end(response),
        (err: unknown) => {
          log(`cni: ${errorText(err)}`);
          socket.destroy();
        },
      );
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return server;
}

async function answer(frame: Buffer, deps: CniHandlerDeps): Promise<Buffer> {
  let request;
  try {
    request = decodeRequest(frame);
  } catch (err) {
    return encodeResponse(1, errorResult("1.1.0", new CniError(CNI_CODE.decodeFailure, errorText(err))));
  }
  const reply = await handleCni(request.env, request.stdin, deps);
  return encodeResponse(reply.exitCode, reply.stdout);
}
