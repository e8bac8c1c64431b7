/**
 * Validation and normalisation of a VM definition, for create and edit: from what the user
 * typed to the complete spec kvmgr stores, plus the disk images to make. Pure: what it must
 * know of the host (images, the OS database, taken file names) comes in as data.
 */
import { KvmgrError, invalid } from "../../api/errors.js";
import {
  VmCreate as VmCreateSchema,
  VmEdit as VmEditSchema,
  type BootDevice,
  type DiskBus,
  type DiskCreate,
  type NicModel,
  type NicSpec,
  type OsInfo,
  type VmCreate,
  type VmEdit,
} from "../../api/vm.js";
import { isMulticastMac, isZeroMac, macFromBytes, normalizeMac } from "../model/mac.js";
import { roundToSector } from "../model/size.js";
import type { HostStep } from "../plan/host-step.js";
import { checkSchema } from "./schema-check.js";

export interface NicDef {
  network: string;
  mac: string;
  model: NicModel;
}

export interface DiskDef {
  path: string;
  /** image format as QEMU opens it: qcow2 for every image kvmgr makes */
  format: string;
  bus: DiskBus;
  /** kvmgr made the file: it goes with the VM (unless kept); imported files never do */
  owned: boolean;
  /** the base image of an overlay (linked disk), else null */
  backing: string | null;
}

/** The complete, normalised definition of a VM, as stored. */
export interface VmSpec {
  name: string;
  memoryMiB: number;
  vcpus: number;
  nics: NicDef[];
  image: "test-guest" | null;
  kernel: string | null;
  initrd: string | null;
  cmdline: string | null;
  /** osinfo short id, or null */
  os: string | null;
  disks: DiskDef[];
  /** ISO image attached as a CD-ROM, or null */
  cdrom: string | null;
  /** firmware boot order; devices absent from the VM are skipped */
  bootOrder: BootDevice[];
  autostart: boolean;
}

/** Fields added after the first schema: a stored spec without them gets these. */
export const SPEC_DEFAULTS: Pick<VmSpec, "os" | "disks" | "cdrom" | "bootOrder"> = { os: null, disks: [], cdrom: null, bootOrder: ["disk"] };

/** What probing an existing image file found (qemu-img info), or null if there is no such file. */
export interface ImageProbe {
  format: string;
  virtualSizeBytes: number;
  allocatedBytes: number;
  /** the file's path with every symbolic link resolved (where it really is) */
  realPath?: string;
}

export interface VmContext {
  vms: readonly Pick<VmSpec, "name" | "nics" | "disks">[];
  networks: readonly string[];
  /** yields 3 random bytes per call, for generated MACs */
  randomBytes: () => Uint8Array;
  /** where new disk images go */
  diskDir?: string;
  /** files that exist already in `diskDir` (a new image never overwrites one) */
  takenPaths?: ReadonlySet<string>;
  /** probes of the files the input names (imports, CD-ROM) */
  images?: ReadonlyMap<string, ImageProbe | null>;
  /** the OS database */
  os?: (id: string) => OsInfo | null;
  /**
   * Directories whose files a VM never writes in place, links resolved: the system's and
   * kvmgr's own state and cache. Imports from them must be copies or linked overlays...
   */
  protectedDirs?: readonly string[];
  /** ...but for these, inside them (kvmgr's disk directory, links resolved) */
  inPlaceDirs?: readonly string[];
}

/** The system's directories: none of their files is a disk image to be written by a guest. */
export const SYSTEM_DIRS = ["/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/proc", "/sys", "/dev", "/run", "/var/lib/dpkg"] as const;

/** The definition and what must be done on the host to back it. */
export interface VmPlan {
  spec: VmSpec;
  /** disk images to make, in order (undo derived: each one's removal) */
  diskSteps: HostStep[];
  /** bytes the new images may take on the disk file system (for the free-space check) */
  newBytes: number;
}

export const DEFAULT_MEMORY_MIB = 256;
export const TEST_GUEST_MEMORY_MIB = 128;

function osOf(id: string | null, ctx: VmContext): OsInfo | null {
  if (id === null) return null;
  const os = ctx.os?.(id) ?? null;
  if (!os) throw invalid("os", `There is no OS with the id '${id}' in osinfo-db; 'kvmgr os list --search TEXT' finds ids.`);
  return os;
}

