/**
 * dnsmasq configuration of one network: the seed's options (S13) plus `no-ping`, which
 * saves the 3 s ping-before-offer on every new lease. Pure.
 * Options: https://thekelleys.org.uk/dnsmasq/docs/dnsmasq-man.html
 */
import { maskOf, parseCidr, formatIpv4 } from "../model/ipv4.js";
import type { NetworkSpec } from "../validate/network.js";

export interface DnsmasqPaths {
  pidFile: string;
  leaseFile: string;
  /** `dhcp-host` lines (reservations, VM names), re-read on SIGHUP: dnsmasq reads it unprivileged */
  hostsFile?: string;
}

export interface DnsmasqOptions {
  /** forward unknown names to the host's resolvers (false in a lab, which has none) */
  upstreamDns: boolean;
  /** DHCP lease time; short enough that moved NICs re-lease soon, long enough to be quiet */
  leaseTime: string;
}

/** A VM NIC on the network: dnsmasq gives it the VM's name (DHCP option 12 and DNS NAME.NET). */
export interface VmHost {
  mac: string;
  name: string;
}

/**
 * `dhcp-host` entries: the reservations, named after their hostname or else the VM owning the
 * MAC; then one line per other VM NIC (the first NIC of a VM on this network gets its name).
 * https://thekelleys.org.uk/dnsmasq/docs/dnsmasq-man.html (--dhcp-host)
 */
export function dhcpHostLines(spec: NetworkSpec, vms: readonly VmHost[]): string[] {
  const named = new Set<string>();
  const vmOf = new Map<string, string>();
  for (const v of vms) {
    if (!vmOf.has(v.mac) && !named.has(v.name)) {
      vmOf.set(v.mac, v.name);
      named.add(v.name);
    }
  }
  const lines: string[] = [];
  const reserved = new Set<string>();
  for (const h of spec.dhcpHosts) {
    reserved.add(h.mac);
    const name = h.hostname ?? vmOf.get(h.mac);
    lines.push([h.mac, h.ip, ...(name ? [name] : [])].join(","));
  }
  for (const [mac, name] of vmOf) if (!reserved.has(mac)) lines.push(`${mac},${name}`);
  return lines;
}

/** The `dhcp-hostsfile` of a network (one `dhcp-host` entry per line, without the option name). */
export function renderDhcpHostsFile(spec: NetworkSpec, vms: readonly VmHost[]): string {
  return [`# written by kvmgr for network ${spec.name}: reservations and VM names`, ...dhcpHostLines(spec, vms), ""].join("\n");
}

export function renderDnsmasqConf(spec: NetworkSpec, paths: DnsmasqPaths, opts: DnsmasqOptions): string {
  if (!spec.gateway || !spec.subnet) throw new Error(`network ${spec.name} has no address for dnsmasq`);
  const cidr = parseCidr(spec.subnet);
  const mask = cidr ? formatIpv4(maskOf(cidr.prefix)) : "255.255.255.0";
  const lines = [
    `# written by kvmgr for network ${spec.name}; kvmgr rewrites it at every start`,
    "strict-order",
    "except-interface=lo",
    `interface=${spec.bridge}`,
    `listen-address=${spec.gateway}`,
    "bind-interfaces",
    `pid-file=${paths.pidFile}`,
    "no-hosts",
    `domain=${spec.name}`,
    `local=/${spec.name}/`,
    "expand-hosts",
    ...(opts.upstreamDns ? [] : ["no-resolv"]),
  ];
  if (spec.dhcp) {
    lines.push(
      `dhcp-range=${spec.dhcp.start},${spec.dhcp.end},${mask},${opts.leaseTime}`,
      `dhcp-leasefile=${paths.leaseFile}`,
      "dhcp-no-override",
      "dhcp-authoritative",
      "no-ping",
      `dhcp-option=option:router,${spec.gateway}`,
      `dhcp-option=option:dns-server,${spec.gateway}`,
    );
    if (paths.hostsFile) lines.push(`dhcp-hostsfile=${paths.hostsFile}`);
    else lines.push(...dhcpHostLines(spec, []).map((h) => `dhcp-host=${h}`));
    if (spec.tftpRoot && spec.bootFile) {
      lines.push("enable-tftp", `tftp-root=${spec.tftpRoot}`, `dhcp-boot=${spec.bootFile}`);
    }
  }
  return lines.join("\n") + "\n";
}

export interface ParsedLease {
  expires: number;
  mac: string;
  ip: string;
  hostname: string | null;
}

/** dnsmasq lease file lines: `EXPIRY MAC IP HOSTNAME CLIENT-ID`, hostname `*` when unknown. */
export function parseLeases(text: string): ParsedLease[] {
  const out: ParsedLease[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[0] ?? "")) continue;
    const [exp, mac, ip, host] = f as [string, string, string, string];
    out.push({ expires: Number(exp), mac: mac.toLowerCase(), ip, hostname: host === "*" ? null : host });
  }
  return out;
}
