/** Wire types and schemas of virtual machines. */
import { Type, type Static } from "@sinclair/typebox";
import { AbsPath, Mac, Name } from "./common.js";
import { NicAddress } from "./vm-io.js";

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

export const DISK_BUSES = ["virtio", "sata", "ide"] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
export const DISK_ALLOCS = ["sparse", "full"] as const;
export type DiskAlloc = (typeof DISK_ALLOCS)[number];
export const BOOT_DEVICES = ["network", "disk", "cdrom"] as const;
export type BootDevice = (typeof BOOT_DEVICES)[number];

/** Largest disk kvmgr creates: 64 TiB (qcow2 allows more; a typo is likelier). */
export const MAX_DISK_BYTES = 64 * 1024 ** 4;

const DiskBusSchema = Type.Union(
  DISK_BUSES.map((b) => Type.Literal(b)),
  { errorHint: `a disk bus must be one of ${DISK_BUSES.join(", ")}` },
);

/**
 * One disk of POST /v1/vms: a new image (`sizeBytes`, or the OS's recommended size when
 * omitted), or an existing image (`import`) used in place, copied (`copy`) or as the
 * read-only base of a new overlay (`linked`).
 */
export const DiskCreate = Type.Object(
  {
    sizeBytes: Type.Optional(Type.Integer({ minimum: 1048576, maximum: MAX_DISK_BYTES, errorHint: "a disk size must be between 1M and 64T" })),
    alloc: Type.Optional(Type.Union(DISK_ALLOCS.map((a) => Type.Literal(a)), { errorHint: "alloc must be sparse or full" })),
    import: Type.Optional(AbsPath),
    copy: Type.Optional(Type.Boolean()),
    linked: Type.Optional(Type.Boolean()),
    bus: Type.Optional(DiskBusSchema),
  },
  { additionalProperties: false },
);
export type DiskCreate = Static<typeof DiskCreate>;

export const OSID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$";
export const OsId = Type.String({ pattern: OSID_PATTERN, errorHint: "an OS id is a short id from 'kvmgr os list', e.g. debian11" });

export const BootOrder = Type.Array(
  Type.Union(BOOT_DEVICES.map((b) => Type.Literal(b)), { errorHint: `a boot device must be one of ${BOOT_DEVICES.join(", ")}` }),
  { maxItems: 3, uniqueItems: true, errorHint: "a boot order lists network, disk and cdrom at most once each" },
);

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
    os: Type.Optional(OsId),
    disks: Type.Optional(Type.Array(DiskCreate, { maxItems: 16, errorHint: "a VM has at most 16 disks" })),
    cdrom: Type.Optional(AbsPath),
    bootOrder: Type.Optional(BootOrder),
    autostart: Type.Optional(Type.Boolean()),
    /** create disks even when they are larger than the free space */
    force: Type.Optional(Type.Boolean()),
    /** boot from the network first (the first NIC's PXE ROM, iPXE): boot order network first */
    pxe: Type.Optional(Type.Boolean()),
    start: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VmCreate = Static<typeof VmCreate>;

/**
 * Body of PATCH /v1/vms/NAME: the fields to change. `nics` replaces the NIC list (a NIC on
 * the same network at the same position keeps its MAC); `disks` adds disks; `removeDisks`
 * detaches disks by index (their files stay). A stopped VM changes at once; a running one
 * keeps the change as pending until its next start (`autostart` always applies at once).
 */
export const VmEdit = Type.Object(
  {
    memoryMiB: VmCreate.properties.memoryMiB,
    vcpus: VmCreate.properties.vcpus,
    nics: VmCreate.properties.nics,
    image: Type.Optional(Type.Union([...IMAGES.map((i) => Type.Literal(i)), Type.Null()], { errorHint: `image must be one of ${IMAGES.join(", ")}, or null` })),
    kernel: Type.Optional(Type.Union([AbsPath, Type.Null()])),
    initrd: Type.Optional(Type.Union([AbsPath, Type.Null()])),
    cmdline: Type.Optional(Type.Union([VmCreate.properties.cmdline, Type.Null()])),
    os: Type.Optional(Type.Union([OsId, Type.Null()])),
    disks: VmCreate.properties.disks,
    removeDisks: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 15, errorHint: "a disk index is a whole number from 0" }), { maxItems: 16 })),
    cdrom: Type.Optional(Type.Union([AbsPath, Type.Null()])),
    bootOrder: VmCreate.properties.bootOrder,
    autostart: VmCreate.properties.autostart,
    force: VmCreate.properties.force,
  },
  { additionalProperties: false },
);
export type VmEdit = Static<typeof VmEdit>;