function normalizeNics(input: readonly NicSpec[], old: readonly NicDef[], os: OsInfo | null, usedMacs: Set<string>, ctx: VmContext): NicDef[] {
  const nics: NicDef[] = [];
  for (const [i, n] of input.entries()) {
    if (!ctx.networks.includes(n.network)) {
      throw invalid("nics.network", `NIC ${i + 1}: there is no network named '${n.network}'.`);
    }
    let mac: string;
    const prev = old[i];
    if (n.mac !== undefined) {
      mac = normalizeMac(n.mac);
      if (isMulticastMac(mac) || isZeroMac(mac)) {
        throw invalid("nics.mac", `MAC ${n.mac} is a multicast or zero address and cannot belong to a NIC.`);
      }
      if (usedMacs.has(mac)) throw invalid("nics.mac", `MAC ${n.mac} is already used by another NIC.`);
    } else if (prev && prev.network === n.network && !usedMacs.has(prev.mac)) {
      // An edit that keeps a NIC on its network keeps its MAC (and so its DHCP lease).
      mac = prev.mac;
    } else {
      do mac = macFromBytes(ctx.randomBytes());
      while (usedMacs.has(mac));
    }
    usedMacs.add(mac);
    nics.push({ network: n.network, mac, model: n.model ?? (os?.nicModel === "e1000" ? "e1000" : "virtio") });
  }
  return nics;
}

