/** What the host must look like for a network to be up, as steps. Pure. */
import { parseCidr } from "../model/ipv4.js";
import { renderDhcpHostsFile, renderDnsmasqConf, type DnsmasqOptions, type VmHost } from "../render/dnsmasq-conf.js";
import { hasNftRules, renderNetworkNft, type NetworkFirewall, type ResolvedForward } from "../render/nft-ruleset.js";
import type { NetworkSpec } from "../validate/network.js";
import { planUndo, type AddrSpec, type HostStep, type RouteSpec, type UplinkMove } from "./host-step.js";

export interface NetworkRunPaths {
  dir: string;
  confFile: string;
  pidFile: string;
  leaseFile: string;
  /** dnsmasq's `dhcp-hostsfile`, in a directory dnsmasq can read after dropping root */
  hostsFile: string;
}

/**
 * Run files of a network: private ones under the daemon's run directory, the hosts file
 * (which dnsmasq re-reads unprivileged on SIGHUP) under `publicDir`.
 */
export function networkRunPaths(runDir: string, name: string, publicDir = `${runDir}/public`): NetworkRunPaths {
  const dir = `${runDir}/networks/${name}`;
  return { dir, confFile: `${dir}/dnsmasq.conf`, pidFile: `${dir}/dnsmasq.pid`, leaseFile: `${dir}/dnsmasq.leases`, hostsFile: `${publicDir}/${name}.hosts` };
}

export function needsDnsmasq(spec: NetworkSpec): boolean {
  return spec.dhcp !== null && spec.gateway !== null;
}

/** A bridge-mode network that joins a bridge the host already has (no uplink to enslave). */
export function joinsHostBridge(spec: NetworkSpec): boolean {
  return spec.mode === "bridge" && spec.uplink === null;
}

/** Whether the host must forward IPv4 for this network. */
export function needsForwarding(spec: NetworkSpec): boolean {
  return spec.mode === "nat" || spec.mode === "routed";
}

/**
 * The firewall input of a network, from its spec and the forwards whose targets have an
 * address. `inbound` is where port forwards come in: the uplink, or the interface of the
 * default route when the network names none (found at start).
 */
export function firewallOf(spec: NetworkSpec, forwards: readonly ResolvedForward[] = [], inbound: string | null = null): NetworkFirewall {
  return {
    name: spec.name,
    mode: spec.mode,
    bridge: spec.bridge,
    subnet: spec.subnet,
    dhcp: needsDnsmasq(spec),
    tftp: spec.tftpRoot !== null,
    uplink: spec.mode === "nat" || spec.mode === "routed" ? spec.uplink : null,
    forwards: spec.mode === "nat" ? forwards : [],
    inbound: spec.uplink ?? inbound,
  };
}

/** The NIC a bridge-mode network enslaves, as observed before the start. */
export interface UplinkState {
  mac: string;
  addresses: AddrSpec[];
  routes: RouteSpec[];
}

export interface NetworkStartInput {
  spec: NetworkSpec;
  paths: NetworkRunPaths;
  dns: DnsmasqOptions;
  /** bridge mode with --uplink: the NIC's state before the start (null otherwise) */
  uplink: UplinkState | null;
  forwards?: readonly ResolvedForward[];
  /** where port forwards come in when the network names no uplink */
  inbound?: string | null;
  /** VM NICs on the network, named in DHCP and DNS */
  vmHosts?: readonly VmHost[];
}

/** What a start will move off the uplink NIC (recorded before the start, replayed at stop). */
export function uplinkMoveOf(spec: NetworkSpec, uplink: UplinkState | null): UplinkMove | null {
  if (spec.mode !== "bridge" || spec.uplink === null) return null;
  return { dev: spec.uplink, bridge: spec.bridge, addresses: uplink?.addresses ?? [], routes: uplink?.routes ?? [] };
}

export function planNetworkStart(input: NetworkStartInput): HostStep[] {
  const { spec, paths } = input;
  const steps: HostStep[] = [];
  if (spec.mode === "bridge") {
    // Joining a host bridge changes nothing on the host; VMs' taps are added to it.
    if (spec.uplink === null) return steps;
    const move = uplinkMoveOf(spec, input.uplink);
    // The bridge takes the NIC's MAC: the LAN keeps seeing the host at the same address.
    steps.push(input.uplink ? { kind: "bridge.add", name: spec.bridge, mac: input.uplink.mac } : { kind: "bridge.add", name: spec.bridge });
    if (move) steps.push({ kind: "uplink.enslave", ...move });
    steps.push({ kind: "link.up", dev: spec.bridge });
    return steps;
  }
  const fw = firewallOf(spec, input.forwards ?? [], input.inbound ?? null);
  // Rules first: the bridge never exists without them.
  if (hasNftRules(fw)) steps.push({ kind: "nft.apply", network: spec.name, text: renderNetworkNft(fw) });
  steps.push({ kind: "bridge.add", name: spec.bridge });
  if (spec.gateway && spec.subnet) {
    const c = parseCidr(spec.subnet);
    steps.push({ kind: "addr.add", dev: spec.bridge, cidr: `${spec.gateway}/${c?.prefix ?? 24}` });
  }
  steps.push({ kind: "link.up", dev: spec.bridge });
  if (needsDnsmasq(spec)) {
    steps.push({ kind: "file.write", path: paths.confFile, content: renderDnsmasqConf(spec, paths, input.dns) });
    steps.push({ kind: "file.write", path: paths.hostsFile, content: renderDhcpHostsFile(spec, input.vmHosts ?? []), mode: 0o644 });
    steps.push({ kind: "dnsmasq.start", network: spec.name, confFile: paths.confFile, pidFile: paths.pidFile });
  }
  return steps;
}

/**
 * Stopping replays the undo of a full start, so it removes exactly what a start makes,
 * whatever state a crash left (each undo step tolerates an already-missing object).
 * `moved` is what the start recorded it moved off a bridge-mode uplink.
 */
export function planNetworkStop(spec: NetworkSpec, paths: NetworkRunPaths, moved: UplinkMove | null = null): HostStep[] {
  // (the lease file stays: a restarted network gives its VMs their addresses back)
  const uplink = moved ? { mac: "", addresses: moved.addresses, routes: moved.routes } : null;
  const start = planNetworkStart({ spec, paths, dns: { upstreamDns: false, leaseTime: "1h" }, uplink });
  return [...planUndo(start), { kind: "file.remove", path: paths.pidFile }];
}

/** Steps that give a running dnsmasq a new hosts file (VMs came, went or moved): write, then SIGHUP. */
export function planDnsmasqHostsUpdate(spec: NetworkSpec, paths: NetworkRunPaths, vmHosts: readonly VmHost[]): HostStep[] {
  if (!needsDnsmasq(spec)) return [];
  return [
    { kind: "file.write", path: paths.hostsFile, content: renderDhcpHostsFile(spec, vmHosts), mode: 0o644 },
    { kind: "dnsmasq.reload", network: spec.name, pidFile: paths.pidFile, confFile: paths.confFile },
  ];
}
