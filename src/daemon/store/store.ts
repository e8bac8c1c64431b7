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
  /** runs `fn` as one transaction */
  tx<T>(fn: () => T): T;
  close(): void;
}
