// weftd's side of Type=notify and WatchdogSec= (sd_notify(3)): READY=1 once the agent is registered,
// synced and reconciled, WATCHDOG=1 from a timer on the event loop (a hung loop stops the pings and
// systemd restarts the agent), STOPPING=1 on shutdown. Without NOTIFY_SOCKET every call is a no-op.
import { errorText } from "../../proto/values/index.js";
import { notifySocketAddress, watchdogPingIntervalMs } from "./notify-environment.js";

/** EXTEND_TIMEOUT_USEC's period while starting when no watchdog interval is given. */
const STARTING_PING_MS = 10_000;

export type NotifySender = (address: Buffer, message: string) => void;

export interface SystemdNotifierOptions {
  env: Readonly<Record<string, string | undefined>>;
  pid: number;
  send: NotifySender;
  /** A failed notification is reported, never thrown: systemd's own timeouts handle a lost one. */
  warn: (line: string) => void;
}

export class SystemdNotifier {
  private readonly address?: Buffer;
  private readonly watchdogMs?: number;
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: SystemdNotifierOptions) {
    const socket = options.env["NOTIFY_SOCKET"];
    if (socket === undefined || socket === "") return;
    this.address = notifySocketAddress(socket);
    this.watchdogMs = watchdogPingIntervalMs(options.env, options.pid);
  }

  /** Whether systemd is listening (NOTIFY_SOCKET was set). */
  get enabled(): boolean {
    return this.address !== undefined;
  }

  /** Ping interval in ms, or undefined when systemd asked for no watchdog. */
  get watchdogIntervalMs(): number | undefined {
    return this.watchdogMs;
  }

  /** READY=1 with a one-line status, then the watchdog pings start. */
  ready(status: string): void {
    this.stopWatchdog();
    this.send(`READY=1\nSTATUS=${oneLine(status)}`);
    this.startWatchdog();
  }

  /**
   * Until ready(): STATUS plus EXTEND_TIMEOUT_USEC from the event loop, so a start that waits for etcd
   * is given time while its loop turns, and a start whose loop hangs still hits TimeoutStartSec.
   */
  starting(status: string): void {
    this.send(`STATUS=${oneLine(status)}`);
    if (this.address === undefined || this.timer !== undefined) return;
    const everyMs = this.watchdogMs ?? STARTING_PING_MS;
    this.timer = setInterval(() => this.send(`EXTEND_TIMEOUT_USEC=${everyMs * 3 * 1000}`), everyMs);
    this.timer.unref();
  }

  status(status: string): void {
    this.send(`STATUS=${oneLine(status)}`);
  }

  stopping(): void {
    this.stopWatchdog();
    this.send("STOPPING=1\nSTATUS=shutting down");
  }

  stopWatchdog(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private startWatchdog(): void {
    if (this.watchdogMs === undefined || this.timer !== undefined) return;
    // On the event loop on purpose: if the loop hangs the pings stop, which is what the watchdog watches.
    this.timer = setInterval(() => this.send("WATCHDOG=1"), this.watchdogMs);
    this.timer.unref();
  }

  private send(message: string): void {
    if (this.address === undefined) return;
    try {
      this.options.send(this.address, message);
    } catch (err) {
      this.options.warn(`systemd notification ${message.split("\n")[0]} not sent: ${errorText(err)}`);
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
