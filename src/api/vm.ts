/** Wire types and schemas of virtual machines. */
import { Type, type Static } from "@sinclair/typebox";
import { AbsPath, Mac, Name } from "./common.js";

export const VM_STATES = ["shutoff", "running", "paused", "crashed"] as const;
export type VmState = (typeof VM_STATES)[number];

export const NIC_MODELS = ["virtio", "e1000"] as const;
export type NicModel = (typeof NIC_MODELS)[number];

export const NicSpec = Type.Object(
  {
    network: Name,
    mac: Type.Optional(Mac),
    model: Type.Optional(
      Type.Union(
        NIC_MODELS.map((m) => Type.Literal(m)),
        { errorHint: `a NIC model must be one of ${NIC_MODELS.join(", ")}` },
      ),
    ),
  },
  { additionalProperties: false },
);
export type NicSpec = Static<typeof NicSpec>;

export const IMAGES = ["test-guest"] as const;

/** Body of POST /v1/vms. */
export const VmCreate = Type.Object(
  {
    name: Name,
    memoryMiB: Type.Optional(Type.Integer({ minimum: 16, maximum: 1048576, errorHint: "memory must be a whole number of MiB between 16 and 1048576" })),
    vcpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, errorHint: "vCPUs must be a whole number between 1 and 255" })),
    nics: Type.Optional(Type.Array(NicSpec, { maxItems: 16, errorHint: "a VM has at most 16 NICs" })),
    image: Type.Optional(Type.Union(IMAGES.map((i) => Type.Literal(i)), { errorHint: `image must be one of ${IMAGES.join(", ")}` })),
    kernel: Type.Optional(AbsPath),
    initrd: Type.Optional(AbsPath),
    cmdline: Type.Optional(Type.String({ maxLength: 4096, pattern: "^[^\\u0000\\n]*$", errorHint: "a kernel command line must be one line" })),
    autostart: Type.Optional(Type.Boolean()),
    /** boot from the network (the first NIC's PXE ROM, iPXE) */
    pxe: Type.Optional(Type.Boolean()),
    start: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VmCreate = Static<typeof VmCreate>;

export const Nic = Type.Object({
  network: Type.String(),
  mac: Type.String(),
  model: Type.String(),
  tap: Type.Union([Type.String(), Type.Null()]),
  ips: Type.Array(Type.String()),
});
export type Nic = Static<typeof Nic>;

export const Disk = Type.Object({
  path: Type.String(),
  format: Type.String(),
  virtualSizeBytes: Type.Integer(),
});
export type Disk = Static<typeof Disk>;

/** A VM as `vm show --json` prints it. */
export const Vm = Type.Object({
  name: Type.String(),
  state: Type.Union(VM_STATES.map((s) => Type.Literal(s))),
  vcpus: Type.Integer(),
  memoryMiB: Type.Integer(),
  image: Type.Union([Type.String(), Type.Null()]),
  kernel: Type.Union([Type.String(), Type.Null()]),
  initrd: Type.Union([Type.String(), Type.Null()]),
  cmdline: Type.Union([Type.String(), Type.Null()]),
  nics: Type.Array(Nic),
  disks: Type.Array(Disk),
  pid: Type.Union([Type.Integer(), Type.Null()]),
  accel: Type.Union([Type.Literal("kvm"), Type.Literal("tcg"), Type.Null()]),
  accelReason: Type.Union([Type.String(), Type.Null()]),
  autostart: Type.Boolean(),
  consoles: Type.Object({ serial: Type.Union([Type.String(), Type.Null()]), vnc: Type.Union([Type.String(), Type.Null()]) }),
});
export type Vm = Static<typeof Vm>;
