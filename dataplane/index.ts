// The dataplane: makes this host's kernel match a DesiredState. Never talks to etcd or peers.
// Test doubles (fake-kernel.ts) are not exported here: tests import them by path.
export type {
  DesiredState,
  DesiredUnderlay,
  DesiredOverlay,
  DesiredNetwork,
  DesiredLocalEndpoint,
  DesiredRemoteEndpoint,
  DesiredEgress,
  DesiredEgressBridge,
  DesiredEgressLeg,
  DesiredFirewall,
  DesiredMesh,
  DesiredService,
  MeshProtocol,
} from "./desired-state.js";
export { MAX_VNI } from "./overlay/overlay-state.js";
export type { ReconcileError, ReconcileReport, ReconcileOptions, SkippedEntry } from "./reconcile-report.js";
export type {
  Kernel,
  KernelPlan,
  LinkAction,
  ObservedState,
  ObservedLink,
  ObservedAddress,
  ContainerEnd,
  WeftSysctl,
  VxlanAttributes,
  FdbEntry,
  NeighbourEntry,
  ApplyResult,
} from "./kernel.js";
export { emptyPlan, isEmptyPlan, WEFT_SYSCTLS } from "./kernel.js";
export { validateOverlay, type ValidOverlay } from "./overlay/overlay-validation.js";
export { diffOverlay, VXLAN_PORT, type OverlayDiffOptions, type OverlayPlan } from "./overlay/overlay-diff.js";
export { validateEgress, type ValidEgress } from "./egress/egress-validation.js";
export { diffEgress, type EgressDiffOptions, type EgressPlan } from "./egress/egress-diff.js";
export { Reconciler, type ReconcilerOptions, type EntryChanges } from "./reconciler.js";
export { hostIfNameFor, egressHostIfNameFor, bridgeName, vxlanName, isWeftVethName, isWeftEgressVethName } from "./link-names.js";
export { vtepMacFor } from "./vtep-mac.js";
export { KernelError, NamespaceChangedError } from "./kernel-error.js";
export { inspectNetworkNamespace } from "./network-namespace.js";
export type { NetworkNamespaceId } from "./namespace-identity.js";
export { createLinuxKernel, type LinuxKernelOptions } from "./linux-kernel.js";
export { inspectUnderlay, chooseUnderlay, lowerArpRetransmit, type Underlay, type UnderlaySelection } from "./underlay.js";
export { KernelWorkerClient } from "./kernel-worker-client.js";
export { renderFirewall, firewallTable, firewallChange, FIREWALL_FAMILY, FIREWALL_TABLE } from "./nftables/render-firewall.js";
export type { NftTable, NftObject, NftSet, NftChain, NftCounter } from "./nftables/nft-table.js";
export type { TableChange } from "./nftables/nft-table-diff.js";
export {
  NftablesFirewall,
  nftCounterReader,
  type CounterReader,
  type Firewall,
  type FirewallWriteKind,
  type NftablesFirewallOptions,
} from "./nftables/nftables-firewall.js";
export { readInetCounterPackets, readInetCounters, type InetCounter } from "./nftables/nft-counter.js";
export { peerCounterNames, parsePeerCounterName, peerCounterKey } from "./nftables/peer-counters.js";
export { netlinkSlotWriter, type SlotWriter, type SlotMapChange, type AddressSetChange } from "./nftables/nft-slot-writer.js";
export { validateMesh, type ValidMesh } from "./mesh/mesh-validation.js";
export { MESH_CONNECTION_MARK, MESH_MASQUERADE_MARK, MESH_NO_BACKEND_COUNTER } from "./mesh/mesh-objects.js";
export { conntrackCommand, type Conntrack } from "./mesh/conntrack.js";
export { nftRunner, type NftRunner } from "./nftables/nft-command.js";
