/**
 * Validation and normalisation of a network definition: from what the user typed to the
 * complete spec kvmgr stores, every default filled in. Pure: what it needs to know of the
 * host comes in as data.
 */
import { KvmgrError, invalid } from "../../api/errors.js";
import type { DhcpHost, NetworkCreate, NetworkMode, PortForward } from "../../api/network.js";
import { checkSchema } from "./schema-check.js";
import { NetworkCreate as NetworkCreateSchema, NetworkEdit as NetworkEditSchema } from "../../api/network.js";
import {
  broadcastOf,
  contains,
  formatCidr,
  formatIpv4,
  overlaps,
  parseCidr,
  parseIpv4,
  subnetOf,
  type Subnet,
} from "../model/ipv4.js";
import { isMulticastMac, isZeroMac, normalizeMac } from "../model/mac.js";

/** IPv4 ranges that no network's subnet may be (RFC 6890): hosts could never use them as one. */
const SPECIAL_RANGES: readonly { range: Subnet; what: string }[] = [
  { range: subnetOf(0x00000000, 8), what: "the 'this network' range" },
  { range: subnetOf(0x7f000000, 8), what: "the loopback range" },
  { range: subnetOf(0xe0000000, 4), what: "the multicast range" },
  { range: subnetOf(0xf0000000, 4), what: "the reserved range" },
];

/** The complete, normalised definition of a network, as stored. */
export interface NetworkSpec {
  name: string;
  mode: NetworkMode;
  bridge: string;
  subnet: string | null;
  gateway: string | null;
  dhcp: { start: string; end: string } | null;
  dhcpHosts: DhcpHost[];
  /** for nat/routed: the outgoing interface (null = the one of the default route); for bridge: the NIC enslaved */
  uplink: string | null;
  tftpRoot: string | null;
  bootFile: string | null;
  autostart: boolean;
  /** nat only: host ports forwarded to VMs */
  forwards: PortForward[];
}

/** Specs stored by an older kvmgr lack newer fields: fill their defaults. */
export function normalizeStoredSpec(spec: Omit<NetworkSpec, "forwards"> & { forwards?: PortForward[] }): NetworkSpec {
  return { ...spec, forwards: spec.forwards ?? [] };
}

/** What validation must know of the world. */
export interface NetworkContext {
  networks: readonly (Pick<NetworkSpec, "name" | "bridge" | "subnet"> & { mode?: NetworkMode; uplink?: string | null })[];
  /** interface names present on the managed host that kvmgr did not create */
  hostLinks: readonly string[];
  /** those of `hostLinks` that are bridges */
  hostBridges?: readonly string[];
  /** those of `hostLinks` that are ports of a bridge (or other master), by name: master */
  hostMasters?: Readonly<Record<string, string>>;
  /** subnets of addresses and routes on the managed host (e.g. 172.16.0.0/16 of eth0) */
  hostSubnets: readonly string[];
}

const needsAddress = (m: NetworkMode): boolean => m === "hostonly" || m === "nat" || m === "routed";

/** Pick the first free 192.168.N.0/24 for a network created without --subnet. */
export function pickFreeSubnet(taken: readonly Subnet[]): Subnet | null {
  for (let n = 100; n < 255; n++) {
    const s: Subnet = { network: parseIpv4(`192.168.${n}.0`) ?? 0, prefix: 24 };
    if (!taken.some((t) => overlaps(t, s))) return s;
  }
  return null;
}

/** Pick the lowest free `kvbrN` bridge name. */
export function pickBridgeName(used: ReadonlySet<string>): string {
  for (let n = 0; ; n++) if (!used.has(`kvbr${n}`)) return `kvbr${n}`;
}

