// `weft service create|ls|inspect|rm`. Publish and selector arguments are parsed by the controlplane's
// parsers (one parser per concept), so the CLI refuses what the registry would, with the same words.
import { InvalidArgumentError, Option, type Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { ServicePortSchema, WeftService, type CreateServiceRequest, type Service, type ServicePort } from "../../proto/gen/weft/v1/api_pb.js";
import { printable } from "../../proto/values/index.js";
import { parsePublish, parseSelector, type ServicePort as PortValue } from "../../controlplane/services/index.js";
import { print, type WithApi } from "./api-client.js";
import { renderTable } from "./table.js";

export interface ServiceCreateOptions {
  network: string;
  selector: Record<string, string>;
  publish?: PortValue[];
  mode?: string;
  affinity?: string;
}

/** A controlplane parse error as commander's, so it prints as a usage error naming the flag. */
function asArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

export function publishArg(value: string, previous: PortValue[] = []): PortValue[] {
  return [...previous, asArgument(() => parsePublish(value, "publish"))];
}

export function selectorArg(value: string): Record<string, string> {
  return asArgument(() => parseSelector(value, "selector"));
}

export function createServiceRequest(name: string, opts: ServiceCreateOptions): CreateServiceRequest {
  return create(WeftService.method.createService.input, {
    name,
    network: opts.network,
    selector: opts.selector,
    ports: (opts.publish ?? []).map((p) => create(ServicePortSchema, { protocol: p.protocol, published: p.published, target: p.target, publishMode: p.publishMode })),
    mode: opts.mode ?? "",
    affinity: opts.affinity ?? "",
  });
}

export function addServiceCommands(program: Command, withApi: WithApi): void {
  const service = program.command("service").description("services: a name, a VIP and published ports in front of labelled endpoints");
  service
    .command("create")
    .argument("<name>")
    .requiredOption("--network <name>", "the network of the service and its backends")
    .requiredOption("--selector <key=value[,key=value]>", "backends: endpoints carrying every one of these labels", selectorArg)
    .option("--publish <published:target[/tcp|/udp][,mode=local]>", "publish a port on every node (repeatable); mode=local: only this node's backends, client address kept", publishArg)
    .addOption(new Option("--mode <mode>", "vip: a virtual IP in front of the backends; dnsrr: the name answers the backends").choices(["vip", "dnsrr"]))
    .addOption(new Option("--affinity <affinity>", "client-ip: a client stays on one backend").choices(["none", "client-ip"]))
    .description("create a service in the cluster")
    .action(async (name: string, opts: ServiceCreateOptions, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.createService(createServiceRequest(name, opts));
        print(cmd, WeftService.method.createService.output, res, () => serviceSummary(res.service!));
      }),
    );
  service
    .command("ls")
    .description("list services with their VIP, published ports and number of backends")
    .action(async (_opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.listServices({});
        print(cmd, WeftService.method.listServices.output, res, () =>
          renderTable(
            ["NAME", "NETWORK", "MODE", "VIP", "PORTS", "BACKENDS"],
            res.services.map((s) => [s.name, s.network, s.mode, s.vip || "-", s.ports.map(portText).join(" ") || "-", s.backends.length]),
          ),
        );
      }),
    );
  service
    .command("inspect")
    .argument("<name>")
    .description("show a service and its backends")
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.inspectService({ name });
        print(cmd, WeftService.method.inspectService.output, res, () => serviceDetails(res.service!));
      }),
    );
  service
    .command("rm")
    .argument("<name>")
    .description("remove a service (its published ports and VIP are freed)")
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      withApi(cmd, async (api) => {
        const res = await api.removeService({ name });
        print(cmd, WeftService.method.removeService.output, res, () => `removed ${printable(name)}\n`);
      }),
    );
}

export function portText(p: ServicePort): string {
  return `${p.published}:${p.target}/${p.protocol}${p.publishMode === "local" ? ",mode=local" : ""}`;
}

function selectorText(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

function serviceSummary(s: Service): string {
  const ports = s.ports.map(portText).join(" ");
  return printable(`${s.name}: ${s.mode}${s.vip ? ` ${s.vip}` : ""} in ${s.network}, selector ${selectorText(s.selector)}${ports ? `, published ${ports}` : ""}, ${s.backends.length} backend(s)`) + "\n";
}

function serviceDetails(s: Service): string {
  const rows: Array<[string, string | number]> = [
    ["name", s.name],
    ["network", s.network],
    ["mode", s.mode],
    ["vip", s.vip || "-"],
    ["affinity", s.affinity],
    ["selector", selectorText(s.selector)],
    ["ports", s.ports.map(portText).join(" ") || "-"],
  ];
  return renderTable(["FIELD", "VALUE"], rows) + "\n" + renderTable(["BACKEND", "NAME", "IP", "NODE"], s.backends.map((b) => [b.endpointId.slice(0, 12), b.name, b.ip, b.node]));
}