export const Nic = Type.Object({
  network: Type.String(),
  mac: Type.String(),
  model: Type.String(),
  tap: Type.Union([Type.String(), Type.Null()]),
  /** IPv4 addresses, our DHCP lease first */
  ips: Type.Array(Type.String()),
  /** every known address with where it was seen: our lease, the guest agent, the host's neighbour table */
  addresses: Type.Array(NicAddress),
});
export type Nic = Static<typeof Nic>;

export const Disk = Type.Object({
  path: Type.String(),
  format: Type.String(),
  virtualSizeBytes: Type.Integer(),
  /** bytes the image takes on its file system (sparse images take less than their size) */
  allocatedBytes: Type.Integer(),
  bus: Type.String(),
  /** the read-only base image of a linked disk */
  backing: Type.Union([Type.String(), Type.Null()]),
  /** kvmgr made it (new, copy, overlay, clone): deleted with the VM unless --keep-disks */
  owned: Type.Boolean(),
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
  os: Type.Union([Type.String(), Type.Null()]),
  cdrom: Type.Union([Type.String(), Type.Null()]),
  bootOrder: Type.Array(Type.String()),
  /** changes of a running VM that apply at its next start (field: new value), or null */
  pending: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  consoles: Type.Object({ serial: Type.Union([Type.String(), Type.Null()]), vnc: Type.Union([Type.String(), Type.Null()]) }),
});
export type Vm = Static<typeof Vm>;

/** A snapshot of a VM's disks (and of its memory when taken while it ran). */
export const Snapshot = Type.Object({
  name: Type.String(),
  /** when it was taken, ms since the epoch */
  createdMs: Type.Integer(),
  /** bytes of saved memory state: 0 for a disk-only snapshot (taken while off) */
  vmStateBytes: Type.Integer(),
});
export type Snapshot = Static<typeof Snapshot>;

export const SNAPSHOT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
export const SnapshotCreate = Type.Object(
  { name: Type.String({ pattern: SNAPSHOT_NAME_PATTERN, errorHint: "a snapshot name must be 1 to 63 letters, digits, '.', '_' or '-'" }) },
  { additionalProperties: false },
);

export const VmClone = Type.Object(
  { name: Name, linked: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type VmClone = Static<typeof VmClone>;

/** Body of POST /v1/vms/:name/rename (a VM that is shut off). */
export const VmRename = Type.Object({ name: Name }, { additionalProperties: false });
export type VmRename = Static<typeof VmRename>;

export const DiskResize = Type.Object(
  { sizeBytes: Type.Integer({ minimum: 1048576, maximum: MAX_DISK_BYTES, errorHint: "a disk size must be between 1M and 64T" }), force: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type DiskResize = Static<typeof DiskResize>;

/** An operating system from osinfo-db, as `os list --json` prints it. */
export const OsInfo = Type.Object({
  id: Type.String(),
  /** other short ids of the same OS (debianbullseye for debian11) */
  aliases: Type.Array(Type.String()),
  name: Type.String(),
  vendor: Type.Union([Type.String(), Type.Null()]),
  family: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  releaseDate: Type.Union([Type.String(), Type.Null()]),
  eol: Type.Boolean(),
  recommended: Type.Object({
    memoryMiB: Type.Union([Type.Integer(), Type.Null()]),
    vcpus: Type.Union([Type.Integer(), Type.Null()]),
    diskBytes: Type.Union([Type.Integer(), Type.Null()]),
  }),
  nicModel: Type.String(),
  diskBus: Type.String(),
});
export type OsInfo = Static<typeof OsInfo>;
