/** Wire types and schemas of virtual networks. */
import { Type, type Static } from "@sinclair/typebox";
import { AbsPath, Cidr, IfName, Ipv4, Mac, Name } from "./common.js";

import { NETWORK_MODES, type NetworkMode as NetworkModeName } from "./enums.js";

export { NETWORK_MODES };
export type NetworkMode = NetworkModeName;

export const NetworkMode = Type.Union(
  NETWORK_MODES.map((m) => Type.Literal(m)),
  { errorHint: `mode must be one of ${NETWORK_MODES.join(", ")}` },
);

export const DhcpRange = Type.Object({ start: Ipv4, end: Ipv4 }, { additionalProperties: false });
export type DhcpRange = Static<typeof DhcpRange>;

export const DhcpHost = Type.Object(
  { mac: Mac, ip: Ipv4, hostname: Type.Optional(Name) },
  { additionalProperties: false },
);
export type DhcpHost = Static<typeof DhcpHost>;

export const FORWARD_PROTOS = ["tcp", "udp"] as const;
export const Port = Type.Integer({ minimum: 1, maximum: 65535, errorHint: "a port must be a whole number between 1 and 65535" });

/** A port forward of a nat network: the host's port P (on its uplink addresses) to port Q of a VM. */
export const PortForward = Type.Object(
  {
    proto: Type.Union(FORWARD_PROTOS.map((p) => Type.Literal(p)), { errorHint: "a protocol must be tcp or udp" }),
    hostPort: Port,
    vm: Name,
    port: Port,
  },
  { additionalProperties: false },
);
export type PortForward = Static<typeof PortForward>;

/** Body of POST /v1/networks/NAME/forwards (proto defaults to tcp). */
export const PortForwardCreate = Type.Object(
  {
    proto: Type.Optional(Type.Union(FORWARD_PROTOS.map((p) => Type.Literal(p)), { errorHint: "a protocol must be tcp or udp" })),
    hostPort: Port,
    vm: Name,
    port: Port,
  },
  { additionalProperties: false },
);
export type PortForwardCreate = Static<typeof PortForwardCreate>;

/** A port forward as shown: with the VM address it currently goes to (null: no lease yet). */
export const PortForwardView = Type.Object({
  proto: Type.String(),
  hostPort: Type.Integer(),
  vm: Type.String(),
  port: Type.Integer(),
  ip: Type.Union([Type.String(), Type.Null()]),
});
export type PortForwardView = Static<typeof PortForwardView>;

/** Body of POST /v1/networks. Omitted fields get defaults chosen by the daemon. */
export const NetworkCreate = Type.Object(
  {
    name: Name,
    mode: NetworkMode,
    bridge: Type.Optional(IfName),
    subnet: Type.Optional(Cidr),
    gateway: Type.Optional(Ipv4),
    dhcpRange: Type.Optional(DhcpRange),
    dhcp: Type.Optional(Type.Boolean()),
    dhcpHosts: Type.Optional(Type.Array(DhcpHost, { maxItems: 4096 })),
    uplink: Type.Optional(IfName),
    tftpRoot: Type.Optional(AbsPath),
    bootFile: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_./-]{1,255}$", errorHint: "a boot file must be a relative path of letters, digits, '_', '.', '/' or '-'" })),
    autostart: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type NetworkCreate = Static<typeof NetworkCreate>;

/** Body of PATCH /v1/networks/:name: what a defined network can change (dhcpHosts replaces the list). */
export const NetworkEdit = Type.Object(
  {
    dhcpHosts: Type.Optional(Type.Array(DhcpHost, { maxItems: 4096 })),
    autostart: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type NetworkEdit = Static<typeof NetworkEdit>;

export const Lease = Type.Object({
  mac: Type.String(),
  ip: Type.String(),
  hostname: Type.Union([Type.String(), Type.Null()]),
  expires: Type.Union([Type.Integer(), Type.Null()]),
});
export type Lease = Static<typeof Lease>;

/** A network as `net show --json` prints it. */
export const Network = Type.Object({
  name: Type.String(),
  mode: NetworkMode,
  bridge: Type.String(),
  subnet: Type.Union([Type.String(), Type.Null()]),
  gateway: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean(),
  autostart: Type.Boolean(),
  dhcp: Type.Union([DhcpRange, Type.Null()]),
  dhcpHosts: Type.Array(DhcpHost),
  uplink: Type.Union([Type.String(), Type.Null()]),
  tftpRoot: Type.Union([Type.String(), Type.Null()]),
  bootFile: Type.Union([Type.String(), Type.Null()]),
  ports: Type.Array(Type.String()),
  leases: Type.Array(Lease),
  dnsmasqPid: Type.Union([Type.Integer(), Type.Null()]),
  forwards: Type.Array(PortForwardView),
  /** kvmgr's nftables chains of this network that exist on the host now */
  nftChains: Type.Array(Type.String()),
  /** bridge mode with an uplink: the NIC enslaved and what was moved onto the bridge */
  moved: Type.Union([
    Type.Object({ dev: Type.String(), addresses: Type.Array(Type.String()), routes: Type.Array(Type.String()) }),
    Type.Null(),
  ]),
});
export type Network = Static<typeof Network>;
