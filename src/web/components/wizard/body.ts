/** The new-VM wizard's answers and the request they make (pure: unit-tested). */
import type { OsInfo, VmCreateFull } from "../../api/extra-types.js";

export type Source = "pxe" | "iso" | "import" | "kernel" | "test";

export interface WizardState {
  source: Source;
  pxeNetwork: string;
  iso: string;
  importPath: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  os: OsInfo | null;
  memoryMiB: string;
  vcpus: string;
  disk: boolean;
  diskGiB: string;
  alloc: "sparse" | "full";
  name: string;
  network: string;
  customize: boolean;
}

/** The request body of the wizard's answers (pure; unit-tested). */
export function wizardBody(s: WizardState, force: boolean): VmCreateFull {
  const b: VmCreateFull = { name: s.name.trim() };
  const mem = Number(s.memoryMiB);
  const cpus = Number(s.vcpus);
  if (s.memoryMiB.trim() !== "") b.memoryMiB = Number.isFinite(mem) ? mem : (s.memoryMiB as unknown as number);
  if (s.vcpus.trim() !== "") b.vcpus = Number.isFinite(cpus) ? cpus : (s.vcpus as unknown as number);
  const net = s.source === "pxe" ? s.pxeNetwork : s.network;
  if (net) b.nics = [{ network: net }];
  if (s.os) b.os = s.os.id;
  const newDisk = s.disk && s.source !== "import" && s.source !== "test";
  if (newDisk) b.disks = [{ sizeBytes: Math.round(Number(s.diskGiB) * 1024 ** 3), alloc: s.alloc }];
  switch (s.source) {
    case "pxe":
      b.bootOrder = newDisk ? ["network", "disk"] : ["network"];
      break;
    case "iso":
      b.cdrom = s.iso.trim();
      b.bootOrder = newDisk ? ["cdrom", "disk"] : ["cdrom"];
      break;
    case "import":
      b.disks = [{ import: s.importPath.trim() }];
      b.bootOrder = ["disk"];
      break;
    case "kernel":
      b.kernel = s.kernel.trim();
      if (s.initrd.trim()) b.initrd = s.initrd.trim();
      if (s.cmdline.trim()) b.cmdline = s.cmdline.trim();
      break;
    case "test":
      b.image = "test-guest";
      break;
  }
  if (force) b.force = true;
  return b;
}

/** Which step shows a field (for errors from the schema or the daemon). */
export function stepOfField(field: string): number {
  if (/^(cdrom|kernel|initrd|cmdline|image|bootOrder)/.test(field) || field === "disks.import") return 0;
  if (field === "os") return 1;
  if (field === "memoryMiB" || field === "vcpus") return 2;
  if (field.startsWith("disks") || field === "force") return 3;
  return 4;
}
