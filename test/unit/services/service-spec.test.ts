// Service specs, the CLI's --publish and --selector texts, and service records read from etcd.
import { describe, expect, it } from "vitest";
import { WeftError } from "../../../proto/values/index.js";
import {
  parsePublish,
  parseSelector,
  parseServiceRecord,
  validateServiceSpec,
  type ServiceSpec,
} from "../../../controlplane/services/index.js";

const spec: ServiceSpec = { name: "web", network: "blue", selector: { app: "web" } };

function rejection(fn: () => unknown): WeftError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WeftError);
    return err as WeftError;
  }
  throw new Error("expected a rejection");
}

describe("validateServiceSpec", () => {
  it("fills in the defaults and keeps the ports in the order given", () => {
    const ports = [
      { protocol: "udp" as const, published: 53, target: 5353, publishMode: "ingress" as const },
      { protocol: "tcp" as const, published: 8080, target: 80, publishMode: "local" as const },
    ];
    expect(validateServiceSpec({ ...spec, ports })).toEqual({ ...spec, ports, mode: "vip", affinity: "none" });
    expect(validateServiceSpec({ ...spec, mode: "dnsrr", affinity: "client-ip" })).toMatchObject({ mode: "dnsrr", affinity: "client-ip", ports: [] });
  });

  it("rejects each bad field with invalid-argument naming it", () => {
    const port = { protocol: "tcp" as const, published: 8080, target: 80, publishMode: "ingress" as const };
    const cases: Array<[unknown, string]> = [
      [{ ...spec, name: "-web" }, "name"],
      [{ ...spec, name: "x".repeat(64) }, "name"],
      [{ ...spec, network: "" }, "network"],
      [{ ...spec, selector: undefined }, "selector"],
      [{ ...spec, selector: {} }, "selector"],
      [{ ...spec, selector: [] }, "selector"],
      [{ ...spec, selector: { "": "x" } }, "selector."],
      [{ ...spec, selector: { app: 5 } }, "selector.app"],
      [{ ...spec, selector: { app: "x".repeat(1025) } }, "selector.app"],
      [{ ...spec, ports: "8080:80" }, "ports"],
      [{ ...spec, ports: [null] }, "ports[0]"],
      [{ ...spec, ports: [{ ...port, published: 0 }] }, "ports[0].published"],
      [{ ...spec, ports: [port, { ...port, published: 65536 }] }, "ports[1].published"],
      [{ ...spec, ports: [{ ...port, published: 80.5 }] }, "ports[0].published"],
      [{ ...spec, ports: [{ ...port, target: 0 }] }, "ports[0].target"],
      [{ ...spec, ports: [{ ...port, target: "80" }] }, "ports[0].target"],
      [{ ...spec, ports: [{ ...port, protocol: "sctp" }] }, "ports[0].protocol"],
      [{ ...spec, ports: [{ ...port, publishMode: "host" }] }, "ports[0].publishMode"],
      [{ ...spec, ports: [port, { ...port, target: 81 }] }, "ports[1].published"],
      [{ ...spec, ports: Array.from({ length: 101 }, (_, i) => ({ ...port, published: i + 1 })) }, "ports"],
      [{ ...spec, mode: "ipvs" }, "mode"],
      [{ ...spec, affinity: "cookie" }, "affinity"],
    ];
    for (const [input, field] of cases) {
      const err = rejection(() => validateServiceSpec(input as ServiceSpec));
      expect(err.code, field).toBe("invalid-argument");
      expect(err.field, JSON.stringify(input)).toBe(field);
      expect(err.message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it("refuses the ports the cluster itself uses on every node (VXLAN, gossip, etcd)", () => {
    for (const [published, protocol] of [[4789, "udp"], [7946, "tcp"], [2379, "tcp"], [2380, "tcp"]] as const) {
      const error = rejection(() => validateServiceSpec({ ...spec, ports: [{ published, target: 80, protocol, publishMode: "ingress" }] }));
      expect(error.field).toBe("ports[0].published");
      expect(error.message).toMatch(/cut nodes off/);
    }
    expect(validateServiceSpec({ ...spec, ports: [{ published: 4789, target: 80, protocol: "tcp", publishMode: "ingress" }] }).ports).toHaveLength(1);
  });

  it("accepts the same published port number once per protocol", () => {
    const ports = [
      { protocol: "tcp" as const, published: 53, target: 53, publishMode: "ingress" as const },
      { protocol: "udp" as const, published: 53, target: 53, publishMode: "ingress" as const },
    ];
    expect(validateServiceSpec({ ...spec, ports }).ports).toHaveLength(2);
  });
});

describe("parsePublish", () => {
  it("parses PUBLISHED:TARGET with protocol and mode, defaulting to tcp and ingress", () => {
    expect(parsePublish("8080:80", "publish")).toEqual({ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" });
    expect(parsePublish("53:5353/udp", "publish")).toEqual({ protocol: "udp", published: 53, target: 5353, publishMode: "ingress" });
    expect(parsePublish("8443:443/tcp,mode=local", "publish")).toEqual({ protocol: "tcp", published: 8443, target: 443, publishMode: "local" });
    expect(parsePublish("1:65535,mode=ingress", "publish")).toEqual({ protocol: "tcp", published: 1, target: 65535, publishMode: "ingress" });
  });

  it("rejects bad text with a reason, naming the caller's field", () => {
    const cases: Array<[string, RegExp]> = [
      ["8080", /PUBLISHED:TARGET/],
      ["", /PUBLISHED:TARGET/],
      [" 8080:80", /PUBLISHED:TARGET/],
      ["8080:80/", /PUBLISHED:TARGET/],
      ["8080:80,local", /PUBLISHED:TARGET/],
      ["0:80", /published port 0 must be from 1 to 65535/],
      ["65536:80", /published port 65536/],
      ["08080:80", /published port 08080/],
      ["8080:99999", /target port 99999/],
      ["8080:80/sctp", /protocol must be tcp or udp, not sctp/],
      ["8080:80/TCP", /PUBLISHED:TARGET/],
      ["8080:80,mode=host", /mode must be ingress or local, not host/],
    ];
    for (const [text, reason] of cases) {
      const err = rejection(() => parsePublish(text, "publish[2]"));
      expect(err).toMatchObject({ code: "invalid-argument", field: "publish[2]" });
      expect(err.message, text).toMatch(reason);
    }
  });
});

describe("parseSelector", () => {
  it("parses KEY=VALUE pairs; values may hold '=' and be empty", () => {
    expect(parseSelector("app=web", "selector")).toEqual({ app: "web" });
    expect(parseSelector("app=web,tier=front", "selector")).toEqual({ app: "web", tier: "front" });
    expect(parseSelector("expr=a=b,empty=", "selector")).toEqual({ expr: "a=b", empty: "" });
  });

  it("keeps a key named __proto__ as a key", () => {
    const selector = parseSelector("__proto__=x", "selector");
    expect(Object.keys(selector)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(selector)).toBe(Object.prototype);
  });

  it("rejects empty text, pairs without a key or '=', and repeated keys", () => {
    for (const text of ["", "app", "=web", "app=web,", ",app=web", "app=web,app=api"]) {
      expect(rejection(() => parseSelector(text, "selector")), text).toMatchObject({ code: "invalid-argument", field: "selector" });
    }
  });
});

describe("parseServiceRecord", () => {
  const record = {
    name: "web",
    network: "blue",
    selector: { app: "web" },
    ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }],
    mode: "vip",
    affinity: "none",
    vip: "10.40.255.1",
    createdAt: "2026-01-01T00:00:00.000Z",
  };
  const key = "/weft/v1/services/web";

  it("accepts a valid record, and sorts its ports by protocol then published port", () => {
    expect(parseServiceRecord(JSON.stringify(record), key)).toEqual(record);
    const ports = [
      { protocol: "udp", published: 53, target: 53, publishMode: "ingress" },
      { protocol: "tcp", published: 9000, target: 90, publishMode: "local" },
      { protocol: "tcp", published: 443, target: 443, publishMode: "ingress" },
    ];
    expect(parseServiceRecord(JSON.stringify({ ...record, ports }), key).ports.map((p) => `${p.protocol}/${p.published}`)).toEqual([
      "tcp/443",
      "tcp/9000",
      "udp/53",
    ]);
    const { vip: _vip, ...dnsrr } = record;
    expect(parseServiceRecord(JSON.stringify({ ...dnsrr, mode: "dnsrr" }), "")).toEqual({ ...dnsrr, mode: "dnsrr" });
  });

  it("rejects every bad field, naming it and the key", () => {
    const { vip: _vip, ...withoutVip } = record;
    const cases: Array<[unknown, string]> = [
      [{ ...record, name: "other" }, "name"],
      [{ ...record, name: "bad name" }, "name"],
      [{ ...record, network: undefined }, "network"],
      [{ ...record, network: 7 }, "network"],
      [{ ...record, selector: {} }, "selector"],
      [{ ...record, selector: undefined }, "selector"],
      [{ ...record, ports: {} }, "ports"],
      [{ ...record, ports: [{ ...record.ports[0], published: 70000 }] }, "ports[0].published"],
      [{ ...record, ports: [record.ports[0], record.ports[0]] }, "ports[1].published"],
      [{ ...record, mode: undefined }, "mode"],
      [{ ...record, mode: "ipvs" }, "mode"],
      [{ ...record, affinity: undefined }, "affinity"],
      [withoutVip, "vip"],
      [{ ...record, vip: "10.40.255.256" }, "vip"],
      [{ ...record, mode: "dnsrr" }, "vip"],
      [{ ...record, createdAt: "yesterday" }, "createdAt"],
    ];
    for (const [value, field] of cases) {
      const err = rejection(() => parseServiceRecord(JSON.stringify(value), key));
      expect(err.code).toBe("invalid-argument");
      expect(err.field, JSON.stringify(value)).toBe(field);
      expect(err.message).toContain(`(key ${key})`);
    }
    expect(rejection(() => parseServiceRecord("{", key)).field).toBe("value");
    expect(rejection(() => parseServiceRecord("[]", key)).field).toBe("value");
  });
});