export function validateNetworkCreate(input: NetworkCreate, ctx: NetworkContext): NetworkSpec {
  checkSchema(NetworkCreateSchema, input);
  const { mode } = input;
  if (ctx.networks.some((n) => n.name === input.name)) {
    throw new KvmgrError("KVMGR_ERR_NET_EXISTS", `A network named '${input.name}' already exists.`);
  }
  const otherSubnets = ctx.networks.flatMap((n) => (n.subnet ? [n.subnet] : []));
  const usedNames = new Set([...ctx.hostLinks, ...ctx.networks.map((n) => n.bridge)]);

  // Bridge.
  let bridge: string;
  if (input.bridge !== undefined) {
    bridge = input.bridge;
    const owner = ctx.networks.find((n) => n.bridge === bridge);
    if (owner) throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Bridge '${bridge}' already belongs to network '${owner.name}'.`);
    // Only bridge mode may join an existing host bridge; every other mode creates its own.
    if (mode !== "bridge" && ctx.hostLinks.includes(bridge)) {
      throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `An interface named '${bridge}' already exists on the host and is not kvmgr's.`);
    }
  } else {
    bridge = mode === "bridge" ? "br0" : pickBridgeName(usedNames);
    if (mode === "bridge" && usedNames.has(bridge)) bridge = pickBridgeName(usedNames);
  }

  if (mode === "bridge") return validateBridgeMode(input, ctx, bridge);

  if (input.uplink !== undefined && mode !== "nat" && mode !== "routed") {
    throw invalid("uplink", `--uplink applies only to nat, routed and bridge networks, not to ${mode}.`);
  }

  // Subnet.
  let subnet: Subnet | null = null;
  if (input.subnet !== undefined) {
    const c = parseCidr(input.subnet);
    if (!c) throw invalid("subnet", `'${input.subnet}' is not a subnet; use an IPv4 address and a prefix length, e.g. 10.0.0.0/24.`);
    subnet = subnetOf(c.addr, c.prefix);
    if (subnet.network !== c.addr) {
      throw invalid("subnet", `Subnet ${input.subnet} has host bits set; did you mean ${formatCidr(subnet)}?`);
    }
    if (needsAddress(mode) && subnet.prefix > 30) {
      throw invalid("subnet", `Subnet ${input.subnet} is too small: a ${mode} network needs at least a /30.`);
    }
    if (subnet.prefix < 8) throw invalid("subnet", `Subnet ${input.subnet} is too large: use a prefix of /8 or longer.`);
    const asked = subnet;
    const special = SPECIAL_RANGES.find((r) => overlaps(asked, r.range));
    if (special) throw invalid("subnet", `Subnet ${input.subnet} overlaps ${special.what} (${formatCidr(special.range)}): use a private range such as 10.0.0.0/8 or 192.168.0.0/16.`);
  } else if (needsAddress(mode)) {
    const taken = [...otherSubnets, ...ctx.hostSubnets].flatMap((s) => {
      const c = parseCidr(s);
      return c ? [subnetOf(c.addr, c.prefix)] : [];
    });
    subnet = pickFreeSubnet(taken);
    if (!subnet) throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", "No free 192.168.N.0/24 subnet is left; give one with --subnet.");
  }
  if (subnet) {
    for (const other of ctx.networks) {
      const c = other.subnet ? parseCidr(other.subnet) : null;
      if (c && overlaps(subnet, subnetOf(c.addr, c.prefix))) {
        throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Subnet ${formatCidr(subnet)} overlaps ${other.subnet} of network '${other.name}'.`);
      }
    }
    for (const hs of ctx.hostSubnets) {
      const c = parseCidr(hs);
      if (c && overlaps(subnet, subnetOf(c.addr, c.prefix))) {
        throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Subnet ${formatCidr(subnet)} overlaps ${hs}, which the host already routes.`);
      }
    }
  }

  // Gateway (the bridge's address).
  let gateway: number | null = null;
  if (mode === "internal") {
    if (input.gateway !== undefined) throw invalid("gateway", "An internal network has no host address: --gateway does not apply.");
  } else if (subnet) {
    gateway = input.gateway !== undefined ? parseIpv4(input.gateway) : subnet.network + 1;
    if (gateway === null) throw invalid("gateway", `'${input.gateway ?? ""}' is not an IPv4 address.`);
    checkHostAddress("gateway", "The gateway", gateway, subnet);
  }

  // DHCP.
  const dhcpWanted = needsAddress(mode) && input.dhcp !== false;
  if (!dhcpWanted && input.dhcpRange !== undefined) {
    throw invalid("dhcpRange", mode === "internal" ? "An internal network has no DHCP server: --dhcp-range does not apply." : "--dhcp-range conflicts with --no-dhcp.");
  }
  let dhcp: { start: string; end: string } | null = null;
  if (dhcpWanted && subnet && gateway !== null) {
    const bcast = broadcastOf(subnet);
    let start: number, end: number;
    if (input.dhcpRange) {
      const s = parseIpv4(input.dhcpRange.start);
      const e = parseIpv4(input.dhcpRange.end);
      if (s === null || e === null) throw invalid("dhcpRange", "A DHCP range must be two IPv4 addresses, FIRST,LAST.");
      start = s;
      end = e;
      const sn = formatCidr(subnet);
      if (!contains(subnet, start) || !contains(subnet, end)) {
        throw invalid("dhcpRange", `DHCP range ${input.dhcpRange.start}-${input.dhcpRange.end} is outside the subnet ${sn}.`);
      }
      if (start > end) throw invalid("dhcpRange", `DHCP range ${input.dhcpRange.start}-${input.dhcpRange.end} ends before it starts.`);
      if (start === subnet.network || end === bcast) {
        throw invalid("dhcpRange", `DHCP range ${input.dhcpRange.start}-${input.dhcpRange.end} includes the network or broadcast address of ${sn}.`);
      }
      if (gateway >= start && gateway <= end) {
        throw invalid("dhcpRange", `DHCP range ${input.dhcpRange.start}-${input.dhcpRange.end} contains the gateway ${formatIpv4(gateway)}.`);
      }
    } else {
      // The larger side of the gateway, so the usual .1 gateway gives .2–.254.
      const lowFirst = subnet.network + 1, lowLast = gateway - 1;
      const highFirst = gateway + 1, highLast = bcast - 1;
      if (highLast - highFirst >= lowLast - lowFirst) [start, end] = [highFirst, highLast];
      else [start, end] = [lowFirst, lowLast];
      if (start > end) throw invalid("subnet", `Subnet ${formatCidr(subnet)} leaves no room for DHCP addresses.`);
    }
    dhcp = { start: formatIpv4(start), end: formatIpv4(end) };
  }

  if ((input.tftpRoot === undefined) !== (input.bootFile === undefined)) {
    throw invalid("tftpRoot", "--tftp-root and --boot-file go together.");
  }
  if (input.tftpRoot !== undefined && !dhcp) throw invalid("tftpRoot", "PXE boot (--tftp-root) needs a network with DHCP.");

  const hosts = validateDhcpHosts(input.dhcpHosts ?? [], dhcp ? subnet : null, gateway);
  return finish(input, bridge, subnet ? formatCidr(subnet) : null, gateway === null ? null : formatIpv4(gateway), dhcp, hosts);
}

