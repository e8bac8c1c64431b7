/**
 * Wire shapes of API parts that other branches are building (NIC move/forwards/capture on
 * branch net, stats on branch vmio), written to their shapes there; the parts that have
 * landed in src/api are re-exported from there.
 */
import type { Vm } from "../../api/vm.js";

export type { OsInfo, VmEdit, DiskCreate, BootDevice, VmCreate as VmCreateFull } from "../../api/vm.js";
export { BOOT_DEVICES } from "../../api/vm.js";

/** What branch vm adds to a VM: read with `vmMore(vm)` so the UI works before and after. */
export interface VmMore {
  os: string | null;
  cdrom: string | null;
  bootOrder: string[];
  pending: Record<string, unknown> | null;
  disks: { path: string; format: string; virtualSizeBytes: number; allocatedBytes: number | null; bus: string | null }[];
}

export function vmMore(vm: Vm): VmMore {
  const x = vm as unknown as Partial<VmMore> & { disks: { path: string; format: string; virtualSizeBytes: number; allocatedBytes?: number; bus?: string }[] };
  return {
    os: x.os ?? null,
    cdrom: x.cdrom ?? null,
    bootOrder: x.bootOrder ?? [],
    pending: x.pending ?? null,
    disks: x.disks.map((d) => ({ path: d.path, format: d.format, virtualSizeBytes: d.virtualSizeBytes, allocatedBytes: d.allocatedBytes ?? null, bus: d.bus ?? null })),
  };
}

/** A port forward as the daemon shows it, with the VM address it goes to now (branch net). */
export interface PortForward {
  proto: string;
  hostPort: number;
  vm: string;
  port: number;
  ip: string | null;
}

export interface PortForwardCreate {
  proto?: "tcp" | "udp";
  hostPort: number;
  vm: string;
  port: number;
}

/** GET /v1/vms/:name/stats: the daemon's last ten minutes of samples (branch vmio). */
export interface VmStats {
  vm: string;
  intervalMs: number;
  samples: Record<string, unknown>[];
}
