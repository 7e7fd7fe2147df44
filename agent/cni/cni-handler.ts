// One CNI invocation (env + stdin) -> what the plugin prints and its exit code. All of weft's CNI
// behaviour lives here, in the agent, so the plugin binary is a forwarder that holds no state and
// needs no update when this changes.
import { errorText, isName, WeftError } from "../../proto/values/index.js";
import { CNI_CODE, CniError, errorResult, toCniError } from "./cni-error.js";
import { CNI_ENDPOINT_PREFIX, endpointNameFor, parseConfig, parseEnvironment, SUPPORTED_VERSIONS, type CniConfig, type CniEnvironment } from "./cni-request.js";
import { endpointResult } from "./cni-result.js";
import { missingInNamespace, type NamespaceInspector } from "./container-check.js";
import type { CniAgent } from "./cni-agent.js";

export interface CniReply {
  exitCode: number;
  stdout: string;
}

export interface CniHandlerDeps {
  agent: CniAgent;
  inspector: NamespaceInspector;
}

const MAX_ALIASES = 16;

export async function handleCni(env: Readonly<Record<string, string | undefined>>, stdin: string, deps: CniHandlerDeps): Promise<CniReply> {
  let cniVersion = "1.1.0";
  try {
    const request = parseEnvironment(env);
    if (request.command === "VERSION") return { exitCode: 0, stdout: versionResult(stdin) };
    const config = parseConfig(stdin, request.command);
    cniVersion = config.cniVersion;
    const stdout = await run(request, config, deps);
    return { exitCode: 0, stdout };
  } catch (err) {
    const cniError = toCniError(err);
    // STATUS reports an agent that is not up as "plugin not available" (50), the other verbs as 11.
    const statusDown = env["CNI_COMMAND"] === "STATUS" && cniError.code === CNI_CODE.tryAgainLater;
    const reported = statusDown ? new CniError(CNI_CODE.notAvailable, cniError.message, cniError.details) : cniError;
    return { exitCode: 1, stdout: errorResult(cniVersion, reported) };
  }
}

/** VERSION answers even for a configuration it cannot use (the runtime asks to find out). */
export function versionResult(stdin: string): string {
  let cniVersion = "1.1.0";
  try {
    const parsed = JSON.parse(stdin) as { cniVersion?: unknown };
    if (typeof parsed.cniVersion === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(parsed.cniVersion)) cniVersion = parsed.cniVersion;
  } catch {
    // An empty or unreadable stdin still gets the list.
  }
  return JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS });
}

async function run(request: CniEnvironment, config: CniConfig, { agent, inspector }: CniHandlerDeps): Promise<string> {
  const containerId = request.containerId ?? "";
  const ifName = request.ifName ?? "";
  const name = endpointNameFor(config.network, { containerId, ifName });
  switch (request.command) {
    case "ADD": {
      const aliases = [request.args["K8S_POD_NAME"] ?? "", ...config.aliases].filter((a, i, all) => isName(a) && all.indexOf(a) === i);
      const endpoint = await agent.attach({ network: config.network, netns: request.netns ?? "", name, ifName, aliases: aliases.slice(0, MAX_ALIASES) });
      return JSON.stringify(endpointResult(config.cniVersion, endpoint, request.netns ?? "", config.prevResult));
    }
    case "DEL": {
      try {
        await agent.detach(name);
      } catch (err) {
        // Already gone (a second DEL, or GC got there first) is success.
        if (!(err instanceof WeftError && err.code === "not-found")) throw err;
      }
      return "";
    }
    case "CHECK": {
      const endpoint = await agent.find(name);
      if (!endpoint || !endpoint.local) throw new CniError(CNI_CODE.unknownContainer, `CNI_CONTAINERID: no weft endpoint for ${containerId} ${ifName} on this node`);
      let problems: string[];
      try {
        problems = missingInNamespace(endpoint, await inspector.inspect(request.netns ?? ""));
      } catch (err) {
        throw new CniError(CNI_CODE.ioFailure, `CNI_NETNS: cannot look into ${request.netns ?? ""}: ${errorText(err)}`);
      }
      if (problems.length > 0) throw new CniError(CNI_CODE.checkFailed, `container ${containerId}: ${problems.join("; ")}`);
      return "";
    }
    case "STATUS":
      await agent.ping();
      return "";
    case "GC": {
      const keep = new Set((config.validAttachments ?? []).map((a) => endpointNameFor(config.network, a)));
      const endpoints = await agent.list(config.network);
      const stale = endpoints.filter((e) => e.local && e.name.startsWith(CNI_ENDPOINT_PREFIX) && !keep.has(e.name));
      for (const endpoint of stale) {
        try {
          await agent.detach(endpoint.name);
        } catch (err) {
          if (!(err instanceof WeftError && err.code === "not-found")) throw err;
        }
      }
      return "";
    }
    case "VERSION":
      return versionResult(JSON.stringify({ cniVersion: config.cniVersion }));
  }
}
