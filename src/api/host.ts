/** Wire types of the managed host (lab or real). */
import { Type, type Static } from "@sinclair/typebox";

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
  nftables: Type.String(),
  dnsmasq: Type.Array(Type.Object({ network: Type.String(), pid: Type.Integer() })),
  version: Type.String(),
});
export type HostInfo = Static<typeof HostInfo>;
