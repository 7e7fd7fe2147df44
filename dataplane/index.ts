// The dataplane: makes this host's kernel match a DesiredState. Never talks to etcd or peers.
export type { DesiredState, DesiredNetwork, DesiredLocalEndpoint, DesiredRemoteEndpoint } from "./desired-state.js";
export { validateDesiredState, DesiredStateError, MAX_VNI } from "./desired-state.js";
export type { ReconcileError, ReconcileReport } from "./reconcile-report.js";
export type {
  Kernel,
  KernelPlan,
  LinkAction,
  ObservedState,
  ObservedLink,
  VxlanAttributes,
  FdbEntry,
  NeighbourEntry,
  ApplyResult,
} from "./kernel.js";
export { emptyPlan, isEmptyPlan } from "./kernel.js";
export { FakeKernel, type FakeKernelOptions, type FakeContainerInterface } from "./fake-kernel.js";
export { diffKernelState, VXLAN_PORT } from "./kernel-diff.js";
export { Reconciler, type ReconcilerOptions } from "./reconciler.js";
export { hostIfNameFor, bridgeName, vxlanName, isWeftVethName } from "./link-names.js";
export { vtepMacFor } from "./vtep-mac.js";
export { KernelError } from "./kernel-error.js";
export { createLinuxKernel, type LinuxKernelOptions } from "./linux-kernel.js";
export { inspectUnderlay, chooseUnderlay, lowerArpRetransmit, UnderlayError, type Underlay, type UnderlaySelection } from "./underlay.js";
export { KernelWorkerClient } from "./kernel-worker-client.js";
