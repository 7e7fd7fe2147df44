// The agent's gossip node: its entry policy answers from the registry (known networks, each owner's
// slices) and the peer directory (each owner's registered VTEP), so a member can announce only its own
// containers in its own slices behind its own VTEP.
import type { Registry as MetricsRegistry } from "prom-client";
import { GossipNode, type BatchSignatureVerifier, type GossipConfig, type GossipTransport } from "../../controlplane/gossip/index.js";
import type { Registry } from "../../controlplane/registry/index.js";
import type { NodeKeyPair } from "../node-identity.js";
import type { PeerDirectory } from "./peer-directory.js";

export interface AgentGossipOptions {
  node: string;
  keyPair: NodeKeyPair;
  transport: GossipTransport;
  clusterKey?: Uint8Array;
  config?: Partial<GossipConfig>;
  verifier?: BatchSignatureVerifier;
  metrics: MetricsRegistry;
  log: (line: string) => void;
  registry: Pick<Registry, "snapshot">;
  isKnownNetwork: (network: string) => boolean;
  peerDirectory: Pick<PeerDirectory, "ownerVtep">;
  /** A restarted agent resumes its gossip versions above everything it announced before. */
  versionFloor: number;
  /** Acknowledge a push once the kernel holds what it brought (see GossipNode.confirm). */
  beforeAck: () => Promise<unknown>;
}

export function createAgentGossip(o: AgentGossipOptions): GossipNode {
  return new GossipNode({
    name: o.node,
    keyPair: o.keyPair,
    transport: o.transport,
    ...(o.clusterKey ? { clusterKey: o.clusterKey } : {}),
    ...(o.config ? { config: o.config } : {}),
    ...(o.verifier ? { verifier: o.verifier } : {}),
    metrics: o.metrics,
    log: o.log,
    policy: {
      isKnownNetwork: o.isKnownNetwork,
      ownerSlices: (owner, network) => (o.registry.snapshot().subnets.get(network) ?? []).filter((l) => l.node === owner).map((l) => l.cidr),
      ownerVtep: (owner) => o.peerDirectory.ownerVtep(owner),
    },
    versionFloor: o.versionFloor,
    beforeAck: o.beforeAck,
  });
}
