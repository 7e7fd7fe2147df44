// The options of `weft lab up`, checked before anything is built.
import { LabError } from "./lab-error.js";
import { DEFAULT_LAB_PREFIX, MAX_LAB_HOSTS, validateLabPrefix } from "./lab-names.js";

export interface LabNetworkOptions {
  name: string;
  subnet: string;
  vni?: number;
}

export interface LabOptions {
  hosts: number;
  containers: number;
  /** Default "weft"; tests pass "weft<rand4>". */
  prefix?: string;
  /** Default weft-lab, 10.40.0.0/16, VNI 42. */
  network?: LabNetworkOptions;
  log?: (line: string) => void;
  /** Seal gossip with a generated cluster key. */
  clusterKey?: boolean;
  /** MTU of the underlay (bridge and every veth on it); default 1500. */
  underlayMtu?: number;
  /** The service `web` with its backends (lab-web.ts); default: when there are containers. */
  web?: boolean;
  /** Prometheus scraping every agent (lab-prometheus.ts); default false. */
  monitoring?: boolean;
  /** h1's topology page reachable from this machine's loopback (lab-topology.ts); default false. */
  topology?: boolean;
}

export interface ResolvedLabOptions {
  hosts: number;
  containers: number;
  prefix: string;
  network: Required<LabNetworkOptions>;
  log: (line: string) => void;
  clusterKey: boolean;
  underlayMtu: number;
  web: boolean;
  monitoring: boolean;
  topology: boolean;
}

/** The lab's second network: one container on each of the first two hosts, isolated from the first. */
export const ISOLATED_LAB_NETWORK: Required<LabNetworkOptions> = { name: "weft-iso", subnet: "10.41.0.0/16", vni: 43 };
export const MIN_LAB_UNDERLAY_MTU = 1280;
export const MAX_LAB_UNDERLAY_MTU = 9000;

export const DEFAULT_LAB_NETWORK: Required<LabNetworkOptions> = { name: "weft-lab", subnet: "10.40.0.0/16", vni: 42 };
export const MAX_LAB_CONTAINERS_PER_HOST = 50;

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function resolveLabOptions(options: LabOptions): ResolvedLabOptions {
  const hosts = integerIn("hosts", options.hosts, 1, MAX_LAB_HOSTS);
  const containers = integerIn("containers", options.containers, 0, MAX_LAB_CONTAINERS_PER_HOST);
  const prefix = validateLabPrefix(options.prefix ?? DEFAULT_LAB_PREFIX);
  const network = { ...DEFAULT_LAB_NETWORK, ...options.network };
  if (!NETWORK_NAME.test(network.name)) {
    throw new LabError("network.name", `must be 1-63 characters of [a-zA-Z0-9_.-], got ${JSON.stringify(network.name)}`);
  }
  const cidr = IPV4_CIDR.exec(network.subnet);
  if (!cidr || cidr.slice(1, 5).some((octet) => Number(octet) > 255) || Number(cidr[5]) > 24) {
    throw new LabError("network.subnet", `must be an IPv4 CIDR with a prefix of at most /24, got ${JSON.stringify(network.subnet)}`);
  }
  integerIn("network.vni", network.vni, 1, 16_777_215);
  const underlayMtu = integerIn("underlayMtu", options.underlayMtu ?? 1500, MIN_LAB_UNDERLAY_MTU, MAX_LAB_UNDERLAY_MTU);
  if (network.name === ISOLATED_LAB_NETWORK.name || network.vni === ISOLATED_LAB_NETWORK.vni) {
    throw new LabError("network", `name ${ISOLATED_LAB_NETWORK.name} and VNI ${ISOLATED_LAB_NETWORK.vni} belong to the lab's second network`);
  }
  return { hosts, containers, prefix, network, log: options.log ?? (() => {}), clusterKey: options.clusterKey ?? false, underlayMtu, web: options.web ?? containers > 0, monitoring: options.monitoring ?? false, topology: options.topology ?? false };
}

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new LabError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}
