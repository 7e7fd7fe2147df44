// What lives in etcd (JSON), and its validation on read. Anything read back from etcd may have been
// written by another version or by hand, so every field is checked and errors name the key and field.
import { isMac, isMulticastMac, parseIPv4, parseIPv4Cidr, parseName } from "../../proto/values/index.js";
import { isSliceOf } from "../ipam/subnet-slice.js";
import { validateLabels, validateVni, MAX_HOST_PREFIX, MIN_MTU, MAX_MTU } from "../network-spec.js";
import { cidrFromKeySegment } from "./keys.js";
import { fail, lastSegments, objectOf, rethrowAs, str, timestamp } from "./record-fields.js";

export interface NodeRecord {
  name: string;
  underlayIP: string;
  vtepMAC: string;
  gossipAddr: string;
  /** base64 ed25519 public key, 32 bytes */
  publicKey: string;
  agentVersion: string;
}

export interface NetworkRecord {
  name: string;
  vni: number;
  subnet: string;
  hostPrefixLen: number;
  mtu?: number;
  /** No egress and no forwarding off the network; absent in records written before it existed (false). */
  internal: boolean;
  mode: "overlay";
  attachable: boolean;
  labels: Record<string, string>;
  createdAt: string;
}

export interface SubnetLease {
  network: string;
  cidr: string;
  node: string;
  since: string;
}

/** The JSON stored under subnets/<network>/<cidr>: network and cidr are in the key. */
export interface SubnetLeaseValue {
  node: string;
  since: string;
}

/** `key` may be "" when validating a record that is not from etcd. */
export function parseNodeRecord(key: string, value: unknown): NodeRecord {
  const obj = objectOf(key, value);
  const name = str(key, obj, "name");
  rethrowAs(key, "name", () => parseName(name, "name"));
  const keyName = lastSegments(key, 1)?.[0];
  if (keyName !== undefined && keyName !== name) fail(key, "name", `${JSON.stringify(name)} does not match the key`);
  const underlayIP = str(key, obj, "underlayIP");
  rethrowAs(key, "underlayIP", () => parseIPv4(underlayIP, "underlayIP"));
  const vtepMAC = str(key, obj, "vtepMAC");
  if (!isMac(vtepMAC)) fail(key, "vtepMAC", `${JSON.stringify(vtepMAC)} is not a lower-case MAC address like 02:42:0a:00:00:01`);
  if (isMulticastMac(vtepMAC)) fail(key, "vtepMAC", `${JSON.stringify(vtepMAC)} is a multicast address`);
  const gossipAddr = str(key, obj, "gossipAddr");
  const hostPort = /^(.+):([0-9]{1,5})$/.exec(gossipAddr);
  if (!hostPort || Number(hostPort[2]) < 1 || Number(hostPort[2]) > 65535) {
    fail(key, "gossipAddr", `${JSON.stringify(gossipAddr)} must be host:port`);
  }
  const publicKey = str(key, obj, "publicKey");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(publicKey) || Buffer.from(publicKey, "base64").length !== 32) {
    fail(key, "publicKey", "must be a base64 ed25519 public key of 32 bytes");
  }
  const agentVersion = str(key, obj, "agentVersion");
  return { name, underlayIP, vtepMAC, gossipAddr, publicKey, agentVersion };
}

export function parseNetworkRecord(key: string, value: unknown): NetworkRecord {
  const obj = objectOf(key, value);
  const name = str(key, obj, "name");
  rethrowAs(key, "name", () => parseName(name, "name"));
  const keyName = lastSegments(key, 1)?.[0];
  if (keyName !== undefined && keyName !== name) fail(key, "name", `${JSON.stringify(name)} does not match the key`);
  rethrowAs(key, "vni", () => validateVni(obj.vni));
  const vni = obj.vni as number;
  const subnet = str(key, obj, "subnet");
  let prefix = 0;
  rethrowAs(key, "subnet", () => (prefix = parseIPv4Cidr(subnet, "subnet").prefix));
  const hostPrefixLen = obj.hostPrefixLen;
  if (typeof hostPrefixLen !== "number" || !Number.isInteger(hostPrefixLen) || hostPrefixLen <= prefix || hostPrefixLen > MAX_HOST_PREFIX) {
    fail(key, "hostPrefixLen", `${JSON.stringify(hostPrefixLen)} must be an integer longer than /${prefix} and at most ${MAX_HOST_PREFIX}`);
  }
  const record: NetworkRecord = {
    name,
    vni,
    subnet,
    hostPrefixLen,
    internal: false,
    mode: "overlay",
    attachable: true,
    labels: {},
    createdAt: "",
  };
  if (obj.internal !== undefined) {
    if (typeof obj.internal !== "boolean") fail(key, "internal", "must be a boolean");
    record.internal = obj.internal;
  }
  if (obj.mtu !== undefined) {
    const mtu = obj.mtu;
    if (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
      fail(key, "mtu", `${JSON.stringify(mtu)} must be an integer from ${MIN_MTU} to ${MAX_MTU}`);
    }
    record.mtu = mtu;
  }
  if (obj.mode !== "overlay") fail(key, "mode", `${JSON.stringify(obj.mode)} must be "overlay"`);
  if (typeof obj.attachable !== "boolean") fail(key, "attachable", "must be a boolean");
  record.attachable = obj.attachable;
  rethrowAs(key, "labels", () => (record.labels = validateLabels(obj.labels)));
  record.createdAt = timestamp(key, obj, "createdAt");
  return record;
}

/**
 * Parses the value under subnets/<network>/<cidr with "/" as "_">. Network and cidr come from the key
 * (or, when `key` is "", from the value itself).
 */
export function parseSubnetLease(key: string, value: unknown): SubnetLease {
  const obj = objectOf(key, value);
  let network: string;
  let cidr: string;
  const segments = lastSegments(key, 2);
  if (segments) {
    network = segments[0]!;
    cidr = cidrFromKeySegment(segments[1]!);
    if (obj.network !== undefined && obj.network !== network) fail(key, "network", "does not match the key");
    if (obj.cidr !== undefined && obj.cidr !== cidr) fail(key, "cidr", "does not match the key");
  } else {
    network = str(key, obj, "network");
    cidr = str(key, obj, "cidr");
  }
  rethrowAs(key, "network", () => parseName(network, "network"));
  rethrowAs(key, "cidr", () => parseIPv4Cidr(cidr, "cidr"));
  const node = str(key, obj, "node");
  rethrowAs(key, "node", () => parseName(node, "node"));
  const since = timestamp(key, obj, "since");
  return { network, cidr, node, since };
}

/** True when the lease is a proper slice of the network (right size, inside its subnet). */
export function leaseFitsNetwork(lease: SubnetLease, network: NetworkRecord): boolean {
  return lease.network === network.name && isSliceOf(network.subnet, network.hostPrefixLen, lease.cidr);
}
