// weftd's unix sockets (API, CNI, Docker plugin) outlive an agent killed with -9. A new agent removes
// such a file, but never one that is not a socket or that another agent still answers on.
import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";

/** Removes the socket file at `path` if no one answers on it; `what` names it in errors (e.g. "--api-socket"). */
export async function removeStaleSocket(path: string, what: string): Promise<void> {
  try {
    if (!(await lstat(path)).isSocket()) throw new Error(`${what}: ${path} exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (alive) throw new Error(`${what}: another agent is serving ${path}`);
  await unlink(path);
}
