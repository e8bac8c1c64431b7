/** Wire types of the managed host (lab or real). */
import { Type, type Static } from "@sinclair/typebox";

/** Where new disk images go and the room there (the wizard's "N GiB available"). */
export const HostStorage = Type.Object({
  dir: Type.String(),
  /** bytes a new image may still take */
  freeBytes: Type.Integer({ minimum: 0 }),
  totalBytes: Type.Integer({ minimum: 0 }),
});
export type HostStorage = Static<typeof HostStorage>;

export const HostInfo = Type.Object({
  mode: Type.Union([Type.Literal("lab"), Type.Literal("host")]),
  lab: Type.Union([Type.String(), Type.Null()]),
  netns: Type.Union([Type.String(), Type.Null()]),
  lanNetns: Type.Union([Type.String(), Type.Null()]),
  stateDir: Type.String(),
  accel: Type.Union([Type.Literal("kvm"), Type.Literal("tcg")]),
  accelReason: Type.String(),
  bridges: Type.Array(Type.Object({ name: Type.String(), up: Type.Boolean(), addresses: Type.Array(Type.String()), ports: Type.Array(Type.String()) })),
  /** every link of the managed namespace: the seed's `ip link` */
  links: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: Type.Union([Type.String(), Type.Null()]),
      master: Type.Union([Type.String(), Type.Null()]),
      up: Type.Boolean(),
      mac: Type.Union([Type.String(), Type.Null()]),
      addresses: Type.Array(Type.String()),
    }),
  ),
  ipForward: Type.Boolean(),
  /** net.ipv4.conf.IF.forwarding of every interface (and `all`, `default`) */
  forwarding: Type.Record(Type.String(), Type.Boolean()),
  /** sysctl values kvmgr changed and will put back when no network needs them */
  sysctlSaves: Type.Array(Type.Object({ key: Type.String(), previous: Type.String() })),
  /** kvmgr's table `inet kvmgr` as nft text ("" when absent) */
  nftables: Type.String(),
  /** the same table as `nft -j` objects (chains and rules) */
  nftablesJson: Type.Array(Type.Unknown()),
  dnsmasq: Type.Array(Type.Object({ network: Type.String(), pid: Type.Integer() })),
  storage: HostStorage,
  version: Type.String(),
});
export type HostInfo = Static<typeof HostInfo>;

/** One thing `host doctor` found that stops (or stopped) a kvmgr network from working. */
export const DoctorFinding = Type.Object({
  network: Type.Union([Type.String(), Type.Null()]),
  /** one sentence: what is wrong */
  problem: Type.String(),
  /** the fix kvmgr applies (or proposes, when status is "manual") */
  fix: Type.String(),
  /** fixed: kvmgr's fix is in place; open: run `host doctor --fix`; manual: kvmgr cannot fix it */
  status: Type.Union([Type.Literal("fixed"), Type.Literal("open"), Type.Literal("manual")]),
  /** this run applied the fix */
  applied: Type.Boolean(),
});
export type DoctorFinding = Static<typeof DoctorFinding>;

export const DoctorReport = Type.Object({
  findings: Type.Array(DoctorFinding),
  /** true when nothing is left open or manual */
  healthy: Type.Boolean(),
});
export type DoctorReport = Static<typeof DoctorReport>;
