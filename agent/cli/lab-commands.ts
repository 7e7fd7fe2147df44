// `weft lab ...`: a real multi-host cluster on this machine, in network namespaces.
import { InvalidArgumentError, type Command } from "commander";
import { formatLabTable, labAgent, labCheck, labDown, labStatus, labStatusJson, labTopologyLine, labUp, type LabState } from "../lab/index.js";
import { explainLab } from "../lab/lab-explain.js";
import { labTrace } from "../lab/lab-trace.js";
import { formatTrace } from "../trace/trace-text.js";

/** `lab status --json` with h1's topology page when the lab has one. */
const statusJson = (state: LabState) => ({ ...labStatusJson(state), ...(state.topology ? { topology: state.topology } : {}) });

function count(flag: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`--${flag} must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
  };
}

const say = (line: string): void => {
  process.stderr.write(`lab: ${line}\n`);
};

export function addLabCommands(program: Command): void {
  const lab = program.command("lab").description("a real multi-host cluster on this machine, in network namespaces (root)");
  lab
    .command("up")
    .description("start etcd, N hosts with one weftd each, a network and containers; check every cross-host pair")
    .option("--hosts <n>", "number of hosts", count("hosts", 1, 50), 3)
    .option("--containers <n>", "containers per host", count("containers", 0, 50), 2)
    .option("--prefix <prefix>", "name prefix of everything the lab makes", "weft")
    .option("--cluster-key", "seal gossip with a generated cluster key")
    .option("--underlay-mtu <n>", "MTU of the underlay bridge and links", count("underlay-mtu", 1280, 9000), 1500)
    .option("--monitoring", "also start Prometheus (Debian's), scraping every agent with weft's alert rules")
    .option("--topology", "make h1's live topology page reachable on this machine's loopback (the URL is in lab status)")
    .action(async (opts: { hosts: number; containers: number; prefix: string; clusterKey?: boolean; underlayMtu: number; monitoring?: boolean; topology?: boolean }, cmd: Command) => {
      const { state, checks } = await labUp({ hosts: opts.hosts, containers: opts.containers, prefix: opts.prefix, clusterKey: opts.clusterKey, underlayMtu: opts.underlayMtu, monitoring: opts.monitoring, topology: opts.topology, log: say });
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
      if (json) process.stdout.write(JSON.stringify({ ...statusJson(state), checks }, null, 2) + "\n");
      else process.stdout.write(formatLabTable(state, checks) + labTopologyLine(state) + "\n" + explainLab(state));
      const failed = checks.filter((c) => !c.ok).length;
      if (failed > 0) throw new Error(`${failed} of ${checks.length} checks failed`);
    });
  lab
    .command("explain")
    .description("what the lab built, one paragraph per layer, with the commands to see each by hand")
    .option("--prefix <prefix>", "name prefix of the lab", "weft")
    .action(async (opts: { prefix: string }) => {
      const state = await labStatus({ prefix: opts.prefix });
      if (!state) throw new Error(`no lab with prefix "${opts.prefix}" is running (start one with 'weft lab up')`);
      process.stdout.write(explainLab(state));
    });
  lab
    .command("trace")
    .description("trace a packet between two lab containers (default: the first on h1 to the first on h2)")
    .argument("[from]", "a container (name, ID or IP)")
    .argument("[to]", "a container, or a service name")
    .option("--probe", "send one real probe and show which counters moved")
    .option("--prefix <prefix>", "name prefix of the lab", "weft")
    .action(async (from: string | undefined, to: string | undefined, opts: { probe?: boolean; prefix: string }, cmd: Command) => {
      const report = await labTrace({ prefix: opts.prefix, probe: opts.probe === true, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
      process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : formatTrace(report, { see: true }));
      if (!report.ok) throw new Error(`the path is broken at hop ${(report.brokenAt ?? 0) + 1} (${report.hops[report.brokenAt ?? 0]?.layer ?? "?"} on ${report.hops[report.brokenAt ?? 0]?.host ?? "?"})`);
    });
  lab
    .command("status")
    .description("hosts, agents and containers of the running lab")
    .option("--prefix <prefix>", "name prefix of the lab", "weft")
    .action(async (opts: { prefix: string }, cmd: Command) => {
      const state = await labStatus({ prefix: opts.prefix });
      if (!state) throw new Error(`no lab with prefix "${opts.prefix}" is running (start one with 'weft lab up')`);
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
      if (json) process.stdout.write(JSON.stringify(statusJson(state), null, 2) + "\n");
      else process.stdout.write(formatLabTable(state, []) + labTopologyLine(state));
    });
  lab
    .command("check")
    .description("pings across hosts, egress to the world, names through weft's DNS, isolation of the second network; exits non-zero on any failure")
    .option("--prefix <prefix>", "name prefix of the lab", "weft")
    .action(async (opts: { prefix: string }, cmd: Command) => {
      const state = await labStatus({ prefix: opts.prefix });
      if (!state) throw new Error(`no lab with prefix "${opts.prefix}" is running (start one with 'weft lab up')`);
      const checks = await labCheck({ prefix: opts.prefix });
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
      if (json) process.stdout.write(JSON.stringify({ checks }, null, 2) + "\n");
      else process.stdout.write(formatLabTable(state, checks));
      const failed = checks.filter((c) => !c.ok).length;
      if (failed > 0) throw new Error(`${failed} of ${checks.length} checks failed`);
    });
  lab
    .command("down")
    .description("remove everything the lab made: agents, etcd, Prometheus and its data, namespaces, state (also after a crash)")
    .option("--prefix <prefix>", "name prefix of the lab", "weft")
    .action(async (opts: { prefix: string }) => {
      await labDown({ prefix: opts.prefix, log: say });
    });
  lab
    .command("agent")
    .description("stop (SIGTERM), kill (SIGKILL) or start one host's weftd")
    .argument("<action>", "stop, kill or start")
    .argument("<host>", "host name, e.g. h2")
    .option("--prefix <prefix>", "name prefix of the lab", "weft")
    .action(async (action: string, host: string, opts: { prefix: string }, cmd: Command) => {
      if (action !== "stop" && action !== "kill" && action !== "start") {
        throw new InvalidArgumentError(`action must be stop, kill or start, not "${action}"`);
      }
      const result = await labAgent(action, host, { prefix: opts.prefix });
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
      if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else process.stdout.write(`${host}: ${action === "start" ? `started, pid ${result.agentPid}` : `${action === "stop" ? "stopped" : "killed"}`}\n`);
    });
}
