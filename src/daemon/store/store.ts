/** The daemon's persistent state: definitions and what was applied to the host. */
import type { NetworkSpec } from "../../core/validate/network.js";
import type { VmSpec } from "../../core/validate/vm.js";
import type { Accel } from "../../core/render/qemu-argv.js";

export interface StoredNetwork {
  spec: NetworkSpec;
  /** kvmgr started it and has not stopped it */
  active: boolean;
}

/** What a running VM holds on the host; null when the VM is off. */
export interface VmRuntime {
  pid: number;
  /** /proc start time: with the pid, the identity of our QEMU */
  startTicks: number;
  taps: string[];
  accel: Accel;
  accelReason: string;
}

export interface StoredVm {
  spec: VmSpec;
  runtime: VmRuntime | null;
  /** set when QEMU died without being asked */
  crashed: boolean;
  /** the definition edited while the VM ran: it replaces `spec` at the next start */
  pending?: VmSpec | null;
}

/**
 * An operation in progress, written before its first host change and removed (in the same
 * transaction as its last store write) when done. An entry found at daemon start belongs
 * to an operation the daemon died in: reconcile finishes or rolls it back from `data`.
 */
export interface OpEntry {
  id: number;
  kind: string;
  vm: string;
  data: Record<string, unknown>;
}

export interface Store {
  listNetworks(): StoredNetwork[];
  getNetwork(name: string): StoredNetwork | null;
  putNetwork(n: StoredNetwork): void;
  deleteNetwork(name: string): void;
  listVms(): StoredVm[];
  getVm(name: string): StoredVm | null;
  putVm(v: StoredVm): void;
  deleteVm(name: string): void;
  /** records an operation's intent; returns its id */
  beginOp(kind: string, vm: string, data: Record<string, unknown>): number;
  updateOp(id: number, data: Record<string, unknown>): void;
  endOp(id: number): void;
  listOps(): OpEntry[];
  /** runs `fn` as one transaction */
  tx<T>(fn: () => T): T;
  close(): void;
}
