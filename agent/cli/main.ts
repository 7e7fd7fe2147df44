// weft: the CLI. Speaks only to a local agent's API socket (and, for `weft lab`, builds the lab).
import { Command, Option } from "commander";
import { WeftService, type Endpoint } from "../../proto/gen/weft/v1/api_pb.js";
import { printable } from "../../proto/values/index.js";
import { renderTable } from "./table.js";
import { addLabCommands } from "./lab-commands.js";
import { addCniCommands } from "./cni-commands.js";
import { CliError, DEFAULT_SOCKET, intArg, labelArg, print, withApi } from "./api-client.js";
import { addServiceCommands } from "./service-commands.js";
import { addTraceCommands } from "./trace-commands.js";

export function buildProgram(env: Readonly<Record<string, string | undefined>>): Command {
  const program = new Command("weft")
    .description("weft: a multi-host overlay network for containers (talks to the local weftd)")
    .addOption(new Option("--api-socket <path>", "the agent's API socket").env("WEFT_API_SOCKET").default(env["WEFT_API_SOCKET"] ?? DEFAULT_SOCKET))
    .option("--json", "print JSON instead of tables")
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  const network = program.command("network").description("manage overlay networks");
  network
    .command("create")
    .argument("<name>")
    .requiredOption("--subnet <cidr>", "the network's IPv4 subnet, e.g. 10.40.0.0/16")
    .option("--vni <n>", "VXLAN network identifier (default: lowest free)", intArg("vni", 1, 16777215))
    .option("--host-prefix-len <n>", "prefix length of each host's slice (default 24)", intArg("host-prefix-len", 1, 32))
    .option("--mtu <n>", "MTU of the network's interfaces (default: the underlay MTU minus 50)", intArg("mtu", 576, 9000))
    .option("--internal", "no way out: no egress leg, no forwarding off the network")
    .option("--label <key=value>", "a label (repeatable)", labelArg)
    .description("create a network in the cluster")
    .action(async (name: string, opts: { subnet: string; vni?: number; hostPrefixLen?: number; mtu?: number; internal?: boolean; label?: Record<string, string> }, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.createNetwork({ name, subnet: opts.subnet, vni: opts.vni ?? 0, hostPrefixLen: opts.hostPrefixLen ?? 0, mtu: opts.mtu ?? 0, internal: opts.internal === true, labels: opts.label ?? {} });
        print(cmd, WeftService.method.createNetwork.output, res, () => `${printable(res.network!.name)}: vni ${res.network!.vni}, subnet ${res.network!.subnet}, host slices /${res.network!.hostPrefixLen}${res.network!.internal ? ", internal" : ""}\n`);
      }),
    );
  network
    .command("ls")
    .description("list networks")
    .action(async (_opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.listNetworks({});
        print(cmd, WeftService.method.listNetworks.output, res, () =>
          renderTable(["NAME", "VNI", "SUBNET", "HOST SLICE", "MTU", "INTERNAL"], res.networks.map((n) => [n.name, n.vni, n.subnet, `/${n.hostPrefixLen}`, n.mtu === 0 ? "auto" : n.mtu, n.internal ? "yes" : "no"])),
        );
      }),
    );
  network
    .command("inspect")
    .argument("<name>")
    .description("show a network, its host slices and endpoints")
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.inspectNetwork({ name });
        print(cmd, WeftService.method.inspectNetwork.output, res, () => {
          const n = res.network!;
          return (
            `network ${printable(n.name)}: vni ${n.vni}, subnet ${n.subnet}, host slices /${n.hostPrefixLen}, mtu ${n.mtu === 0 ? "auto" : n.mtu}${n.internal ? ", internal" : ""}\n\n` +
            renderTable(["SLICE", "NODE", "GATEWAY"], res.slices.map((s) => [s.cidr, s.node, s.gateway])) +
            "\n" +
            renderTable(["ENDPOINT", "NAME", "NODE", "IP", "MAC"], res.endpoints.map((e) => [e.id.slice(0, 12), e.name, e.node, e.ip, e.mac]))
          );
        });
      }),
    );
  network
    .command("rm")
    .argument("<name>")
    .description("remove a network (it must have no endpoints)")
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.removeNetwork({ name });
        print(cmd, WeftService.method.removeNetwork.output, res, () => `removed ${printable(name)}\n`);
      }),
    );

  const endpoint = program.command("endpoint").description("attach network namespaces to networks");
  endpoint
    .command("attach")
    .requiredOption("--network <name>", "network to attach to")
    .requiredOption("--netns <name-or-path>", "a name under /run/netns, or a path such as /proc/PID/ns/net")
    .option("--name <name>", "endpoint name (default: the namespace's name)")
    .option("--if-name <name>", "interface name inside the namespace", "eth0")
    .option("--alias <name>", "another DNS name of the endpoint in its network (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
    .option("--label <key=value>", "a label services select backends by (repeatable)", labelArg)
    .option("--ip <address>", "the address to take, in this host's slice of the network (default: the lowest free one)")
    .description("give a network namespace an interface on a network (and a way out, unless the network is internal); prints its addresses")
    .action(async (opts: { network: string; netns: string; name?: string; ifName: string; alias?: string[]; label?: Record<string, string>; ip?: string }, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.attachEndpoint({ network: opts.network, netns: opts.netns, name: opts.name ?? "", ifName: opts.ifName, aliases: opts.alias ?? [], labels: opts.label ?? {}, ip: opts.ip ?? "" });
        print(cmd, WeftService.method.attachEndpoint.output, res, () => endpointDetails(res.endpoint!));
      }),
    );
  endpoint
    .command("inspect")
    .argument("<name-or-id>")
    .description("show an endpoint: its interfaces, gateway, MTU, resolver and aliases")
    .action(async (ref: string, _opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.inspectEndpoint({ endpoint: ref });
        print(cmd, WeftService.method.inspectEndpoint.output, res, () => endpointDetails(res.endpoint!));
      }),
    );
  endpoint
    .command("detach")
    .argument("<name-or-id>")
    .description("remove an endpoint of this node")
    .action(async (ref: string, _opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.detachEndpoint({ endpoint: ref });
        print(cmd, WeftService.method.detachEndpoint.output, res, () => `detached ${printable(res.endpoint!.name)} (${printable(res.endpoint!.ip)})\n`);
      }),
    );
  endpoint
    .command("ls")
    .option("--network <name>", "only this network")
    .description("list endpoints this node knows (its own and, through gossip, everyone's)")
    .action(async (opts: { network?: string }, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.listEndpoints({ network: opts.network ?? "" });
        print(cmd, WeftService.method.listEndpoints.output, res, () =>
          renderTable(
            ["ENDPOINT", "NAME", "NETWORK", "NODE", "IP", "MAC", "VTEP"],
            res.endpoints.map((e) => [e.id.slice(0, 12), e.name, e.network, e.local ? `${e.node} (local)` : e.node, e.ip, e.mac, e.vtep]),
          ),
        );
      }),
    );

  program
    .command("peers")
    .description("list the other agents and how gossip sees them")
    .action(async (_opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.listPeers({});
        print(cmd, WeftService.method.listPeers.output, res, () =>
          renderTable(
            ["NODE", "GOSSIP", "STATE", "ENDPOINTS", "LAST SEEN"],
            res.peers.map((p) => [p.name, p.gossipAddr, p.state, p.endpoints, p.lastSeenAgoMs < 0n ? "never" : `${p.lastSeenAgoMs} ms ago`]),
          ),
        );
      }),
    );

  program
    .command("status")
    .description("this agent's health at a glance")
    .action(async (_opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const s = await api.getStatus({});
        print(cmd, WeftService.method.getStatus.output, s, () =>
          renderTable(
            ["FIELD", "VALUE"],
            [
              ["node", s.node],
              ["version", s.version],
              ["underlay", s.underlayIp],
              ["gossip", s.gossipAddr],
              ["etcd", s.etcdConnected ? "connected" : "UNREACHABLE"],
              ["networks", s.networks],
              ["endpoints", `${s.localEndpoints} local, ${s.remoteEndpoints} remote`],
              ["peers", `${s.peersAlive} alive of ${s.peersTotal}`],
              ["last reconcile", s.lastReconcileMs === 0n ? "never" : new Date(Number(s.lastReconcileMs)).toISOString()],
              ["uptime", `${Math.round(Number(s.uptimeMs) / 1000)} s`],
            ],
          ),
        );
      }),
    );

  addServiceCommands(program, withApi);
  addTraceCommands(program, withApi);
  addLabCommands(program);
  addCniCommands(program);
  return program;
}

