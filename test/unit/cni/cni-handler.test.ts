// Each CNI verb on a fake agent: what is asked of the agent, what is printed, and the exit code.
import { describe, expect, it } from "vitest";
import { handleCni } from "../../../agent/cni/cni-handler.js";
import { endpointNameFor } from "../../../agent/cni/cni-request.js";
import { WeftError } from "../../../proto/values/index.js";
import type { CniAgent, CniAttachRequest, CniEndpoint } from "../../../agent/cni/cni-agent.js";
import type { NamespaceInspector, ObservedNamespace } from "../../../agent/cni/container-check.js";

function endpointFor(request: CniAttachRequest): CniEndpoint {
  return {
    id: `id-${request.name}`,
    name: request.name,
    network: request.network,
    local: true,
    gateway: "10.40.1.1",
    mtu: 1450,
    interfaces: [
      { name: request.ifName, mac: "02:42:0a:28:01:02", ip: "10.40.1.2/16" },
      { name: "eth1", mac: "02:42:ac:12:00:02", ip: "172.18.0.2/16" },
    ],
    dns: { nameservers: ["10.40.1.1"], search: [request.network] },
  };
}

class FakeAgent implements CniAgent {
  endpoints = new Map<string, CniEndpoint>();
  attached: CniAttachRequest[] = [];
  down = false;

  private up(): void {
    if (this.down) throw new WeftError("unavailable", "connect ENOENT /run/weft/weft.sock");
  }
  async attach(request: CniAttachRequest): Promise<CniEndpoint> {
    this.up();
    if (request.network !== "lab") throw new WeftError("not-found", `network: no network "${request.network}"`, { field: "network" });
    this.attached.push(request);
    const endpoint = endpointFor(request);
    this.endpoints.set(request.name, endpoint);
    return endpoint;
  }
  async detach(name: string): Promise<void> {
    this.up();
    if (!this.endpoints.delete(name)) throw new WeftError("not-found", `endpoint: no endpoint "${name}" on this node`, { field: "endpoint" });
  }
  async find(name: string): Promise<CniEndpoint | undefined> {
    this.up();
    return this.endpoints.get(name);
  }
  async list(network: string): Promise<CniEndpoint[]> {
    this.up();
    return [...this.endpoints.values()].filter((e) => e.network === network);
  }
  async ping(): Promise<void> {
    this.up();
  }
}

const healthy: ObservedNamespace = {
  addresses: new Map([
    ["lo", ["127.0.0.1/8"]],
    ["eth0", ["10.40.1.2/16"]],
    ["eth1", ["172.18.0.2/16"]],
  ]),
  routes: [
    { dst: "default", gateway: "172.18.0.1", dev: "eth1" },
    { dst: "10.40.0.0/16", dev: "eth0" },
  ],
};

function setup(observed: ObservedNamespace = healthy) {
  const agent = new FakeAgent();
  const inspector: NamespaceInspector = { inspect: async () => observed };
  const call = (command: string, config: object, extra: Record<string, string> = {}) =>
    handleCni(
      { CNI_COMMAND: command, CNI_CONTAINERID: "c0ffee", CNI_NETNS: "/run/netns/c1", CNI_IFNAME: "eth0", ...extra },
      JSON.stringify({ name: "lab", type: "weft", ...config }),
      { agent, inspector },
    );
  return { agent, call };
}

const V1 = { cniVersion: "1.0.0" };
const V11 = { cniVersion: "1.1.0" };

