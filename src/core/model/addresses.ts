/**
 * A NIC's addresses merged from every witness, matched by MAC. Pure. Our DHCP lease comes
 * first (we handed it out), then what the guest agent reports, then the host's neighbour
 * table; an address seen by several keeps the first as `source` and lists all in `sources`.
 * Loopback and IPv6 link-local addresses are left out: they never reach the guest from outside.
 */
import type { AddressSource, NicAddress } from "../../api/vm-io.js";

export interface AgentAddress {
  mac: string | null;
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

export interface NeighEntry {
  ip: string;
  mac: string;
  state: string;
  /** the host link the neighbour was seen on */
  dev: string | null;
}

export interface AddressWitnesses {
  /** IPs our DHCP server leased to this MAC */
  leases: readonly string[];
  /** every address of every guest interface (matched here by MAC) */
  agent: readonly AgentAddress[];
  /** the host's neighbour table */
  neigh: readonly NeighEntry[];
  /**
   * the bridge the NIC is on now: entries of other links are stale (a NIC moved live keeps
   * its MAC, and the old bridge remembers its old address for a while)
   */
  link?: string;
}

function familyOf(ip: string): "ipv4" | "ipv6" {
  return ip.includes(":") ? "ipv6" : "ipv4";
}

function useful(ip: string): boolean {
  const l = ip.toLowerCase();
  if (l.startsWith("127.") || l === "::1") return false;
  return !/^fe[89ab][0-9a-f]:/.test(l);
}

/** Neighbour states that prove nothing about the MAC (no answer, or not resolved yet). */
const DEAD_NEIGH = new Set(["FAILED", "INCOMPLETE", "NOARP"]);

export function mergeNicAddresses(mac: string, w: AddressWitnesses): NicAddress[] {
  const want = mac.toLowerCase();
  const byIp = new Map<string, NicAddress>();
  const add = (ip: string, source: AddressSource, prefix?: number) => {
    if (!useful(ip)) return;
    const seen = byIp.get(ip);
    if (seen) {
      if (!seen.sources.includes(source)) seen.sources.push(source);
      if (seen.prefix === undefined && prefix !== undefined) seen.prefix = prefix;
      return;
    }
    byIp.set(ip, { ip, family: familyOf(ip), ...(prefix !== undefined ? { prefix } : {}), source, sources: [source] });
  };
  for (const ip of w.leases) add(ip, "lease");
  for (const a of w.agent) if (a.mac?.toLowerCase() === want) add(a.address, "agent", a.prefix);
  for (const n of w.neigh) {
    if (n.mac.toLowerCase() !== want || DEAD_NEIGH.has(n.state)) continue;
    if (w.link !== undefined && n.dev !== null && n.dev !== w.link) continue;
    add(n.ip, "arp");
  }
  return [...byIp.values()];
}

/** `ip -j neigh` output: entries with a link-layer address. */
export function parseIpNeighJson(text: string): NeighEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text || "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const out: NeighEntry[] = [];
  for (const e of data as Record<string, unknown>[]) {
    const ip = e.dst;
    const mac = e.lladdr;
    if (typeof ip !== "string" || typeof mac !== "string") continue;
    const states = Array.isArray(e.state) ? (e.state as unknown[]).filter((s): s is string => typeof s === "string") : [];
    out.push({ ip, mac: mac.toLowerCase(), state: states[0] ?? "UNKNOWN", dev: typeof e.dev === "string" ? e.dev : null });
  }
  return out;
}
