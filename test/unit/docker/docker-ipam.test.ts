// weft's Docker IPAM driver on fakes: pools are weft networks, the gateway is this host's gateway,
// addresses come from this host's slice and are reserved from RequestAddress to ReleaseAddress, the
// attach asks weft for exactly that address, and bad input answers {"Err"} naming the field.
import { describe, expect, it } from "vitest";
import { DockerDriver } from "../../../agent/docker/docker-driver.js";
import { poolNetworkName } from "../../../agent/docker/docker-ipam.js";
import { hostSlice, RESERVATION_TTL_MS } from "../../../agent/docker/ipam-addresses.js";
import { EID, NID, setup } from "./docker-fakes.js";

const LAB_POOL = { AddressSpace: "weft", Pool: "10.40.0.0/16", SubPool: "", Options: {}, V6: false };
const GATEWAY = { RequestAddressType: "com.docker.network.gateway" };

function ok(reply: { status: number; body: unknown }): Record<string, unknown> {
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as Record<string, unknown>;
}

function refused(reply: { status: number; body: unknown }, field: string): string {
  expect(reply.status).not.toBe(200);
  const err = (reply.body as { Err: string }).Err;
  expect(err).toContain(`${field}:`);
  return err;
}

/** A driver whose host (h1) holds 10.40.5.0/24 of lab, while h2 holds 10.40.0.0/24. */
function held() {
  const s = setup();
  s.agent.slices.set("lab", [{ cidr: "10.40.0.0/24", node: "h2" }, { cidr: "10.40.5.0/24", node: "h1" }]);
  return s;
}

const request = (driver: DockerDriver, body: object) => driver.handle("/IpamDriver.RequestAddress", { PoolID: "weft/lab", ...body });

