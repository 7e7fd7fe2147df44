// The Docker driver's calls on fakes: what weft is asked, what Docker is answered, what is recorded,
// and that a bad request names its field and leaves nothing behind.
import { describe, expect, it } from "vitest";
import { createdNetworkName } from "../../../agent/docker/docker-driver.js";
import { WeftError } from "../../../proto/values/index.js";
import { EID, NID, setup } from "./docker-fakes.js";

const createLab = { NetworkID: NID, Options: { "com.docker.network.generic": { "weft.network": "lab" } }, IPv4Data: [{ AddressSpace: "LocalDefault", Pool: "10.40.0.0/16", Gateway: "10.40.0.1/16" }], IPv6Data: [] };

describe("docker driver", () => {
  it("activates as a network driver, local scope with global connectivity, 404 for unknown calls", async () => {
    const { driver } = setup();
    expect(await driver.handle("/Plugin.Activate", {})).toEqual({ status: 200, body: { Implements: ["NetworkDriver", "IpamDriver"] } });
    expect(await driver.handle("/NetworkDriver.GetCapabilities", {})).toEqual({ status: 200, body: { Scope: "local", ConnectivityScope: "global" } });
    const unknown = await driver.handle("/NetworkDriver.AllocateNetwork", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toHaveProperty("Err");
    expect((await driver.handle("/NetworkDriver.DiscoverNew", { DiscoveryType: 1, DiscoveryData: {} })).status).toBe(200);
  });

  it("maps a Docker network onto the weft network named by -o weft.network, and deleting it keeps the weft network", async () => {
    const { driver, store, agent } = setup();
    expect(await driver.handle("/NetworkDriver.CreateNetwork", createLab)).toEqual({ status: 200, body: {} });
    expect(store.records.get(NID)).toEqual({ networkId: NID, weftNetwork: "lab", created: false, endpoints: {} });
    expect(await driver.handle("/NetworkDriver.DeleteNetwork", { NetworkID: NID })).toEqual({ status: 200, body: {} });
    expect(store.records.size).toBe(0);
    expect(agent.networks.has("lab")).toBe(true);
  });

  it("creates a weft network for a subnet alone, and removes it with the Docker network", async () => {
    const { driver, store, agent } = setup();
    const reply = await driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, Options: {}, IPv4Data: [{ Pool: "10.77.0.0/16" }] });
    expect(reply.status).toBe(200);
    expect(agent.networks.get(createdNetworkName(NID))?.subnet).toBe("10.77.0.0/16");
    expect(store.records.get(NID)?.created).toBe(true);
    await driver.handle("/NetworkDriver.DeleteNetwork", { NetworkID: NID });
    expect(agent.networks.has(createdNetworkName(NID))).toBe(false);
    // Again (dockerd retrying): nothing left to do, still success.
    expect((await driver.handle("/NetworkDriver.DeleteNetwork", { NetworkID: NID })).status).toBe(200);
  });

  it("a subnet alone that is a weft network's subnet maps onto it (another host's Docker created it), and keeps it", async () => {
    const { driver, store, agent } = setup();
    await driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, IPv4Data: [{ Pool: "10.40.0.0/16" }] });
    expect(store.records.get(NID)).toMatchObject({ weftNetwork: "lab", created: false });
    await driver.handle("/NetworkDriver.DeleteNetwork", { NetworkID: NID });
    expect(agent.networks.has("lab")).toBe(true);
  });

  it("deleting a network other hosts still use keeps the weft network and succeeds", async () => {
    const { driver, store, agent } = setup();
    await driver.handle("/NetworkDriver.CreateNetwork", { NetworkID: NID, IPv4Data: [{ Pool: "10.77.0.0/16" }] });
    agent.removeNetwork = () => Promise.reject(new WeftError("failed-precondition", "name: network is in use: live node(s) h2 hold slices of it", { field: "name" }));
    expect((await driver.handle("/NetworkDriver.DeleteNetwork", { NetworkID: NID })).status).toBe(200);
    expect(store.records.size).toBe(0);
  });

  it.each([
    ["NetworkID", { ...createLab, NetworkID: "abc" }],
    ["Options.weft.network", { ...createLab, Options: { "com.docker.network.generic": { "weft.network": "no such name!" } } }],
    ["Options.weft.colour", { ...createLab, Options: { "com.docker.network.generic": { "weft.network": "lab", "weft.colour": "red" } } }],
    ["Options.weft.network", { ...createLab, Options: { "com.docker.network.generic": { "weft.network": "absent" } } }],
    ["IPv4Data[0].Pool", { ...createLab, IPv4Data: [{ Pool: "10.41.0.0/16" }] }],
    ["IPv4Data[0].Pool", { NetworkID: NID, IPv4Data: [{ Pool: "10.77.0.1/16" }] }],
    ["IPv6Data", { ...createLab, IPv6Data: [{ Pool: "fd00::/64" }] }],
    ["IPv4Data", { NetworkID: NID, Options: {} }],
    ["subnet", { NetworkID: NID, IPv4Data: [{ Pool: "10.40.0.0/24" }] }],
  ])("refuses a CreateNetwork with a bad %s, naming it, and keeps nothing", async (field, body) => {
    const { driver, store, agent } = setup();
    const reply = await driver.handle("/NetworkDriver.CreateNetwork", body);
    expect(reply.status).not.toBe(200);
    expect((reply.body as { Err: string }).Err).toContain(`${field}:`);
    expect(store.records.size).toBe(0);
    expect([...agent.networks.keys()]).toEqual(["lab"]);
  });

  it("attaches a weft endpoint in the container's namespace once dockerd reports its pid, named after the container", async () => {
    const { driver, store, agent, engine, attacher, resolvConfs } = setup();
    await driver.handle("/NetworkDriver.CreateNetwork", createLab);
    expect(await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID, Interface: { Address: "10.40.0.2/16" }, Options: {} })).toEqual({ status: 200, body: {} });
    const join = await driver.handle("/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "/var/run/docker/netns/0123456789ab", Options: {} });
    expect(join).toEqual({ status: 200, body: { DisableGatewayService: true } });
    // Join returned before the container exists; the attach follows when dockerd has started it.
    expect(agent.attached).toEqual([]);
    engine.containers.set(EID, { name: "/web", pid: 4242, resolvConfPath: "/var/lib/docker/containers/x/resolv.conf" });
    await attacher.settled();
    // Its resolver: weft's DNS on its gateway.
    expect(resolvConfs).toEqual([["/var/lib/docker/containers/x/resolv.conf", expect.stringContaining("nameserver 10.40.1.1\nsearch lab\n")]]);
    expect(agent.attached).toEqual([{ network: "lab", netns: "/proc/4242/ns/net", name: "web", ifName: "eth0", aliases: [] }]);
    expect(store.records.get(NID)?.endpoints[EID]).toBe("web");
    const info = await driver.handle("/NetworkDriver.EndpointOperInfo", { NetworkID: NID, EndpointID: EID });
    expect(info.body).toEqual({ Value: { "weft.endpoint": "id-web", "weft.eth0": "10.40.1.2/16" } });

    expect((await driver.handle("/NetworkDriver.Leave", { NetworkID: NID, EndpointID: EID })).status).toBe(200);
    expect(agent.detached).toEqual(["web"]);
    expect((await driver.handle("/NetworkDriver.DeleteEndpoint", { NetworkID: NID, EndpointID: EID })).status).toBe(200);
    expect(store.records.get(NID)?.endpoints).toEqual({});
    // DeleteEndpoint again, and for an endpoint never seen: success.
    expect((await driver.handle("/NetworkDriver.DeleteEndpoint", { NetworkID: NID, EndpointID: EID })).status).toBe(200);
  });

  it("dockerd failing to answer while it starts the container is retried, then the attach goes on", async () => {
    const { driver, agent, engine, attacher } = setup();
    await driver.handle("/NetworkDriver.CreateNetwork", createLab);
    await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID });
    let failures = 2;
    const real = engine.containerFor.bind(engine);
    engine.containerFor = (n, e) => (failures-- > 0 ? Promise.reject(new WeftError("unavailable", "dockerd: HTTP 500")) : real(n, e));
    engine.containers.set(EID, { name: "/web", pid: 9 });
    await driver.handle("/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "/var/run/docker/netns/x" });
    await attacher.settled();
    expect(agent.attached.map((r) => r.netns)).toEqual(["/proc/9/ns/net"]);
  });

  it("falls back to the endpoint id for a container name weft already has", async () => {
    const { driver, agent, engine, attacher } = setup();
    await agent.attach({ network: "lab", netns: "other", name: "web", ifName: "eth0", aliases: [] });
    await driver.handle("/NetworkDriver.CreateNetwork", createLab);
    await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID });
    engine.containers.set(EID, { name: "/web", pid: 7 });
    await driver.handle("/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "/var/run/docker/netns/x" });
    await attacher.settled();
    expect(agent.attached.at(-1)?.name).toBe(`docker-${EID.slice(0, 12)}`);
  });

  it("a Leave before the container started stops the attach: nothing is attached", async () => {
    const { driver, agent, attacher } = setup();
    await driver.handle("/NetworkDriver.CreateNetwork", createLab);
    await driver.handle("/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: EID });
    await driver.handle("/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "/var/run/docker/netns/x" });
    await driver.handle("/NetworkDriver.Leave", { NetworkID: NID, EndpointID: EID });
    await attacher.settled();
    expect(agent.attached).toEqual([]);
    expect(agent.endpoints.size).toBe(0);
  });

  it.each([
    ["/NetworkDriver.CreateEndpoint", { NetworkID: "c".repeat(64), EndpointID: EID }, "NetworkID"],
    ["/NetworkDriver.CreateEndpoint", { NetworkID: NID, EndpointID: "../x" }, "EndpointID"],
    ["/NetworkDriver.Join", { NetworkID: NID, EndpointID: EID, SandboxKey: "relative" }, "SandboxKey"],
    ["/NetworkDriver.Join", { NetworkID: NID, EndpointID: "d".repeat(64), SandboxKey: "/var/run/docker/netns/x" }, "EndpointID"],
    ["/NetworkDriver.CreateNetwork", [], "request"],
  ])("%s with a bad %s answers Docker's error JSON naming it, and records nothing", async (path, body, field) => {
    const { driver, store, agent } = setup();
    await driver.handle("/NetworkDriver.CreateNetwork", createLab);
    const before = JSON.stringify([...store.records.values()]);
    const reply = await driver.handle(path, body);
    expect(reply.status).not.toBe(200);
    expect((reply.body as { Err: string }).Err).toContain(`${field}:`);
    expect(JSON.stringify([...store.records.values()])).toBe(before);
    expect(agent.attached).toEqual([]);
  });
});