/** DHCP reservations, normalised; `subnet` null: the network has no DHCP of kvmgr's. */
function validateDhcpHosts(input: readonly DhcpHost[], subnet: Subnet | null, gateway: number | null): DhcpHost[] {
  const hosts: DhcpHost[] = [];
  for (const h of input) {
    if (!subnet) throw invalid("dhcpHosts", "DHCP reservations need a network with DHCP.");
    const mac = normalizeMac(h.mac);
    const ip = parseIpv4(h.ip);
    if (isMulticastMac(mac) || isZeroMac(mac)) throw invalid("dhcpHosts", `MAC ${h.mac} is a multicast or zero address and cannot belong to a NIC.`);
    if (ip === null) throw invalid("dhcpHosts", `'${h.ip}' is not an IPv4 address.`);
    checkHostAddress("dhcpHosts", `Reserved address ${h.ip}`, ip, subnet);
    if (ip === gateway) throw invalid("dhcpHosts", `Reserved address ${h.ip} is the gateway.`);
    if (hosts.some((o) => o.mac === mac)) throw invalid("dhcpHosts", `MAC ${h.mac} is reserved twice.`);
    if (hosts.some((o) => o.ip === h.ip)) throw invalid("dhcpHosts", `Address ${h.ip} is reserved twice.`);
    hosts.push(h.hostname !== undefined ? { mac, ip: h.ip, hostname: h.hostname } : { mac, ip: h.ip });
  }
  return hosts;
}

/**
 * A defined network's edit: what can change without rebuilding it (autostart, DHCP
 * reservations, which a running dnsmasq re-reads). The rest is fixed at creation, as the
 * bridge, subnet and firewall are built from it; delete and create again to change it.
 */
