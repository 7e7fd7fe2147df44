// The inspect parsers on JSON captured from iproute2 6.1 and nftables 1.0.6, and nft's jhash checked
// against values the kernel computed (conntrack marks set by `meta mark set jhash ...`).
import { describe, expect, it } from "vitest";
import { jhash, meshSlot, parseFdb, parseLinks, parseNeighbours, parseNftChain, parseNftCounters, parseNftMap, parseRouteGet } from "../../../dataplane/inspect/index.js";

const LINKS = `[{"ifindex":2,"ifname":"weft-br42","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"qdisc":"noqueue","operstate":"UP","address":"1a:9c:d9:ec:c8:27","stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0},"tx":{"bytes":274,"packets":3,"errors":0,"dropped":0}}},{"ifindex":3,"ifname":"weft-vx42","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"master":"weft-br42","operstate":"UNKNOWN","address":"1A:9C:D9:EC:C8:27","stats64":{"rx":{"bytes":10,"packets":1,"dropped":0},"tx":{"bytes":0,"packets":0,"dropped":2}}},{"ifindex":5,"link":"eth0x","ifname":"weft0123456789a","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP","M-DOWN"],"mtu":1500,"master":"weft-br42","operstate":"LOWERLAYERDOWN","address":"9e:4a:1a:be:2a:58","stats64":{"rx":{"bytes":0,"packets":0},"tx":{"bytes":0,"packets":0}}},{"noname":true}]`;
const FDB = `[{"mac":"1a:9c:d9:ec:c8:27","flags":[],"master":"weft-br42","state":"permanent"},{"mac":"02:42:0A:28:02:02","dst":"10.9.0.2","flags":["self"],"state":"permanent"}]`;
const NEIGH = `[{"dst":"10.40.2.2","lladdr":"02:42:0a:28:02:02","state":["PERMANENT"]}]`;
const ROUTE = `[{"dst":"10.40.2.2","dev":"weft-br42","prefsrc":"10.40.1.1","flags":[],"uid":0,"cache":[]}]`;
const COUNTERS = `{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, {"counter": {"family": "inet", "name": "mesh_no_backend", "table": "weft", "handle": 3, "packets": 7, "bytes": 420}}]}`;
const MAP = `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"map": {"family": "inet", "name": "mesh_backends_web", "table": "weft", "type": "integer", "handle": 6, "map": "ipv4_addr", "elem": [[0, "10.40.1.5"], [1, "10.40.2.5"], [2, "10.40.1.5"]]}}]}`;
const CHAIN = `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"chain": {"family": "inet", "table": "weft", "name": "forward", "handle": 1, "type": "filter", "hook": "forward", "prio": -10, "policy": "accept"}}, {"rule": {"family": "inet", "table": "weft", "chain": "forward", "handle": 7, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@overlay_bridges"}}, {"match": {"op": "!=", "left": {"concat": [{"meta": {"key": "iifname"}}, {"meta": {"key": "oifname"}}]}, "right": "@same_bridge"}}, {"drop": null}]}}]}`;

describe("iproute2 JSON", () => {
  it("reads links with state, MTU, master and 64-bit counters", () => {
    const links = parseLinks(LINKS);
    expect(links.map((l) => l.name)).toEqual(["weft-br42", "weft-vx42", "weft0123456789a"]);
    expect(links[0]).toMatchObject({ up: true, mtu: 1450, counters: { txBytes: 274, txPackets: 3 } });
    expect(links[1]).toMatchObject({ up: true, master: "weft-br42", mac: "1a:9c:d9:ec:c8:27", counters: { rxPackets: 1, txDropped: 2 } });
    expect(links[2]!.up).toBe(false);
  });
  it("keeps only FDB entries with a remote VTEP, MACs lower-cased", () => {
    expect(parseFdb(FDB, "weft-vx42")).toEqual([{ device: "weft-vx42", mac: "02:42:0a:28:02:02", dst: "10.9.0.2", state: "permanent" }]);
  });
  it("reads neighbours and routes", () => {
    expect(parseNeighbours(NEIGH, "weft-vx42")).toEqual([{ device: "weft-vx42", ip: "10.40.2.2", mac: "02:42:0a:28:02:02", state: ["PERMANENT"] }]);
    expect(parseRouteGet(ROUTE)).toEqual({ dst: "10.40.2.2", dev: "weft-br42", prefsrc: "10.40.1.1" });
    expect(parseRouteGet("")).toBeUndefined();
  });
  it("skips what is not the expected shape", () => {
    expect(parseLinks(`{"ifname":"x"}`)).toEqual([]);
    expect(parseFdb(`[1, "a", null]`, "d")).toEqual([]);
    expect(() => parseLinks("not json")).toThrow();
  });
});

describe("nft JSON", () => {
  it("reads counters, map elements and rules of weft's table", () => {
    expect(parseNftCounters(COUNTERS)).toEqual([{ name: "mesh_no_backend", packets: 7, bytes: 420 }]);
    expect(parseNftMap(MAP)).toEqual({ name: "mesh_backends_web", elements: [["0", "10.40.1.5"], ["1", "10.40.2.5"], ["2", "10.40.1.5"]] });
    expect(parseNftChain(CHAIN)).toEqual([{ chain: "forward", handle: 7, text: "iifname @overlay_bridges iifname . oifname != @same_bridge drop" }]);
  });
});

describe("nft's jhash", () => {
  it("is the kernel's: values the kernel computed for the same keys", () => {
    // meta mark set jhash ip saddr . udp sport mod 1021 seed 0x9e3779b1, from 10.77.0.1 port 40123: mark 974.
    expect(meshSlot("10.77.0.1", 40123, 0x9e3779b1, 1021)).toBe(974);
    // meta mark set jhash ip saddr mod 4093 seed 0x1234abcd, from 10.77.0.1: mark 2579.
    expect(meshSlot("10.77.0.1", undefined, 0x1234abcd, 4093)).toBe(2579);
  });
  it("is lookup3 with the kernel's initial value", () => {
    expect(jhash(new Uint8Array(0), 0)).toBe(0xdeadbeef);
    expect(jhash(new Uint8Array(13).fill(1), 7)).not.toBe(jhash(new Uint8Array(13).fill(1), 8));
  });
});
