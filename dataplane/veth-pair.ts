// Veth pairs between this namespace and a container's: made in one message, then finished from a
// socket opened inside the container's namespace. The namespace is opened once and checked (see
// openEndpointNamespace); that same file descriptor is the one the container end is made in and the
// one entered, so what was checked is what is used.
import { closeSync } from "node:fs";
import { encodeAddAddress } from "./address-message.js";
import type { ContainerEnd } from "./kernel.js";
import { ENODEV, KernelError } from "./kernel-error.js";
import { encodeCreateVeth, encodeSetBridgePort, encodeSetLinkMtu, encodeSetLinkUp } from "./link-message.js";
import { inNetworkNamespace, netnsPath, openEndpointNamespace } from "./network-namespace.js";
import { deleteLink, request } from "./netlink-request.js";
import { NetlinkSocket, interfaceIndex } from "./netlink-socket.js";
import { encodeDefaultRoute } from "./route-message.js";

export interface VethPair {
  hostIfName: string;
  /** The bridge the host end joins. */
  master: string;
  mtu: number;
  container: ContainerEnd;
  mac: string;
  ip: string;
  prefixLen: number;
  /** An egress leg: the host end is an isolated port, up only once it is isolated. */
  isolated?: boolean;
  /** The container's default route goes via this address on its end. */
  defaultRoute?: string;
}

/**
 * Creates both ends in one message (host end enslaved, container end named with its MAC in its
 * namespace), then adds the address, brings the container end and lo up and adds the default route
 * from inside the container's namespace. On any failure it deletes the host end, which takes the
 * container end with it.
 */
export function createVethPair(socket: NetlinkSocket, pair: VethPair): void {
  const { container } = pair;
  const masterIfindex = interfaceIndex(pair.master);
  if (masterIfindex === undefined) throw new KernelError(`create veth ${pair.hostIfName}: no bridge named ${pair.master}`, { errno: ENODEV });
  const where = netnsPath(container.netns);
  const netns = openEndpointNamespace(container.netns, container.netnsId);
  try {
    request(socket, `create veth ${pair.hostIfName} peer ${container.ifName} in ${where}`, (seq) =>
      encodeCreateVeth(
        { hostIfName: pair.hostIfName, mtu: pair.mtu, masterIfindex, peerIfName: container.ifName, peerMac: pair.mac, peerNetnsFd: netns.fd, up: pair.isolated !== true },
        seq,
      ),
    );
    try {
      if (pair.isolated === true) {
        request(socket, `isolate ${pair.hostIfName} on ${pair.master}`, (seq) => encodeSetBridgePort(pair.hostIfName, { isolated: true, up: true }, seq));
      }
      insideContainer(netns.fd, container, where, (inside, ifindex) => {
        request(inside, `address ${pair.ip}/${pair.prefixLen} on ${container.ifName} in ${where}`, (seq) => encodeAddAddress(ifindex, pair.ip, pair.prefixLen, seq));
        request(inside, `set ${container.ifName} up in ${where}`, (seq) => encodeSetLinkUp(container.ifName, seq));
        request(inside, `set lo up in ${where}`, (seq) => encodeSetLinkUp("lo", seq));
        const gateway = pair.defaultRoute;
        if (gateway !== undefined) {
          request(inside, `default route via ${gateway} dev ${container.ifName} in ${where}`, (seq) => encodeDefaultRoute(gateway, ifindex, seq));
        }
      });
    } catch (error) {
      try {
        deleteLink(socket, pair.hostIfName);
      } catch {
        // the original error says more; the next reconcile sees the leftover veth and removes it
      }
      throw error;
    }
  } finally {
    closeSync(netns.fd);
  }
}

/** Sets the MTU of both ends: the host end here, the container end in the namespace recorded at attach. */
export function setVethMtu(socket: NetlinkSocket, hostIfName: string, container: ContainerEnd, mtu: number): void {
  const where = netnsPath(container.netns);
  const netns = openEndpointNamespace(container.netns, container.netnsId);
  try {
    request(socket, `set ${hostIfName} mtu ${mtu}`, (seq) => encodeSetLinkMtu(hostIfName, mtu, seq));
    insideContainer(netns.fd, container, where, (inside) => {
      request(inside, `set ${container.ifName} mtu ${mtu} in ${where}`, (seq) => encodeSetLinkMtu(container.ifName, mtu, seq));
    });
  } finally {
    closeSync(netns.fd);
  }
}

/** Runs `work` with a netlink socket opened inside the namespace at `fd` and the container end's ifindex there. */
function insideContainer(fd: number, container: ContainerEnd, where: string, work: (socket: NetlinkSocket, ifindex: number) => void): void {
  const inside = inNetworkNamespace(fd, () => {
    const opened = new NetlinkSocket({ receiveBufferSize: 64 << 10 });
    return { socket: opened, ifindex: interfaceIndex(container.ifName) };
  });
  try {
    if (inside.ifindex === undefined) throw new KernelError(`${container.ifName} vanished from ${where}`, { errno: ENODEV });
    work(inside.socket, inside.ifindex);
  } finally {
    inside.socket.close();
  }
}