export function validateNetworkEdit(spec: NetworkSpec, edit: unknown): NetworkSpec {
  checkSchema(NetworkEditSchema, edit);
  const out: NetworkSpec = { ...spec };
  if (edit.autostart !== undefined) out.autostart = edit.autostart;
  if (edit.dhcpHosts !== undefined) {
    const c = spec.dhcp && spec.subnet ? parseCidr(spec.subnet) : null;
    out.dhcpHosts = validateDhcpHosts(edit.dhcpHosts, c ? subnetOf(c.addr, c.prefix) : null, spec.gateway === null ? null : parseIpv4(spec.gateway));
  }
  return out;
}

/** Bridge mode: join a host bridge (`--bridge BR` that exists) or create one around a NIC (`--uplink`). */
function validateBridgeMode(input: NetworkCreate, ctx: NetworkContext, bridge: string): NetworkSpec {
  if (input.subnet !== undefined || input.gateway !== undefined || input.dhcpRange !== undefined) {
    throw invalid("subnet", "A bridge-mode network gets its addresses from the LAN: --subnet, --gateway and --dhcp-range do not apply.");
  }
  if (input.tftpRoot !== undefined || (input.dhcpHosts ?? []).length > 0) {
    throw invalid("tftpRoot", "A bridge-mode network has no DHCP server of kvmgr: PXE and reservations come from the LAN's.");
  }
  const exists = ctx.hostLinks.includes(bridge);
  if (input.bridge !== undefined && exists) {
    if (ctx.hostBridges && !ctx.hostBridges.includes(bridge)) {
      throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Interface '${bridge}' exists on the host but is not a bridge.`);
    }
    if (input.uplink !== undefined) {
      throw invalid("uplink", `Bridge '${bridge}' already exists: kvmgr joins it as it is; --uplink applies only when kvmgr creates the bridge.`);
    }
    return finish(input, bridge, null, null, null, []);
  }
  if (input.uplink === undefined) {
    throw invalid("uplink", input.bridge !== undefined
      ? `The host has no bridge named '${bridge}': give --uplink IFACE to create it around that NIC, or name an existing bridge.`
      : "A bridge-mode network needs --uplink IFACE (a NIC to enslave) or --bridge BR (an existing host bridge).");
  }
  const uplink = input.uplink;
  if (!ctx.hostLinks.includes(uplink)) throw invalid("uplink", `The host has no interface named '${uplink}'.`);
  if (ctx.hostBridges?.includes(uplink)) {
    throw invalid("uplink", `'${uplink}' is itself a bridge: use --bridge ${uplink} to join it.`);
  }
  const master = ctx.hostMasters?.[uplink];
  if (master !== undefined) {
    throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Interface '${uplink}' is already a port of '${master}'; use --bridge ${master} to join that bridge.`);
  }
  const user = ctx.networks.find((n) => n.mode === "bridge" && n.uplink === uplink);
  if (user) throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Interface '${uplink}' is already the uplink of bridge-mode network '${user.name}'.`);
  return finish(input, bridge, null, null, null, []);
}

function checkHostAddress(field: string, what: string, addr: number, subnet: Subnet): void {
  const sn = formatCidr(subnet);
  if (!contains(subnet, addr)) throw invalid(field, `${what} ${formatIpv4(addr)} is outside the subnet ${sn}.`);
  if (addr === subnet.network) throw invalid(field, `${what} ${formatIpv4(addr)} is the network address of ${sn}.`);
  if (addr === broadcastOf(subnet)) throw invalid(field, `${what} ${formatIpv4(addr)} is the broadcast address of ${sn}.`);
}

function finish(
  input: NetworkCreate,
  bridge: string,
  subnet: string | null,
  gateway: string | null,
  dhcp: NetworkSpec["dhcp"],
  dhcpHosts: DhcpHost[],
): NetworkSpec {
  return {
    name: input.name,
    mode: input.mode,
    bridge,
    subnet,
    gateway,
    dhcp,
    dhcpHosts,
    uplink: input.uplink ?? null,
    tftpRoot: input.tftpRoot ?? null,
    bootFile: input.bootFile ?? null,
    autostart: input.autostart ?? false,
    forwards: [],
  };
}
