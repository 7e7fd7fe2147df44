// The CNI environment and configuration: each bad input becomes the spec's code, naming the variable or field.
import { describe, expect, it } from "vitest";
import { CNI_CODE, CniError } from "../../../agent/cni/cni-error.js";
import { endpointNameFor, parseConfig, parseEnvironment } from "../../../agent/cni/cni-request.js";
import { isName } from "../../../proto/values/index.js";

function thrown(work: () => unknown): CniError {
  try {
    work();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

const ADD_ENV = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc123", CNI_NETNS: "/run/netns/c1", CNI_IFNAME: "eth0" };

describe("parseEnvironment", () => {
  it("reads ADD's variables and CNI_ARGS pairs", () => {
    const env = parseEnvironment({ ...ADD_ENV, CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web" });
    expect(env).toEqual({ command: "ADD", containerId: "abc123", netns: "/run/netns/c1", ifName: "eth0", args: { IgnoreUnknown: "1", K8S_POD_NAME: "web" } });
  });

  it("names the missing variable with code 4", () => {
    for (const variable of ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"]) {
      const err = thrown(() => parseEnvironment({ ...ADD_ENV, [variable]: undefined }));
      expect(err.code).toBe(CNI_CODE.invalidEnvironment);
      expect(err.message).toMatch(new RegExp(`^${variable}: is required`));
    }
    expect(thrown(() => parseEnvironment({})).message).toMatch(/^CNI_COMMAND/);
    expect(thrown(() => parseEnvironment({ CNI_COMMAND: "FROB" })).code).toBe(CNI_CODE.invalidEnvironment);
    expect(thrown(() => parseEnvironment({ ...ADD_ENV, CNI_CONTAINERID: "a/b" })).message).toMatch(/^CNI_CONTAINERID/);
    expect(thrown(() => parseEnvironment({ ...ADD_ENV, CNI_ARGS: "novalue" })).message).toMatch(/^CNI_ARGS/);
  });

  it("lets DEL go without a namespace, and VERSION with nothing", () => {
    expect(parseEnvironment({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "abc", CNI_IFNAME: "eth0" }).netns).toBeUndefined();
    expect(parseEnvironment({ CNI_COMMAND: "VERSION" }).command).toBe("VERSION");
  });

  it("reads containerd's /var/run/netns path as /run/netns", () => {
    expect(parseEnvironment({ ...ADD_ENV, CNI_NETNS: "/var/run/netns/cni-1234" }).netns).toBe("/run/netns/cni-1234");
  });
});

describe("parseConfig", () => {
  const base = { cniVersion: "1.0.0", name: "lab", type: "weft" };

  it("defaults the network to the name and the socket to weftd's", () => {
    const config = parseConfig(JSON.stringify(base), "ADD");
    expect(config).toMatchObject({ cniVersion: "1.0.0", name: "lab", network: "lab", apiSocket: "/run/weft/weft.sock", aliases: [] });
    expect(parseConfig(JSON.stringify({ ...base, network: "weft-lab", apiSocket: "/run/weft/lab/weft/h1.sock" }), "ADD")).toMatchObject({
      network: "weft-lab",
      apiSocket: "/run/weft/lab/weft/h1.sock",
    });
  });

  it("accepts every version from 0.3.1 to 1.1.0 and refuses others with code 1", () => {
    for (const v of ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]) expect(parseConfig(JSON.stringify({ ...base, cniVersion: v }), "ADD").cniVersion).toBe(v);
    expect(thrown(() => parseConfig(JSON.stringify({ ...base, cniVersion: "0.2.0" }), "ADD")).code).toBe(CNI_CODE.incompatibleVersion);
    expect(thrown(() => parseConfig(JSON.stringify({ ...base, cniVersion: "0.3.1" }), "CHECK")).code).toBe(CNI_CODE.incompatibleVersion);
    expect(thrown(() => parseConfig(JSON.stringify(base), "GC")).code).toBe(CNI_CODE.incompatibleVersion);
  });

  it("names the bad field with code 7, and says 6 for stdin that is not JSON", () => {
    const cases: Array<[object, RegExp]> = [
      [{ ...base, cniVersion: undefined }, /^cniVersion:/],
      [{ ...base, name: "bad name" }, /^name:/],
      [{ ...base, network: "" }, /^network:/],
      [{ ...base, apiSocket: "relative.sock" }, /^apiSocket:/],
      [{ ...base, prevResult: [] }, /^prevResult:/],
      [{ ...base, runtimeConfig: { aliases: { lab: "x" } } }, /^runtimeConfig\.aliases\.lab:/],
    ];
    for (const [config, field] of cases) {
      const err = thrown(() => parseConfig(JSON.stringify(config), "ADD"));
      expect(err.code).toBe(CNI_CODE.invalidConfig);
      expect(err.message).toMatch(field);
    }
    expect(thrown(() => parseConfig("{not json", "ADD")).code).toBe(CNI_CODE.decodeFailure);
  });

  it("takes podman's aliases for this network, leaving out names DNS cannot carry", () => {
    const config = parseConfig(JSON.stringify({ ...base, runtimeConfig: { aliases: { lab: ["web", "bad name"], other: ["x"] } } }), "ADD");
    expect(config.aliases).toEqual(["web"]);
  });

  it("reads GC's attachments under either key", () => {
    const list = [{ containerID: "c1", ifname: "eth0" }];
    for (const key of ["cni.dev/attachments", "cni.dev/valid-attachments"]) {
      const config = parseConfig(JSON.stringify({ ...base, cniVersion: "1.1.0", [key]: list }), "GC");
      expect(config.validAttachments).toEqual([{ containerId: "c1", ifName: "eth0" }]);
    }
    const err = thrown(() => parseConfig(JSON.stringify({ ...base, cniVersion: "1.1.0", "cni.dev/attachments": [{ ifname: "eth0" }] }), "GC"));
    expect(err.message).toMatch(/^cni\.dev\/attachments\[0\]\.containerID/);
  });
});

describe("endpointNameFor", () => {
  it("is a valid name, the same every time, and different per network, container and interface", () => {
    const a = endpointNameFor("lab", { containerId: "x".repeat(64), ifName: "eth0" });
    expect(isName(a)).toBe(true);
    expect(endpointNameFor("lab", { containerId: "x".repeat(64), ifName: "eth0" })).toBe(a);
    expect(endpointNameFor("lab2", { containerId: "x".repeat(64), ifName: "eth0" })).not.toBe(a);
    expect(endpointNameFor("lab", { containerId: "y".repeat(64), ifName: "eth0" })).not.toBe(a);
    expect(endpointNameFor("lab", { containerId: "x".repeat(64), ifName: "eth1" })).not.toBe(a);
  });
});
