// Deleting the mesh's connection-tracking entries towards backends that left: without it a UDP flow
// keeps going to a dead backend for as long as packets keep its entry alive (moby#36878). A thin shell
// around conntrack(8) (Debian's conntrack package); only entries the mesh DNATed (its ct mark bit) whose
// reply comes from the removed backend are deleted, so connections to other backends are never touched.
import { spawn } from "node:child_process";
import { isIPv4, printable } from "../../proto/values/index.js";
import { KernelError } from "../kernel-error.js";
import { MESH_CONNECTION_MARK } from "./mesh-objects.js";

export interface Conntrack {
  /** Deletes the mesh's entries whose reply source is one of `backendIps`; resolves with how many went. */
  deleteMeshEntries(backendIps: readonly string[]): Promise<number>;
}

const DELETED = /(\d+) flow entries have been deleted/;

/** A Conntrack running `command` (["conntrack"] by default; tests use ["ip", "netns", "exec", NS, "conntrack"]). */
export function conntrackCommand(command: readonly string[] = ["conntrack"]): Conntrack {
  const mark = `0x${MESH_CONNECTION_MARK.toString(16)}`;
  return {
    async deleteMeshEntries(backendIps) {
      let deleted = 0;
      for (const ip of backendIps) {
        if (!isIPv4(ip)) throw new KernelError(`conntrack: ${printable(String(ip))} is not an IPv4 address`);
        deleted += await runConntrack(command, ["-D", "--reply-src", ip, "--mark", `${mark}/${mark}`]);
      }
      return deleted;
    },
  };
}

/** conntrack exits 1 when nothing matched; its count line says what happened either way. */
function runConntrack(command: readonly string[], args: string[]): Promise<number> {
  const [program, ...prefix] = command;
  if (program === undefined) return Promise.reject(new KernelError("conntrack: no command given"));
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...prefix, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    const stderr: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      const message = error.code === "ENOENT" ? `${program} is not installed: install it with 'apt-get install -y conntrack'` : `${program}: ${error.message}`;
      reject(new KernelError(message, { cause: error }));
    });
    child.on("close", (code) => {
      const said = Buffer.concat(stderr).toString("utf8");
      const count = DELETED.exec(said);
      if ((code === 0 || code === 1) && count !== null) resolve(Number(count[1]));
      else reject(new KernelError(`conntrack ${args.join(" ")}: ${printable(said.trim() || `exited with status ${String(code)}`, 2000)}`));
    });
  });
}
