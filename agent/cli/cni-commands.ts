// `weft cni install`: puts weft's CNI plugin and a conflist in place, once the agent behind
// --api-socket answers and serves CNI (so a runtime never calls a plugin whose agent is not there).
import { Command, InvalidArgumentError } from "commander";
import { join } from "node:path";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { installConflist, installPlugin, probeCniSocket } from "../cni/cni-install.js";
import { SUPPORTED_VERSIONS } from "../cni/cni-request.js";
import { packageRoot } from "../package-root.js";
import { errorText, isName } from "../../proto/values/index.js";

interface InstallOptions {
  network: string;
  name?: string;
  confDir: string;
  binDir: string;
  cniVersion: string;
  portmap?: boolean;
}

function nameArg(flag: string) {
  return (value: string): string => {
    if (!isName(value)) throw new InvalidArgumentError(`--${flag} must be a weft name (1-63 letters, digits, '_', '.', '-')`);
    return value;
  };
}

function versionArg(value: string): string {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--cni-version must be one of ${SUPPORTED_VERSIONS.join(", ")}`);
  return value;
}

export function addCniCommands(program: Command, say: (line: string) => void = (line) => process.stdout.write(line + "\n")): void {
  const cni = program.command("cni").description("the CNI plugin for podman, containerd and CRI-O");
  cni
    .command("install")
    .description("install the plugin and a conflist for a weft network (atomically, once weftd answers)")
    .requiredOption("--network <name>", "the weft network containers join", nameArg("network"))
    .option("--name <name>", "the CNI network's name (default: the weft network's)", nameArg("name"))
    .option("--conf-dir <dir>", "where runtimes read conflists", "/etc/cni/net.d")
    .option("--bin-dir <dir>", "where runtimes find plugins", "/opt/cni/bin")
    .option("--cni-version <v>", "the conflist's cniVersion (podman 4 / libcni 1.1 read at most 1.0.0)", versionArg, "1.0.0")
    .option("--portmap", "chain the standard portmap plugin after weft (podman run -p)")
    .action(async (opts: InstallOptions, cmd: Command) => {
      const { apiSocket } = cmd.optsWithGlobals() as { apiSocket: string };
      const api = createUnaryClient(WeftService, `unix:${apiSocket}`) as UnaryClient<(typeof WeftService)["method"]>;
      try {
        await api.getStatus({}, { deadlineMs: 10_000 });
        await api.inspectNetwork({ name: opts.network }, { deadlineMs: 10_000 });
      } catch (err) {
        const e = err as { details?: string };
        throw new Error(`cni install: weftd at ${apiSocket}: ${e.details ?? errorText(err)}; nothing installed`);
      } finally {
        api.close();
      }
      await probeCniSocket(apiSocket).catch((err: unknown) => {
        throw new Error(`cni install: ${errorText(err)}; nothing installed`);
      });
      const root = packageRoot();
      const plugin = await installPlugin(opts.binDir, { c: join(root, "agent/bin/weft-cni.c"), node: join(root, "agent/bin/weft-cni.cjs") });
      say(`plugin ${plugin.path} (${plugin.kind === "c" ? "compiled forwarder" : "Node forwarder: no C compiler here, each call pays a Node start"})`);
      const conflist = await installConflist(opts.confDir, {
        name: opts.name ?? opts.network,
        network: opts.network,
        apiSocket,
        cniVersion: opts.cniVersion,
        portmap: opts.portmap === true,
      });
      say(`conflist ${conflist} (network ${opts.network}, agent ${apiSocket})`);
    });
}
