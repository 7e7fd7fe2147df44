// The few sysctls weft reads and writes (WEFT_SYSCTLS), through /proc/sys with synchronous calls: the
// files under /proc/sys/net belong to the network namespace of the thread that opens them, and a
// synchronous call runs on the calling thread (libuv's pool threads may sit in another namespace).
import { readFileSync, writeFileSync } from "node:fs";
import { errorText, invalidArgument } from "../proto/values/index.js";
import { KernelError } from "./kernel-error.js";
import { WEFT_SYSCTLS, type WeftSysctl } from "./kernel.js";

function pathOf(name: WeftSysctl): string {
  if (!WEFT_SYSCTLS.includes(name)) throw invalidArgument("sysctl", `${String(name)} is not one weft manages`);
  return `/proc/sys/${name.replaceAll(".", "/")}`;
}

/** The current values; a sysctl that cannot be read is left out. */
export function readSysctls(): Partial<Record<WeftSysctl, string>> {
  const values: Partial<Record<WeftSysctl, string>> = {};
  for (const name of WEFT_SYSCTLS) {
    try {
      values[name] = readFileSync(pathOf(name), "utf8").trim();
    } catch {
      // reported when weft tries to set it
    }
  }
  return values;
}

export function writeSysctl(name: WeftSysctl, value: string): void {
  if (!/^[0-9]{1,10}$/.test(value)) throw invalidArgument("value", `${JSON.stringify(value)} is not a sysctl value weft writes`);
  try {
    writeFileSync(pathOf(name), `${value}\n`);
  } catch (error) {
    const { errno } = error as NodeJS.ErrnoException;
    throw new KernelError(`sysctl ${name}=${value}: ${errorText(error)}`, { ...(errno === undefined ? {} : { errno: -errno }), cause: error });
  }
}