describe("handleCni", () => {
  it("ADD attaches under a name derived from the attachment, with the container's name as alias", async () => {
    const { agent, call } = setup();
    const reply = await call("ADD", { ...V1, runtimeConfig: { aliases: { lab: ["web", "c0ffee"] } } }, { CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web" });
    expect(reply.exitCode).toBe(0);
    expect(agent.attached).toEqual([
      { network: "lab", netns: "/run/netns/c1", name: endpointNameFor("lab", { containerId: "c0ffee", ifName: "eth0" }), ifName: "eth0", aliases: ["web", "c0ffee"] },
    ]);
    const result = JSON.parse(reply.stdout) as { cniVersion: string; ips: Array<{ address: string; gateway: string }>; dns: object };
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.ips[0]).toEqual({ address: "10.40.1.2/16", gateway: "10.40.1.1", interface: 0 });
    expect(result.dns).toEqual({ nameservers: ["10.40.1.1"], search: ["lab"] });
  });

  it("ADD to an unknown weft network is an invalid config (7) naming the field", async () => {
    const { call } = setup();
    const reply = await call("ADD", { ...V1, network: "nope" });
    expect(reply.exitCode).not.toBe(0);
    expect(JSON.parse(reply.stdout)).toMatchObject({ cniVersion: "1.0.0", code: 7, msg: expect.stringMatching(/^network: /) as unknown });
  });

  it("says 'try again later' (11) when weftd is down, and 50 to STATUS", async () => {
    const { agent, call } = setup();
    agent.down = true;
    expect(JSON.parse((await call("ADD", V1)).stdout)).toMatchObject({ code: 11 });
    expect(JSON.parse((await call("DEL", V1)).stdout)).toMatchObject({ code: 11 });
    expect(JSON.parse((await call("STATUS", V11)).stdout)).toMatchObject({ code: 50 });
    agent.down = false;
    expect(await call("STATUS", V11)).toEqual({ exitCode: 0, stdout: "" });
  });

  it("DEL removes the endpoint and succeeds again when it is already gone", async () => {
    const { agent, call } = setup();
    await call("ADD", V1);
    expect(agent.endpoints.size).toBe(1);
    expect(await call("DEL", V1)).toEqual({ exitCode: 0, stdout: "" });
    expect(agent.endpoints.size).toBe(0);
    expect(await call("DEL", V1)).toEqual({ exitCode: 0, stdout: "" });
    expect(await call("DEL", V1, { CNI_NETNS: "" })).toEqual({ exitCode: 0, stdout: "" });
  });

  it("CHECK passes when the namespace has everything, says 3 for an unknown container", async () => {
    const { call } = setup();
    expect(JSON.parse((await call("CHECK", V1)).stdout)).toMatchObject({ code: 3 });
    await call("ADD", V1);
    expect(await call("CHECK", V1)).toEqual({ exitCode: 0, stdout: "" });
  });

  it("CHECK fails naming what is missing in the namespace", async () => {
    const broken: ObservedNamespace = { addresses: new Map([["eth0", []]]), routes: [] };
    const { call } = setup(broken);
    await call("ADD", V1);
    const error = JSON.parse((await call("CHECK", V1)).stdout) as { code: number; msg: string };
    expect(error.code).toBe(101);
    expect(error.msg).toMatch(/eth0 lacks address 10\.40\.1\.2\/16/);
    expect(error.msg).toMatch(/eth1 is missing/);
    expect(error.msg).toMatch(/default route via 172\.18\.0\.1/);
  });

  it("GC removes the weft attachments the runtime no longer lists, and nothing else", async () => {
    const { agent, call } = setup();
    await call("ADD", V1, { CNI_CONTAINERID: "keep" });
    await call("ADD", V1, { CNI_CONTAINERID: "stale" });
    agent.endpoints.set("manual", { ...endpointFor({ network: "lab", netns: "x", name: "manual", ifName: "eth0", aliases: [] }) });
    agent.endpoints.set("cni-remote", { ...endpointFor({ network: "lab", netns: "x", name: "cni-remote", ifName: "eth0", aliases: [] }), local: false });
    const reply = await call("GC", { ...V11, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] }, { CNI_CONTAINERID: "" });
    expect(reply).toEqual({ exitCode: 0, stdout: "" });
    expect([...agent.endpoints.keys()].sort()).toEqual(["cni-remote", endpointNameFor("lab", { containerId: "keep", ifName: "eth0" }), "manual"].sort());
  });

  it("VERSION answers with the supported versions, even without a usable config", async () => {
    const { call } = setup();
    expect(JSON.parse((await call("VERSION", { cniVersion: "0.4.0" })).stdout)).toEqual({ cniVersion: "0.4.0", supportedVersions: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
    expect(JSON.parse((await call("VERSION", { cniVersion: "9.9.9" })).stdout)).toMatchObject({ cniVersion: "1.1.0" });
  });

  it("refuses a missing variable with code 4 naming it", async () => {
    const { call } = setup();
    expect(JSON.parse((await call("ADD", V1, { CNI_IFNAME: "" })).stdout)).toMatchObject({ code: 4, msg: expect.stringMatching(/^CNI_IFNAME/) as unknown });
  });
});
