/** The daemon's persistent state: definitions and what was applied to the host. */
import type { NetworkSpec } from "../../core/validate/network.js";
import type { UplinkMove } from "../../core/plan/host-step.js";
import type { VmSpec } from "../../core/validate/vm.js";
import type { Accel } from "../../core/render/qemu-argv.js";

export interface StoredNetwork {
  spec: NetworkSpec;
  /** kvmgr started it and has not stopped it */
  active: boolean;
  /** what a start changed on the host beyond the plan's own objects; null when stopped */
  runtime: NetworkRuntime | null;
}

/** A rule kvmgr inserted into a chain of another program (Docker, firewalld, ufw). */
export interface ForeignRule {
  family: string;
  table: string;
  chain: string;
  /** the rule's comment, which marks it as kvmgr's (`kvmgr:NET`) */
  comment: string;
  /** the rule as nft text, without the comment */
  rule: string;
}

export interface NetworkRuntime {
  /** bridge mode with --uplink: what was moved off the NIC, to put back at stop */
  moved: UplinkMove | null;
  /** interfaces whose net.ipv4.conf.IF.forwarding this network needs */
  forwarding: string[];
  /** accept rules added to other programs' chains for this network */
  foreign: ForeignRule[];
  /** nat/routed: the interface traffic leaves by and port forwards come in by (the uplink, else the default route's at start) */
  outIface?: string | null;
}

/** What a running VM holds on the host; null when the VM is off. */
export interface VmRuntime {
  pid: number;
  /** /proc start time: with the pid, the identity of our QEMU */
  startTicks: number;
  taps: string[];
  accel: Accel;
  accelReason: string;
  /**
   * A reboot was asked by the power button: the guest's next power-off restarts it. Kept in the
   * store so that a daemon restarted before that power-off still restarts it (as libvirt's fake
   * reboot does); a shutdown request clears it.
   */
  rebooting?: boolean;
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
  /** sysctl values kvmgr changed, with the value they had before (restored when no network needs them) */
  listSysctlSaves(): { key: string; previous: string }[];
  putSysctlSave(key: string, previous: string): void;
  deleteSysctlSave(key: string): void;
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
