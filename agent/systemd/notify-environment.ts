// What systemd tells a Type=notify service through its environment (sd_notify(3), sd_watchdog_enabled(3)):
// where to send notifications and how often the watchdog wants to hear from it. Pure.
import { invalidArgument } from "../../proto/values/index.js";

const AF_UNIX = 1;
/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_MAX = 108;

/**
 * The sockaddr_un for NOTIFY_SOCKET: an absolute path, or "@name" for an abstract socket (a leading
 * NUL byte, no terminator). Returns the bytes to pass to sendto() with their length.
 */
export function notifySocketAddress(value: string): Buffer {
  const abstract = value.startsWith("@");
  if (!abstract && !value.startsWith("/")) throw invalidArgument("NOTIFY_SOCKET", `"${value.slice(0, 120)}" is neither an absolute path nor an abstract "@name" socket`);
  const path = Buffer.from(abstract ? `\0${value.slice(1)}` : `${value}\0`, "utf8");
  if (path.length > SUN_PATH_MAX) throw invalidArgument("NOTIFY_SOCKET", `longer than ${SUN_PATH_MAX} bytes`);
  const address = Buffer.alloc(2 + path.length);
  address.writeUInt16LE(AF_UNIX, 0);
  path.copy(address, 2);
  return address;
}

/**
 * How often to ping the watchdog, in ms: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises;
 * undefined when there is no watchdog or it is meant for another process (WATCHDOG_PID).
 */
export function watchdogPingIntervalMs(env: Readonly<Record<string, string | undefined>>, pid: number): number | undefined {
  const usec = env["WATCHDOG_USEC"];
  if (usec === undefined || usec === "") return undefined;
  const watchdogPid = env["WATCHDOG_PID"];
  if (watchdogPid !== undefined && watchdogPid !== "" && watchdogPid !== String(pid)) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(usec)) throw invalidArgument("WATCHDOG_USEC", `"${usec.slice(0, 40)}" is not a positive number of microseconds`);
  return Math.max(1, Math.floor(Number(usec) / 2000));
}
