// Endpoint lifecycle on fakes: an endpoint whose namespace changed identity (the dataplane's
// "namespace-changed") is withdrawn, not re-created; one whose namespace is gone likewise; others stay.
import { describe, expect, it } from "vitest";
import { EndpointLifecycle } from "../../../agent/endpoints/endpoint-lifecycle.js";
import type { NetworkNamespaceId as NetnsId, ReconcileReport } from "../../../dataplane/index.js";
import { emptyState, type AgentState, type LocalEndpoint } from "../../../agent/state-store.js";
import type { GossipNode } from "../../../controlplane/gossip/index.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import { WeftError } from "../../../proto/values/index.js";

const endpoint = (id: string, netns: string, ip: string): LocalEndpoint => ({
  id, name: `c-${id}`, network: "blue", netns, ifName: "eth0", ip, mac: "02:42:0a:28:01:02", createdAt: "2026-01-01T00:00:00Z", netnsId: { dev: 9999, ino: 1 },
});

function report(errors: ReconcileReport["errors"]): ReconcileReport {
  return { linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0, durationMs: 0, errors, skipped: [], orphanVeths: [] };
}

describe("EndpointLifecycle.withdrawBroken", () => {
  it("withdraws endpoints whose namespace changed or is gone, and keeps the others", async () => {
    const state: AgentState = { ...emptyState("h1"), endpoints: [endpoint("a1", "c1", "10.40.1.2"), endpoint("b2", "c2", "10.40.1.3"), endpoint("c3", "c3", "10.40.1.4")] };
    const withdrawn: string[] = [];
    let reconciles = 0;
    let persisted = 0;
    const existing = new Set(["c1", "c3"]);
    const lifecycle = new EndpointLifecycle({
      node: "h1",
      vtep: "10.251.0.1",
      egressSubnet: "172.18.0.0/16",
      viewContext: () => ({ node: "h1", vtep: "10.251.0.1", underlayMtu: 1500, egressPrefix: 16, network: () => undefined, slice: () => undefined }),
      registry: new MemoryRegistry({ store: new MemoryRegistryStore() }),
      gossip: () => ({ withdraw: (_network: string, id: string) => withdrawn.push(id), entries: () => [] }) as unknown as GossipNode,
      state: () => state,
      persist: async () => void (persisted += 1),
      requireNetwork: () => {
        throw new Error("not used");
      },
      reconcile: async () => {
        reconciles += 1;
        return report([]);
      },
      inspectNetns: (path: string): NetnsId => {
        if (!existing.has(path.replace("/run/netns/", ""))) throw new WeftError("not-found", `netns: ${path} does not exist`, { field: "netns" });
        return { dev: 9999, ino: 2 };
      },
      hostNamespaces: () => [],
      madeVeth: () => undefined,
      log: () => undefined,
    });
    await lifecycle.withdrawBroken(
      report([
        { object: "netns c1", endpointId: "a1", message: "namespace identity changed", code: "namespace-changed" },
        { object: "netns c2", endpointId: "b2", message: "Cannot open network namespace" },
        { object: "link weftc3", endpointId: "c3", message: "File exists" },
      ]),
    );
    expect(withdrawn.sort()).toEqual(["a1", "b2"]);
    expect(state.endpoints.map((e) => e.id)).toEqual(["c3"]);
    expect(persisted).toBe(1);
    expect(reconciles).toBe(1);
  });
});