describe("docker IPAM driver", () => {
  it("answers its capabilities and one address space, weft's", async () => {
    const { driver } = setup();
    expect(ok(await driver.handle("/IpamDriver.GetCapabilities", {}))).toEqual({ RequiresMACAddress: false, RequiresRequestReplay: false });
    expect(ok(await driver.handle("/IpamDriver.GetDefaultAddressSpaces", {}))).toEqual({ LocalDefaultAddressSpace: "weft", GlobalDefaultAddressSpace: "weft" });
  });

  it("a pool is the weft network of the subnet, or the one --ipam-opt names", async () => {
    const { driver } = setup();
    expect(ok(await driver.handle("/IpamDriver.RequestPool", LAB_POOL))).toEqual({ PoolID: "weft/lab", Pool: "10.40.0.0/16", Data: {} });
    expect(ok(await driver.handle("/IpamDriver.RequestPool", { AddressSpace: "weft", Options: { "weft.network": "lab" } }))).toMatchObject({ PoolID: "weft/lab", Pool: "10.40.0.0/16" });
  });

  it("creates the weft network for a subnet none has (one name on every host), and its last ReleasePool removes it", async () => {
    const { driver, agent, pools } = setup();
    const name = poolNetworkName("10.77.0.0/16");
    expect(name).toMatch(/^docker-[0-9a-f]{12}$/);
    const pool = ok(await driver.handle("/IpamDriver.RequestPool", { ...LAB_POOL, Pool: "10.77.0.0/16" }));
    expect(pool).toEqual({ PoolID: `weft/${name}`, Pool: "10.77.0.0/16", Data: {} });
    expect(agent.networks.get(name)?.subnet).toBe("10.77.0.0/16");
    // A second Docker network on the same pool: the first one's release keeps it.
    ok(await driver.handle("/IpamDriver.RequestPool", { ...LAB_POOL, Pool: "10.77.0.0/16" }));
    ok(await driver.handle("/IpamDriver.ReleasePool", { PoolID: pool["PoolID"] }));
    expect(agent.networks.has(name)).toBe(true);
    ok(await driver.handle("/IpamDriver.ReleasePool", { PoolID: pool["PoolID"] }));
    expect(agent.networks.has(name)).toBe(false);
    expect(pools.records.size).toBe(0);
    // Again (dockerd retrying): nothing to do, success.
    ok(await driver.handle("/IpamDriver.ReleasePool", { PoolID: pool["PoolID"] }));
  });

  it("never removes a weft network it did not create", async () => {
    const { driver, agent } = setup();
    ok(await driver.handle("/IpamDriver.RequestPool", LAB_POOL));
    ok(await driver.handle("/IpamDriver.ReleasePool", { PoolID: "weft/lab" }));
    expect(agent.networks.has("lab")).toBe(true);
  });

  it("the gateway is this host's gateway on its slice; containers get free addresses of the slice, never one twice", async () => {
    const { driver } = held();
    expect(ok(await request(driver, { Address: "", Options: GATEWAY }))).toEqual({ Address: "10.40.5.1/16", Data: {} });
    expect(ok(await request(driver, { Address: "10.40.5.1", Options: GATEWAY }))["Address"]).toBe("10.40.5.1/16");
    refused(await request(driver, { Address: "10.40.5.9", Options: GATEWAY }), "Address");
    const first = ok(await request(driver, { Address: "" }))["Address"];
    const second = ok(await request(driver, {}))["Address"];
    expect([first, second]).toEqual(["10.40.5.254/16", "10.40.5.253/16"]);
    // Released: handed out again.
    ok(await driver.handle("/IpamDriver.ReleaseAddress", { PoolID: "weft/lab", Address: "10.40.5.254" }));
    ok(await driver.handle("/IpamDriver.ReleaseAddress", { PoolID: "weft/lab", Address: "10.40.5.254" }));
    expect(ok(await request(driver, {}))["Address"]).toBe("10.40.5.254/16");
  });

  it("skips addresses weft's own endpoints on this host use", async () => {
    const { driver, agent } = held();
    await agent.attach({ network: "lab", netns: "x", name: "cli", ifName: "eth0", aliases: [], ip: "10.40.5.254" });
    expect(ok(await request(driver, {}))["Address"]).toBe("10.40.5.253/16");
  });

  it("takes a preferred address of this host's slice, or refuses naming Address and why", async () => {
    const { driver, pools } = held();
    expect(ok(await request(driver, { Address: "10.40.5.77" }))["Address"]).toBe("10.40.5.77/16");
    expect(refused(await request(driver, { Address: "10.40.5.77" }), "Address")).toContain("in use by another Docker endpoint");
    expect(refused(await request(driver, { Address: "10.40.0.9" }), "Address")).toContain("node h2's slice 10.40.0.0/24");
    expect(refused(await request(driver, { Address: "10.40.9.9" }), "Address")).toContain("this host hands out 10.40.5.0/24");
    expect(refused(await request(driver, { Address: "10.99.0.9" }), "Address")).toContain("outside weft network");
    refused(await request(driver, { Address: "10.40.5.1" }), "Address");
    refused(await request(driver, { Address: "10.40.5.255" }), "Address");
    refused(await request(driver, { Address: "not-an-ip" }), "Address");
    expect(Object.keys(pools.records.get("lab")!.reserved)).toEqual(["10.40.5.77"]);
  });

  it("with no slice yet, hands out a free slice (not another node's, not the service slice) and keeps to it until it holds one", async () => {
    const { driver, agent } = setup();
    agent.slices.set("lab", [{ cidr: "10.40.0.0/24", node: "h2" }]);
    expect(ok(await request(driver, { Options: GATEWAY }))["Address"]).toBe("10.40.1.1/16");
    // Another node takes a lower slice meanwhile: this host stays on the one it answered with.
    agent.slices.set("lab", [{ cidr: "10.40.0.0/24", node: "h2" }, { cidr: "10.40.2.0/24", node: "h3" }]);
    expect(ok(await request(driver, {}))["Address"]).toBe("10.40.1.254/16");
    // Once it holds a slice (the attach claimed it), that one.
    agent.slices.set("lab", [{ cidr: "10.40.0.0/24", node: "h2" }, { cidr: "10.40.7.0/24", node: "h1" }]);
    expect(ok(await request(driver, {}))["Address"]).toBe("10.40.7.254/16");
    // The last slice holds the service VIPs: never handed out (the scan starting there wraps around).
    expect(hostSlice({ network: "n", subnet: "10.0.0.0/24", hostPrefixLen: 26, node: "h1", slices: [] }, undefined, () => 0.99)).toBe("10.0.0.0/26");
    expect(hostSlice({ network: "n", subnet: "10.0.0.0/24", hostPrefixLen: 26, node: "h1", slices: [] }, "10.0.0.192/26")).toBe("10.0.0.0/26");
  });

  it.each([
    ["PoolID", "/IpamDriver.RequestAddress", { PoolID: "lab" }],
    ["PoolID", "/IpamDriver.RequestAddress", { PoolID: "weft/../etc" }],
    ["PoolID", "/IpamDriver.RequestAddress", { PoolID: 42 }],
    ["PoolID", "/IpamDriver.RequestAddress", { PoolID: "weft/absent" }],
    ["PoolID", "/IpamDriver.ReleaseAddress", { PoolID: "weft/", Address: "10.40.5.2" }],
    ["Address", "/IpamDriver.ReleaseAddress", { PoolID: "weft/lab", Address: "x" }],
    ["PoolID", "/IpamDriver.ReleasePool", { PoolID: "" }],
    ["Pool", "/IpamDriver.RequestPool", { AddressSpace: "weft" }],
    ["Pool", "/IpamDriver.RequestPool", { ...LAB_POOL, Pool: "10.40.0.1/16" }],
    ["Pool", "/IpamDriver.RequestPool", { ...LAB_POOL, Pool: "10.40.0.0/24" }],
    ["Pool", "/IpamDriver.RequestPool", { ...LAB_POOL, Pool: "10.41.0.0/16", Options: { "weft.network": "lab" } }],
    ["Options.weft.network", "/IpamDriver.RequestPool", { ...LAB_POOL, Options: { "weft.network": "absent" } }],
    ["Options.weft.network", "/IpamDriver.RequestPool", { ...LAB_POOL, Options: { "weft.network": "../x" } }],
    ["SubPool", "/IpamDriver.RequestPool", { ...LAB_POOL, SubPool: "10.40.5.0/24" }],
    ["V6", "/IpamDriver.RequestPool", { ...LAB_POOL, Pool: "fd00::/64", V6: true }],
    ["AddressSpace", "/IpamDriver.RequestPool", { ...LAB_POOL, AddressSpace: "LocalDefault" }],
    ["request", "/IpamDriver.RequestPool", []],
  ])("refuses a bad %s (%s), naming it, and keeps nothing", async (field, path, body) => {
    const { driver, agent, pools } = held();
    refused(await driver.handle(path, body), field);
    expect([...agent.networks.keys()]).toEqual(["lab"]);
    expect(pools.records.size).toBe(0);
  });

  it("the attach asks weft for the address Docker got, so docker inspect shows weft's address", async () => {
    const { driver, agent, engine, attacher, store } = held();
    ok(await driver.handle("/IpamDriver.RequestPool", LAB_POOL));
    ok(await driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, Options: {}, IPv4Data: [{ AddressSpace: "weft", Pool: "10.40.0.0/16", Gateway: "10.40.5.1/16" }] }));
    expect(store.records.get(NID)).toMatchObject({ weftNetwork: "lab", weftIpam: true });
    const address = ok(await request(driver, {}))["Address"] as string;
    ok(await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID, Interface: { Address: address, MacAddress: "" } }));
    ok(await driver.handle("/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "/var/run/docker/netns/x" }));
    engine.containers.set(EID, { name: "/web", pid: 4242 });
    await attacher.settled();
    expect(agent.attached).toEqual([{ network: "lab", netns: "/proc/4242/ns/net", name: "web", ifName: "eth0", aliases: [], ip: "10.40.5.254" }]);
    expect(agent.endpoints.get("web")?.interfaces[0]?.ip).toBe(address);
    ok(await driver.handle("/NetworkDriver.DeleteEndpoint", { NetworkID: NID, EndpointID: EID }));
    expect(store.records.get(NID)?.addresses).toEqual({});
  });

  it("on a network with Docker's own IPAM, the attach lets weft pick (Docker's address is not weft's)", async () => {
    const { driver, agent, engine, attacher } = held();
    ok(await driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, IPv4Data: [{ AddressSpace: "LocalDefault", Pool: "10.40.0.0/16" }] }));
    ok(await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID, Interface: { Address: "10.40.0.2/16" } }));
    ok(await driver.handle("/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "/var/run/docker/netns/x" }));
    engine.containers.set(EID, { name: "/web", pid: 1 });
    await attacher.settled();
    expect(agent.attached[0]).not.toHaveProperty("ip");
  });

  it("refuses a CreateEndpoint whose Interface.Address is not an IPv4 CIDR, recording nothing", async () => {
    const { driver, store } = held();
    ok(await driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, IPv4Data: [{ AddressSpace: "weft", Pool: "10.40.0.0/16" }] }));
    refused(await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID, Interface: { Address: "10.40.5.9" } }), "Interface.Address");
    expect(store.records.get(NID)?.endpoints).toEqual({});
  });

  it("an address asked for and never used nor released is freed after the TTL; one a Docker endpoint holds is kept", async () => {
    let now = 1_000_000;
    const s = setup({ now: () => now });
    s.agent.slices.set("lab", [{ cidr: "10.40.5.0/24", node: "h1" }]);
    ok(await s.driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, IPv4Data: [{ AddressSpace: "weft", Pool: "10.40.0.0/16" }] }));
    const kept = ok(await request(s.driver, {}))["Address"] as string;
    ok(await s.driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID, Interface: { Address: kept } }));
    const orphan = ok(await request(s.driver, {}))["Address"];
    expect([kept, orphan]).toEqual(["10.40.5.254/16", "10.40.5.253/16"]);
    now += RESERVATION_TTL_MS - 1;
    expect(ok(await request(s.driver, {}))["Address"]).toBe("10.40.5.252/16");
    now += 2;
    // 10.40.5.253 was never used: free again; 10.40.5.254 is the endpoint's, 10.40.5.252 is young.
    expect(ok(await request(s.driver, {}))["Address"]).toBe("10.40.5.253/16");
  });

  it("pools and reservations outlive a restart of the plugin (the same stores, a new driver)", async () => {
    const s = held();
    ok(await s.driver.handle("/IpamDriver.RequestPool", LAB_POOL));
    ok(await request(s.driver, {}));
    const restarted = new DockerDriver({ agent: s.agent, store: s.store, pools: s.pools, attacher: s.attacher });
    expect(ok(await request(restarted, {}))["Address"]).toBe("10.40.5.253/16");
    ok(await restarted.handle("/IpamDriver.ReleaseAddress", { PoolID: "weft/lab", Address: "10.40.5.254" }));
    expect(Object.keys(s.pools.records.get("lab")!.reserved)).toEqual(["10.40.5.253"]);
  });
});
