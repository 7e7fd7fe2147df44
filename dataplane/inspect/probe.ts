// One real probe from a container's namespace: an ICMP echo (ping), a TCP SYN (a connect, reset at
// once so no TIME_WAIT keeps the source port) or a UDP datagram, from a fixed source port so the flow
// is the one the trace computed. Runs `nsenter --net=NS` around ping or this Node binary.
import { runCommand } from "../iproute2.js";
import { netnsPath } from "../network-namespace.js";
import type { CommandRunner } from "./host-inspector.js";

export interface ProbeSpec {
  netns: string;
  proto: "tcp" | "udp" | "icmp";
  dst: string;
  port?: number;
  sourcePort?: number;
  timeoutMs: number;
}

export interface ProbeResult {
  sent: boolean;
  answered: boolean;
  detail: string;
}

// Prints one line: "answered ..." or "silent ...". Its parameters are written into the script as a
// JSON literal (an IPv4 address, numbers and tcp|udp, checked by the caller).
const SOCKET_PROBE = `
const [dst, port, sport, proto, timeout] = PARAMETERS;
const done = (line) => { console.log(line); process.exit(0); };
setTimeout(() => done("silent: no answer within " + timeout + " ms"), Number(timeout)).unref();
if (proto === "tcp") {
  const s = require("net").connect({ host: dst, port: Number(port), localPort: Number(sport) });
  s.on("connect", () => { s.resetAndDestroy(); done("answered: connected (SYN answered by SYN-ACK)"); });
  s.on("error", (e) => done(e.code === "ECONNREFUSED" ? "answered: refused (reset)" : "silent: " + e.code));
} else {
  const s = require("dgram").createSocket("udp4");
  s.on("message", () => done("answered: a datagram came back"));
  s.on("error", (e) => done((e.code === "ECONNREFUSED" ? "answered: port unreachable" : "silent: " + e.code)));
  s.bind(Number(sport), () => { s.connect(Number(port), dst, () => s.send("weft-trace-probe", (e) => { if (e) done("silent: " + e.code); })); });
}
`;

export async function sendProbe(spec: ProbeSpec, run: CommandRunner = runCommand, node: string = process.execPath): Promise<ProbeResult> {
  const enter = `--net=${netnsPath(spec.netns)}`;
  const seconds = Math.max(1, Math.ceil(spec.timeoutMs / 1000));
  try {
    if (spec.proto === "icmp") {
      const out = await run("nsenter", [enter, "ping", "-n", "-c", "1", "-W", String(seconds), spec.dst]).catch((err: unknown) => ({ stdout: "", stderr: String(err) }));
      const answered = /1 received|1 packets received/.test(out.stdout);
      return { sent: true, answered, detail: answered ? `ping ${spec.dst}: echo reply` : `ping ${spec.dst}: no echo reply within ${seconds} s` };
    }
    const parameters = JSON.stringify([spec.dst, String(spec.port ?? 0), String(spec.sourcePort ?? 0), spec.proto, String(spec.timeoutMs)]);
    const args = [enter, node, "-e", SOCKET_PROBE.replace("PARAMETERS", parameters)];
    const line = (await run("nsenter", args)).stdout.trim();
    return { sent: true, answered: line.startsWith("answered"), detail: `${spec.proto} ${spec.dst}:${spec.port ?? 0} from port ${spec.sourcePort ?? 0}: ${line}` };
  } catch (err) {
    return { sent: false, answered: false, detail: `could not send the probe: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}` };
  }
}
