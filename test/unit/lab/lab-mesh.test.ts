// The lab's pure parts for the mesh: the API's Service as the lab reports it, choosing the web backends'
// hosts, the checks' targets, and the verdict on which backends answered.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ServiceSchema } from "../../../proto/gen/weft/v1/api_pb.js";
import { judgeAnswers, meshTargets } from "../../../agent/lab/lab-mesh-checks.js";
import { isLabNetns } from "../../../agent/lab/lab-names.js";
import { labService } from "../../../agent/lab/lab-services.js";
import type { LabHost, LabWeb } from "../../../agent/lab/lab-state.js";
import { webBackendHosts } from "../../../agent/lab/lab-web.js";

const host = (i: number): LabHost => ({
  name: `h${i}`,
  netns: `w-h${i}`,
  underlayIp: `10.251.0.${i}`,
  agentPid: 1,
  apiSocket: `/run/h${i}.sock`,
  gossipAddr: "",
  metricsAddr: "",
  stateDir: "",
  logFile: "",
});

describe("labService", () => {
  it("reports the API's Service in the CLI's words, without an empty VIP", () => {
    const api = create(ServiceSchema, {
      name: "web",
      network: "weft-lab",
      selector: { app: "web" },
      ports: [
        { protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" },
        { protocol: "udp", published: 5353, target: 53, publishMode: "local" },
      ],
      mode: "vip",
      affinity: "none",
      vip: "10.40.255.1",
      backends: [{ endpointId: "a", name: "w-h1-w1", ip: "10.40.9.2", node: "h1" }],
    });
    expect(labService(api)).toEqual({
      name: "web",
      network: "weft-lab",
      mode: "vip",
      vip: "10.40.255.1",
      ports: [
        { protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" },
        { protocol: "udp", published: 5353, target: 53, publishMode: "local" },
      ],
      backends: [{ endpointId: "a", name: "w-h1-w1", ip: "10.40.9.2", node: "h1" }],
    });
    expect(labService(create(ServiceSchema, { name: "rr", network: "n", mode: "dnsrr", vip: "" }))).toEqual({ name: "rr", network: "n", mode: "dnsrr", ports: [], backends: [] });
  });
});

describe("web backends", () => {
  it("go on every host but the last, at most four, and on the only host of a one-host lab", () => {
    expect(webBackendHosts([1])).toEqual([1]);
    expect(webBackendHosts([1, 2])).toEqual([1]);
    expect(webBackendHosts([1, 2, 3])).toEqual([1, 2]);
    expect(webBackendHosts([1, 2, 3, 4, 5, 6, 7])).toEqual([1, 2, 3, 4]);
  });

  it("live in namespaces that lab down recognises as the lab's", () => {
    expect(isLabNetns("weft", "weft-h1-w1")).toBe(true);
    expect(isLabNetns("weft", "weftab-h1-w1")).toBe(false);
  });
});

describe("mesh checks", () => {
  const web: LabWeb = { service: "web", network: "weft-lab", vip: "10.40.255.1", published: 8080, target: 80, backends: [], serverPids: [] };
  const client = { name: "w-h1-c1", host: "h1", netns: "w-h1-c1", network: "weft-lab", ip: "10.40.0.2", mac: "", endpointId: "" };

  it("ask every host's published port from the world and from a container, then the VIP and the name", () => {
    const targets = meshTargets(web, [host(1), host(2)], { netns: "w-world" }, client);
    expect(targets.map((t) => `${t.from} ${t.to} ${t.url}`)).toEqual([
      "world h1:8080 http://10.251.0.1:8080/",
      "world h2:8080 http://10.251.0.2:8080/",
      "w-h1-c1 h1:8080 http://10.251.0.1:8080/",
      "w-h1-c1 h2:8080 http://10.251.0.2:8080/",
      "w-h1-c1 VIP 10.40.255.1:80 http://10.40.255.1:80/",
      "w-h1-c1 web:80 http://web:80/",
    ]);
    expect(meshTargets({ ...web, vip: undefined }, [host(1)], undefined, client).map((t) => t.to)).toEqual(["h1:8080", "web:80"]);
  });

  it("pass only when every backend answered and no one else", () => {
    expect(judgeAnswers(["a", "b"], new Set(["a", "b"]))).toEqual({ ok: true, missing: [], strangers: [] });
    expect(judgeAnswers(["a", "b"], new Set(["a"]))).toEqual({ ok: false, missing: ["b"], strangers: [] });
    expect(judgeAnswers(["a"], new Set(["a", "gone"]))).toEqual({ ok: false, missing: [], strangers: ["gone"] });
    expect(judgeAnswers([], new Set()).ok).toBe(false);
  });
});
