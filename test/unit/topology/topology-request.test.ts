import { describe, expect, it } from "vitest";
import { WeftError } from "../../../proto/values/index.js";
import { isAddressHost, parseTraceQuery } from "../../../agent/topology/topology-request.js";

const parse = (query: string) => parseTraceQuery(new URLSearchParams(query));

function fieldOf(query: string): string | undefined {
  try {
    parse(query);
  } catch (err) {
    expect(err).toBeInstanceOf(WeftError);
    expect((err as WeftError).code).toBe("invalid-argument");
    return (err as WeftError).field;
  }
  return undefined;
}

describe("trace query", () => {
  it("reads from, to, port and proto", () => {
    expect(parse("from=c1&to=web&port=8080&proto=tcp")).toEqual({ from: "c1", to: "web", port: 8080, proto: "tcp" });
    expect(parse("from=10.40.0.2&to=10.251.0.2%3A8080")).toEqual({ from: "10.40.0.2", to: "10.251.0.2:8080" });
  });

  it("names the parameter that is wrong", () => {
    expect(fieldOf("to=c2")).toBe("from");
    expect(fieldOf("from=c1")).toBe("to");
    expect(fieldOf("from=&to=c2")).toBe("from");
    expect(fieldOf("from=c1&to=c2&port=0")).toBe("port");
    expect(fieldOf("from=c1&to=c2&port=65536")).toBe("port");
    expect(fieldOf("from=c1&to=c2&port=8o")).toBe("port");
    expect(fieldOf("from=c1&to=c2&proto=sctp")).toBe("proto");
    expect(fieldOf("from=c1&to=c2&proto=icmp&port=1")).toBe("port");
    expect(fieldOf("from=c1&to=c2&colour=red")).toBe("colour");
    expect(fieldOf("from=c1&from=c3&to=c2")).toBe("from");
    expect(fieldOf(`from=${"a".repeat(254)}&to=c2`)).toBe("from");
    expect(fieldOf("from=c%0a1&to=c2")).toBe("from");
    expect(fieldOf("from=c1&to=c%202")).toBe("to");
  });

  it("sends no probes: the page is read-only", () => {
    expect(fieldOf("from=c1&to=c2&probe=1")).toBe("probe");
  });
});

describe("Host header", () => {
  it("accepts addresses and localhost, with or without a port", () => {
    for (const host of ["127.0.0.1", "127.0.0.1:9480", "10.251.0.1:9480", "localhost:9480", "LOCALHOST", "[::1]:9480", "[::1]"]) expect(isAddressHost(host)).toBe(true);
  });

  it("refuses DNS names (rebinding), a missing header and junk", () => {
    for (const host of [undefined, "", "evil.example:9480", "127.0.0.1.nip.io", "localhost.evil.test", "127.0.0.1:80:80", "[::1"]) expect(isAddressHost(host)).toBe(false);
  });
});
