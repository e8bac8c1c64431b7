/** Live statistics of a running VM: one sample a second, the last ten minutes kept by the daemon. */
import { Type, type Static } from "@sinclair/typebox";

/**
 * NIC counters are the guest's view (libvirt's convention): `rx` is what the guest received,
 * i.e. what its tap sent. Rates are per second over the last sampling interval (null on the
 * first sample after a start).
 */
export const NicStats = Type.Object({
  index: Type.Integer(),
  mac: Type.String(),
  network: Type.String(),
  tap: Type.String(),
  rxBytes: Type.Number(),
  txBytes: Type.Number(),
  rxPackets: Type.Number(),
  txPackets: Type.Number(),
  rxBytesPerSec: Type.Union([Type.Number(), Type.Null()]),
  txBytesPerSec: Type.Union([Type.Number(), Type.Null()]),
});
export type NicStats = Static<typeof NicStats>;

export const DiskStats = Type.Object({
  /** QEMU's block node name (`disk0`, `disk1`… in the VM's disk order; `cd0` the CD-ROM), else its device */
  device: Type.String(),
  /** index in the VM's `disks`, null for a CD-ROM */
  index: Type.Union([Type.Integer(), Type.Null()]),
  path: Type.Union([Type.String(), Type.Null()]),
  rdBytes: Type.Number(),
  wrBytes: Type.Number(),
  rdOps: Type.Number(),
  wrOps: Type.Number(),
  rdBytesPerSec: Type.Union([Type.Number(), Type.Null()]),
  wrBytesPerSec: Type.Union([Type.Number(), Type.Null()]),
});
export type DiskStats = Static<typeof DiskStats>;

export const VcpuStats = Type.Object({
  index: Type.Integer(),
  /** host thread id of the vCPU */
  threadId: Type.Integer(),
  cpuSeconds: Type.Number(),
  cpuPercent: Type.Union([Type.Number(), Type.Null()]),
});
export type VcpuStats = Static<typeof VcpuStats>;

export const VmStatsSample = Type.Object({
  /** ms since the epoch */
  time: Type.Number(),
  /** QEMU's pid: a new pid is a new run (counters restart) */
  pid: Type.Integer(),
  /** CPU time of all QEMU threads, as a share of one host core (200 = two cores busy); null on the first sample */
  cpuPercent: Type.Union([Type.Number(), Type.Null()]),
  /** cumulative CPU seconds of QEMU (user + system) */
  cpuSeconds: Type.Number(),
  vcpus: Type.Array(VcpuStats),
  memory: Type.Object({ configuredBytes: Type.Number(), rssBytes: Type.Number() }),
  nics: Type.Array(NicStats),
  disks: Type.Array(DiskStats),
});
export type VmStatsSample = Static<typeof VmStatsSample>;

/** GET /v1/vms/:name/stats?since=MS */
export const VmStats = Type.Object({
  vm: Type.String(),
  intervalMs: Type.Integer(),
  samples: Type.Array(VmStatsSample),
});
export type VmStats = Static<typeof VmStats>;
