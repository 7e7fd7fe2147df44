// The lab's pure parts for the mesh: reading `weft service ls --json`, choosing the web backends'
// hosts, the checks' targets, and the verdict on which backends answered.
import { describe, expect, it } from "vitest";
import { judgeAnswers, meshTargets } from "../../../agent/lab/lab-mesh-checks.js";
import { isLabNetns } from "../../../agent/lab/lab-names.js";
import { parseServiceList, serviceCreateArgs } from "../../../agent/lab/lab-services.js";
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

describe("parseServiceList", () => {
  it("reads proto JSON with enum constants, sorting backends by address", () => {
    const services = parseServiceList({
      services: [
        {
          name: "web",
          network: "weft-lab",
          selector: { app: "web" },
          ports: [
            { protocol: "PORT_PROTOCOL_TCP", published: 8080, target: 80, publishMode: "PUBLISH_MODE_INGRESS" },
            { protocol: "PORT_PROTOCOL_UDP", published: 5353, target: 53, publishMode: "PUBLISH_MODE_LOCAL" },
          ],
          mode: "SERVICE_MODE_VIP",
          affinity: "AFFINITY_NONE",
          vip: "10.40.255.1",
          backends: [
            { endpointId: "b", name: "w-h2-w1", ip: "10.40.10.2", node: "h2" },
            { endpointId: "a", name: "w-h1-w1", ip: "10.40.9.2", node: "h1" },
          ],
        },
        { name: "dns", network: "weft-lab", mode: "dnsrr", ports: [], backends: [] },
      ],
    });
    expect(services).toEqual([
      {
        name: "web",
        network: "weft-lab",
        mode: "vip",
        vip: "10.40.255.1",
        ports: [
          { protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" },
          { protocol: "udp", published: 5353, target: 53, publishMode: "local" },
        ],
        backends: [
          { endpointId: "a", name: "w-h1-w1", ip: "10.40.9.2", node: "h1" },
          { endpointId: "b", name: "w-h2-w1", ip: "10.40.10.2", node: "h2" },
        ],
      },
      { name: "dns", network: "weft-lab", mode: "dnsrr", ports: [], backends: [] },
    ]);
  });

  it("takes the CLI's words too, and an empty list", () => {
    expect(parseServiceList({})).toEqual([]);
    expect(parseServiceList([{ name: "s", network: "n", mode: "dnsrr", ports: [{ protocol: "udp", published: "53", target: 53, publishMode: "local" }] }])).toEqual([
      { name: "s", network: "n", mode: "dnsrr", ports: [{ protocol: "udp", published: 53, target: 53, publishMode: "local" }], backends: [] },
    ]);
  });

  it("fails naming the field on what it cannot read", () => {
    expect(() => parseServiceList({ services: "x" })).toThrow(/expected/);
    expect(() => parseServiceList({ services: [{ network: "n" }] })).toThrow(/^services\[0\]\.name: missing/);
    expect(() => parseServiceList({ services: [{ name: "s", network: "n", ports: [{ published: 0, target: 80 }] }] })).toThrow(/^services\[0\]\.ports\[0\]\.published: not a port/);
    expect(() => parseServiceList({ services: [{ name: "s", network: "n", backends: [{ name: "x" }] }] })).toThrow(/^services\[0\]\.backends\[0\]\.ip: missing/);
  });
});

describe("serviceCreateArgs", () => {
  it("spells the contract's CLI", () => {
    expect(serviceCreateArgs({ name: "web", network: "weft-lab", selector: "app=web", publish: ["8080:80", "53:53/udp,mode=local"], mode: "vip", affinity: "client-ip" })).toEqual([
      "service", "create", "web", "--network", "weft-lab", "--selector", "app=web", "--publish", "8080:80", "--publish", "53:53/udp,mode=local", "--mode", "vip", "--affinity", "client-ip",
    ]);
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
