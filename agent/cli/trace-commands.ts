// `weft trace FROM TO`: asks the local agent, which reads every host involved, and prints the hops.
import { Option, type Command } from "commander";
import { formatTrace } from "../trace/trace-text.js";
import type { TraceReport } from "../trace/trace-report.js";
import { intArg, type WithApi } from "./api-client.js";

/** The longest a trace may take: each host has a few seconds to answer, twice with a probe. */
const TRACE_DEADLINE_MS = 30_000;

export function addTraceCommands(program: Command, withApi: WithApi): void {
  program
    .command("trace")
    .argument("<from>", "an endpoint: name, ID or IP")
    .argument("<to>", "an endpoint (name, ID or IP), a service name or VIP, or a published HOST:PORT")
    .option("--port <n>", "destination port (TCP/UDP; default: the service's first port)", intArg("port", 1, 65535))
    .addOption(new Option("--proto <proto>", "protocol (default: icmp to an endpoint, tcp to a service)").choices(["tcp", "udp", "icmp"]))
    .option("--source-port <n>", "TCP/UDP: the client's source port to assume (services hash it)", intArg("source-port", 1, 65535))
    .option("--probe", "send one real probe from FROM's namespace and show which counters moved")
    .option("--see", "show the commands that show each hop by hand")
    .description("show how a packet travels from FROM to TO, hop by hop, from the kernels of the hosts involved")
    .action(async (from: string, to: string, opts: { port?: number; proto?: string; sourcePort?: number; probe?: boolean; see?: boolean }, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.trace({ from, to, port: opts.port ?? 0, proto: opts.proto ?? "", probe: opts.probe === true, sourcePort: opts.sourcePort ?? 0 }, { deadlineMs: TRACE_DEADLINE_MS });
        const report = JSON.parse(res.reportJson) as TraceReport;
        if ((cmd.optsWithGlobals() as { json?: boolean }).json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
        else process.stdout.write(formatTrace(report, { see: opts.see === true }));
        if (!report.ok) throw new Error(`the path is broken at hop ${(report.brokenAt ?? 0) + 1} (${report.hops[report.brokenAt ?? 0]?.layer ?? "?"} on ${report.hops[report.brokenAt ?? 0]?.host ?? "?"})`);
      }),
    );
}
