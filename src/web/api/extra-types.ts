/**
 * Wire shapes of API parts that other branches are building (lifecycle/disks/osinfo/edit on
 * branch vm, NIC move/forwards/capture on branch net, stats on branch vmio), written to
 * their shapes there. When they land in src/api, these become re-exports of those types.
 */
import type { Vm } from "../../api/vm.js";

export interface OsInfo {
  id: string;
  aliases?: string[];
  name: string;
  vendor: string | null;
  family: string | null;
  version: string | null;
  releaseDate?: string | null;
  eol?: boolean;
  recommended: { memoryMiB: number | null; vcpus: number | null; diskBytes: number | null };
  nicModel?: string;
  diskBus?: string;
}

export type BootDevice = "network" | "disk" | "cdrom";
export const BOOT_DEVICES: readonly BootDevice[] = ["network", "disk", "cdrom"];

export interface DiskCreate {
  sizeBytes?: number;
  alloc?: "sparse" | "full";
  import?: string;
  copy?: boolean;
  linked?: boolean;
  bus?: "virtio" | "sata" | "ide";
}

/** POST /v1/vms with the fields of branch vm (os, disks, cdrom, boot order, force). */
export interface VmCreateFull {
  name: string;
  memoryMiB?: number;
  vcpus?: number;
  nics?: { network: string; mac?: string; model?: "virtio" | "e1000" }[];
  image?: "test-guest";
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  os?: string;
  disks?: DiskCreate[];
  cdrom?: string;
  bootOrder?: BootDevice[];
  autostart?: boolean;
  force?: boolean;
  start?: boolean;
}

export interface VmEdit {
  memoryMiB?: number;
  vcpus?: number;
  nics?: { network: string; mac?: string; model?: "virtio" | "e1000" }[];
  disks?: DiskCreate[];
  removeDisks?: number[];
  cdrom?: string | null;
  bootOrder?: BootDevice[];
  autostart?: boolean;
  force?: boolean;
}

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
