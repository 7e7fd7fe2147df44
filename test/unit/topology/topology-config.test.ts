import { describe, expect, it } from "vitest";
import { ConfigError, parseAgentConfig, usage } from "../../../agent/config.js";

const UNDERLAY = { WEFT_UNDERLAY_IP: "10.0.0.9" };

function topologyListen(argv: string[], env: Record<string, string> = {}, file?: string): string | undefined {
  const command = parseAgentConfig(argv, { ...UNDERLAY, ...env }, () => file ?? "");
  if (command.kind !== "run") throw new Error(`expected run, got ${command.kind}`);
  return command.config.topologyListen;
}

function failure(argv: string[]): ConfigError {
  try {
    parseAgentConfig(argv, UNDERLAY, () => "");
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("--topology-listen", () => {
  it("is off by default and with 'off'", () => {
    expect(topologyListen([])).toBeUndefined();
    expect(topologyListen(["--topology-listen", "off"])).toBeUndefined();
  });

  it("binds loopback unless a host is written out", () => {
    expect(topologyListen(["--topology-listen", "9480"])).toBe("127.0.0.1:9480");
    expect(topologyListen(["--topology-listen", ":9480"])).toBe("127.0.0.1:9480");
    expect(topologyListen(["--topology-listen", "127.0.0.1:9480"])).toBe("127.0.0.1:9480");
    expect(topologyListen(["--topology-listen", "10.251.0.1:9480"])).toBe("10.251.0.1:9480");
    expect(topologyListen(["--topology-listen", "0.0.0.0:9480"])).toBe("0.0.0.0:9480");
  });

  it("comes from WEFT_TOPOLOGY_LISTEN or the file's topologyListen too, the flag winning", () => {
    expect(topologyListen([], { WEFT_TOPOLOGY_LISTEN: "9481" })).toBe("127.0.0.1:9481");
    expect(topologyListen(["--topology-listen", "9482"], { WEFT_TOPOLOGY_LISTEN: "9481" })).toBe("127.0.0.1:9482");
    expect(topologyListen(["--config", "/etc/weft.yaml"], {}, "topologyListen: 9483\n")).toBe("127.0.0.1:9483");
  });

  it("names the flag when the address is bad", () => {
    for (const bad of ["70000", "example.com:9480", "1.2.3:9480", "127.0.0.1", "127.0.0.1:0"]) {
      const err = failure(["--topology-listen", bad]);
      expect(err.flag).toBe("topology-listen");
    }
  });

  it("is in the usage with its environment variable and the exposure warning", () => {
    expect(usage()).toMatch(/--topology-listen[^\n]*whoever reaches it sees the cluster's topology/);
    expect(usage()).toContain("env WEFT_TOPOLOGY_LISTEN");
  });
});
