/** Validation and normalisation of a VM definition. Pure: randomness for MACs comes in as bytes. */
import { KvmgrError, invalid } from "../../api/errors.js";
import { VmCreate as VmCreateSchema, type NicModel, type VmCreate } from "../../api/vm.js";
import { isMulticastMac, isZeroMac, macFromBytes, normalizeMac } from "../model/mac.js";
import { checkSchema } from "./schema-check.js";

export interface NicDef {
  network: string;
  mac: string;
  model: NicModel;
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
  autostart: boolean;
  /** boot from the network through the first NIC (absent in specs stored before it existed) */
  pxe?: boolean;
}

export interface VmContext {
  vms: readonly Pick<VmSpec, "name" | "nics">[];
  networks: readonly string[];
  /** yields 3 random bytes per call, for generated MACs */
  randomBytes: () => Uint8Array;
}

export const DEFAULT_MEMORY_MIB = 256;
export const TEST_GUEST_MEMORY_MIB = 128;

export function validateVmCreate(input: VmCreate, ctx: VmContext): VmSpec {
  checkSchema(VmCreateSchema, input);
  if (ctx.vms.some((v) => v.name === input.name)) {
    throw new KvmgrError("KVMGR_ERR_VM_EXISTS", `A VM named '${input.name}' already exists.`);
  }
  const image = input.image ?? null;
  if (image !== null && input.kernel !== undefined) {
    throw invalid("kernel", "--image and --kernel are two boot sources: give one.");
  }
  if (input.initrd !== undefined && input.kernel === undefined) throw invalid("initrd", "--initrd needs --kernel.");
  if (input.cmdline !== undefined && input.kernel === undefined && image === null) {
    throw invalid("cmdline", "--cmdline needs --kernel or --image.");
  }

  if (input.pxe === true) {
    if (image !== null || input.kernel !== undefined) {
      throw invalid("pxe", "--pxe boots the VM from the network: it does not go with --image or --kernel.");
    }
    if ((input.nics ?? []).length === 0) throw invalid("pxe", "--pxe needs a NIC: give --network NET (a network with a TFTP boot file).");
  }

  const usedMacs = new Set(ctx.vms.flatMap((v) => v.nics.map((n) => n.mac)));
  const nics: NicDef[] = [];
  for (const [i, n] of (input.nics ?? []).entries()) {
    if (!ctx.networks.includes(n.network)) {
      throw invalid("nics.network", `NIC ${i + 1}: there is no network named '${n.network}'.`);
    }
    let mac: string;
    if (n.mac !== undefined) {
      mac = normalizeMac(n.mac);
      if (isMulticastMac(mac) || isZeroMac(mac)) {
        throw invalid("nics.mac", `MAC ${n.mac} is a multicast or zero address and cannot belong to a NIC.`);
      }
      if (usedMacs.has(mac)) throw invalid("nics.mac", `MAC ${n.mac} is already used by another NIC.`);
    } else {
      do mac = macFromBytes(ctx.randomBytes());
      while (usedMacs.has(mac));
    }
    usedMacs.add(mac);
    nics.push({ network: n.network, mac, model: n.model ?? "virtio" });
  }

  return {
    name: input.name,
    memoryMiB: input.memoryMiB ?? (image === "test-guest" ? TEST_GUEST_MEMORY_MIB : DEFAULT_MEMORY_MIB),
    vcpus: input.vcpus ?? 1,
    nics,
    image,
    kernel: input.kernel ?? null,
    initrd: input.initrd ?? null,
    cmdline: input.cmdline ?? null,
    autostart: input.autostart ?? false,
    ...(input.pxe === true ? { pxe: true } : {}),
  };
}