function endpointDetails(e: Endpoint): string {
  const rows: Array<[string, string | number]> = [
    ["id", e.id],
    ["name", e.name],
    ["network", e.network],
    ["node", e.local ? `${e.node} (local)` : e.node],
    ["ip", e.ip],
    ["mac", e.mac],
  ];
  if (e.aliases.length > 0) rows.push(["aliases", e.aliases.join(", ")]);
  const labels = Object.entries(e.labels);
  if (labels.length > 0) rows.push(["labels", labels.map(([k, v]) => `${k}=${v}`).join(", ")]);
  if (e.gateway) rows.push(["gateway", e.gateway]);
  if (e.mtu) rows.push(["mtu", e.mtu]);
  for (const i of e.interfaces) rows.push([`interface ${i.name}`, `${i.ip} ${i.mac}`]);
  if (e.dns) rows.push(["dns", `nameserver ${e.dns.nameservers.join(" ")}, search ${e.dns.search.join(" ")}`]);
  if (e.netns) rows.push(["netns", e.netns]);
  return renderTable(["FIELD", "VALUE"], rows);
}

export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const program = buildProgram(env).exitOverride();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === "string" && e.code.startsWith("commander.")) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help" ? 0 : (e.exitCode ?? 2);
    }
    process.stderr.write(`weft: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof CliError ? 1 : 1;
  }
}

runCli(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