function newDiskPath(vm: string, taken: Set<string>, ctx: VmContext): string {
  const dir = ctx.diskDir ?? "/var/lib/kvmgr/disks";
  for (let n = 0; ; n++) {
    const p = `${dir}/${vm}-disk${n}.qcow2`;
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}

const isUnder = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

function probeOf(path: string, field: string, ctx: VmContext): ImageProbe {
  const p = ctx.images?.get(path) ?? null;
  if (!p) throw invalid(field, `There is no image file ${path}.`);
  return p;
}

/** A disk holds whole sectors: raw data of another size is some other file (a text file, say). */
function diskProbeOf(path: string, ctx: VmContext): ImageProbe {
  const p = probeOf(path, "disks.import", ctx);
  if (p.format === "raw" && p.virtualSizeBytes % 512 !== 0) {
    throw invalid("disks.import", `${path} is not a disk image: it is raw data of ${p.virtualSizeBytes} bytes, not a whole number of 512-byte sectors.`);
  }
  return p;
}

/** Refuses an in-place import of a file the system or kvmgr itself owns: the guest would write it. */
function checkWritableInPlace(path: string, probe: ImageProbe, ctx: VmContext): void {
  const real = probe.realPath ?? path;
  if ((ctx.inPlaceDirs ?? []).some((d) => isUnder(real, d))) return;
  const dir = (ctx.protectedDirs ?? []).find((d) => isUnder(real, d));
  if (dir === undefined) return;
  throw invalid("disks.import", `${path} is${real === path ? "" : ` (${real})`} under ${dir}, which belongs to the system or to kvmgr, and a guest never writes there: import a copy (--copy) or a linked overlay (--linked).`);
}

/** The disks of the input, as definitions and the steps that make their files. */
function planDisks(vm: string, input: readonly DiskCreate[], os: OsInfo | null, ctx: VmContext, otherVms: VmContext["vms"], existing: readonly DiskDef[]): { disks: DiskDef[]; steps: HostStep[]; newBytes: number } {
  const taken = new Set([...(ctx.takenPaths ?? []), ...ctx.vms.flatMap((v) => v.disks.map((d) => d.path))]);
  const disks: DiskDef[] = [];
  const steps: HostStep[] = [];
  let newBytes = 0;
  const defaultBus: DiskBus = os?.diskBus === "sata" || os?.diskBus === "ide" ? os.diskBus : "virtio";
  for (const [i, d] of input.entries()) {
    const bus = d.bus ?? defaultBus;
    const which = `Disk ${existing.length + i + 1}`;
    if (d.import === undefined) {
      if (d.copy || d.linked) throw invalid("disks.copy", `${which}: copy and linked need an image to import.`);
      const size = d.sizeBytes ?? os?.recommended.diskBytes ?? null;
      if (size === null) throw invalid("disks.sizeBytes", `${which}: give a size (e.g. --disk 10G), or --os for its recommended size.`);
      const path = newDiskPath(vm, taken, ctx);
      const bytes = roundToSector(size);
      steps.push({ kind: "disk.create", path, sizeBytes: bytes, prealloc: d.alloc === "full" ? "full" : "off" });
      // Sparse images grow up to their size: the seed's dialog warns about them too.
      newBytes += bytes;
      disks.push({ path, format: "qcow2", bus, owned: true, backing: null });
      continue;
    }
    if (d.sizeBytes !== undefined || d.alloc !== undefined) throw invalid("disks.sizeBytes", `${which}: an imported image keeps its size; resize it after.`);
    if (d.copy && d.linked) throw invalid("disks.linked", `${which}: an image is imported as a copy or linked, not both.`);
    const src = diskProbeOf(d.import, ctx);
    const user = otherVms.find((v) => v.disks.some((x) => x.path === d.import));
    if (d.copy) {
      const path = newDiskPath(vm, taken, ctx);
      steps.push({ kind: "disk.copy", path, source: d.import, sourceFormat: src.format });
      newBytes += src.allocatedBytes;
      disks.push({ path, format: "qcow2", bus, owned: true, backing: null });
    } else if (d.linked) {
      const path = newDiskPath(vm, taken, ctx);
      steps.push({ kind: "disk.overlay", path, backing: d.import, backingFormat: src.format });
      disks.push({ path, format: "qcow2", bus, owned: true, backing: d.import });
    } else {
      if (user || existing.some((x) => x.path === d.import)) {
        throw new KvmgrError("KVMGR_ERR_DISK_IN_USE", `${d.import} is already a disk of VM '${user?.name ?? vm}'; import a copy (--copy) or a linked overlay (--linked).`, { field: "disks.import" });
      }
      checkWritableInPlace(d.import, src, ctx);
      disks.push({ path: d.import, format: src.format, bus, owned: false, backing: null });
    }
  }
  return { disks, steps, newBytes };
}

function checkBoot(spec: VmSpec): void {
  if (spec.image !== null && spec.kernel !== null) throw invalid("kernel", "--image and --kernel are two boot sources: give one.");
  if (spec.initrd !== null && spec.kernel === null) throw invalid("initrd", "--initrd needs --kernel.");
  if (spec.cmdline !== null && spec.kernel === null && spec.image === null) throw invalid("cmdline", "--cmdline needs --kernel or --image.");
  const ide = spec.disks.filter((d) => d.bus === "ide").length;
  // The PC machine has two IDE buses of two units; the CD-ROM takes one.
  if (ide + (spec.cdrom !== null ? 1 : 0) > 4) throw invalid("disks.bus", "At most 4 IDE devices (disks and the CD-ROM) fit: use bus=virtio or bus=sata.");
  if (spec.disks.filter((d) => d.bus === "sata").length > 6) throw invalid("disks.bus", "At most 6 SATA disks fit: use bus=virtio.");
}

function defaultBootOrder(cdrom: string | null): BootDevice[] {
  return cdrom !== null ? ["cdrom", "disk"] : ["disk"];
}

function cdromOf(path: string | null, ctx: VmContext): string | null {
  if (path === null) return null;
  probeOf(path, "cdrom", ctx);
  return path;
}

export function validateVmCreate(input: VmCreate, ctx: VmContext): VmPlan {
  checkSchema(VmCreateSchema, input);
  if (ctx.vms.some((v) => v.name === input.name)) {
    throw new KvmgrError("KVMGR_ERR_VM_EXISTS", `A VM named '${input.name}' already exists.`);
  }
  const image = input.image ?? null;
  const os = osOf(input.os ?? null, ctx);
  const usedMacs = new Set(ctx.vms.flatMap((v) => v.nics.map((n) => n.mac)));
  const nics = normalizeNics(input.nics ?? [], [], os, usedMacs, ctx);
  const { disks, steps, newBytes } = planDisks(input.name, input.disks ?? [], os, ctx, ctx.vms, []);
  const cdrom = cdromOf(input.cdrom ?? null, ctx);
  let bootOrder = input.bootOrder ?? defaultBootOrder(cdrom);
  if (input.pxe === true) {
    // Direct kernel boot never reaches the firmware's boot order.
    if (image !== null || input.kernel !== undefined) {
      throw invalid("pxe", "--pxe boots the VM from the network: it does not go with --image or --kernel.");
    }
    if (nics.length === 0) throw invalid("pxe", "--pxe needs a NIC: give --network NET (a network with a TFTP boot file).");
    if (input.bootOrder !== undefined && !input.bootOrder.includes("network")) {
      throw invalid("pxe", "--pxe boots from the network, but --boot leaves the network out.");
    }
    if (input.bootOrder === undefined) bootOrder = ["network", ...bootOrder];
  }
  const spec: VmSpec = {
    name: input.name,
    memoryMiB: input.memoryMiB ?? os?.recommended.memoryMiB ?? (image === "test-guest" ? TEST_GUEST_MEMORY_MIB : DEFAULT_MEMORY_MIB),
    vcpus: input.vcpus ?? os?.recommended.vcpus ?? 1,
    nics,
    image,
    kernel: input.kernel ?? null,
    initrd: input.initrd ?? null,
    cmdline: input.cmdline ?? null,
    os: os?.id ?? null,
    disks,
    cdrom,
    bootOrder,
    autostart: input.autostart ?? false,
  };
  checkBoot(spec);
  return { spec, diskSteps: steps, newBytes };
}

/** The spec after an edit, and the disk images the edit makes. */
export function validateVmEdit(current: VmSpec, edit: VmEdit, ctx: VmContext): VmPlan {
  checkSchema(VmEditSchema, edit);
  const others = ctx.vms.filter((v) => v.name !== current.name);
  const osId = edit.os === undefined ? current.os : edit.os;
  const os = osId === current.os && osId !== null ? (ctx.os?.(osId) ?? null) : osOf(osId, ctx);
  const usedMacs = new Set(others.flatMap((v) => v.nics.map((n) => n.mac)));
  const nics = edit.nics === undefined ? current.nics : normalizeNics(edit.nics, current.nics, os, usedMacs, ctx);
  const remove = new Set(edit.removeDisks ?? []);
  for (const i of remove) if (i >= current.disks.length) throw invalid("removeDisks", `VM '${current.name}' has no disk ${i} (it has ${current.disks.length}).`);
  const kept = current.disks.filter((_, i) => !remove.has(i));
  // A detached disk's file stays: its name is not reused.
  const taken = new Set([...(ctx.takenPaths ?? []), ...current.disks.map((d) => d.path)]);
  const { disks: added, steps, newBytes } = planDisks(current.name, edit.disks ?? [], os, { ...ctx, vms: others, takenPaths: taken }, others, kept);
  const cdrom = edit.cdrom === undefined ? current.cdrom : cdromOf(edit.cdrom, ctx);
  let bootOrder = edit.bootOrder ?? current.bootOrder;
  if (edit.bootOrder === undefined && cdrom !== null && current.cdrom === null && !bootOrder.includes("cdrom")) bootOrder = ["cdrom", ...bootOrder];
  const pick = <K extends "image" | "kernel" | "initrd" | "cmdline">(k: K): VmSpec[K] => (edit[k] === undefined ? current[k] : (edit[k] as VmSpec[K]));
  const spec: VmSpec = {
    name: current.name,
    memoryMiB: edit.memoryMiB ?? current.memoryMiB,
    vcpus: edit.vcpus ?? current.vcpus,
    nics,
    image: pick("image"),
    kernel: pick("kernel"),
    initrd: pick("initrd"),
    cmdline: pick("cmdline"),
    os: os?.id ?? null,
    disks: [...kept, ...added],
    cdrom,
    bootOrder,
    autostart: edit.autostart ?? current.autostart,
  };
  // Giving --kernel replaces --image and the other way round.
  if (edit.kernel && edit.image === undefined) spec.image = null;
  if (edit.image && edit.kernel === undefined) spec.kernel = spec.initrd = null;
  checkBoot(spec);
  return { spec, diskSteps: steps, newBytes };
}

/** Fields of `next` that differ from `cur`, with their new values (what `vm show` calls pending). */
export function specDiff(cur: VmSpec, next: VmSpec): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(next) as (keyof VmSpec)[]) {
    if (JSON.stringify(cur[k]) !== JSON.stringify(next[k])) out[k] = next[k];
  }
  return Object.keys(out).length > 0 ? out : null;
}
