/**
 * kvmgr's nftables rules for one network, as one `nft -f -` transaction. Pure.
 *
 * kvmgr owns the table `inet kvmgr` and nothing else. Each network has base chains of its
 * own (as incus does: `in-NET`, `fwd-NET`, `nat-pre-NET`, `nat-out-NET`, `nat-post-NET`), so a network's
 * rules are added, replaced and removed as a whole in one atomic transaction, without rule
 * handles, and no network's rules can disturb another's. Several base chains on one hook
 * all see a packet: each chain only matches traffic of its own bridge, and a packet must
 * be accepted by every chain (of every table) to pass.
 *
 * Rule set per mode (libvirt's network_nftables.c, docs/firewall.rst, in nft words):
 * - every mode with a bridge: traffic between ports of the bridge is accepted (it crosses
 *   the forward hook when br_netfilter is active, as on every Docker host);
 * - internal, hostonly: nothing is forwarded in or out;
 * - nat: out from the subnet (to the uplink when one is named), in only when
 *   established/related or port-forwarded (from the LAN side, the host itself, and the
 *   network's own guests by the host's outside address: hairpin);
 *   masquerade of the subnet towards the outside;
 * - routed: in to and out from the subnet, no NAT;
 * - guests reach the host only for DHCP, DNS (TFTP with PXE) and ICMP echo.
 * https://wiki.nftables.org/wiki-nftables/index.php/Quick_reference-nftables_in_10_minutes
 */
import type { NetworkMode } from "../../api/network.js";

export const NFT_FAMILY = "inet";
export const NFT_TABLE = "kvmgr";

/** A port forward whose target address is known (from the VM's lease). */
export interface ResolvedForward {
  proto: "tcp" | "udp";
  hostPort: number;
  ip: string;
  port: number;
}

/** What the rules of one network depend on. */
export interface NetworkFirewall {
  name: string;
  mode: NetworkMode;
  bridge: string;
  subnet: string | null;
  /** dnsmasq runs: DHCP and DNS from guests are accepted */
  dhcp: boolean;
  /** TFTP from guests is accepted */
  tftp: boolean;
  /** outgoing interface named by the user (nat, routed); null = any */
  uplink: string | null;
  forwards: readonly ResolvedForward[];
  /**
   * the interface port forwards come in by (the uplink, else the default route's); only
   * traffic from there is forwarded, so a forward never opens a way in from another of
   * kvmgr's networks. null: anything not from this network's own bridge.
   */
  inbound: string | null;
}

export type ChainRole = "in" | "fwd" | "nat-pre" | "nat-out" | "nat-post";
export const CHAIN_ROLES: readonly ChainRole[] = ["in", "fwd", "nat-pre", "nat-out", "nat-post"];

const HOOKS: Record<ChainRole, string> = {
  in: "type filter hook input priority filter; policy accept;",
  fwd: "type filter hook forward priority filter; policy accept;",
  "nat-pre": "type nat hook prerouting priority dstnat; policy accept;",
  // nft 1.0.6 (Debian 12) knows the name dstnat only on prerouting: -100 is its value.
  "nat-out": "type nat hook output priority -100; policy accept;",
  "nat-post": "type nat hook postrouting priority srcnat; policy accept;",
};

export function chainName(role: ChainRole, network: string): string {
  return `${role}-${network}`;
}

/** Names of every chain a network may own, whatever its rules need now. */
export function networkChains(network: string): string[] {
  return CHAIN_ROLES.map((r) => chainName(r, network));
}

const q = (s: string) => JSON.stringify(s);

/** The rules of each chain of a network; a role absent from the result has no chain. */
export function networkRules(fw: NetworkFirewall): Partial<Record<ChainRole, string[]>> {
  const br = q(fw.bridge);
  const out: Partial<Record<ChainRole, string[]>> = {};
  const same = `iifname ${br} oifname ${br} accept`;
  const rejectBoth = [`iifname ${br} reject with icmpx type admin-prohibited`, `oifname ${br} reject with icmpx type admin-prohibited`];
  const input = (): string[] => {
    const r = [`iifname ${br} ct state established,related accept`];
    if (fw.dhcp) {
      r.push(`iifname ${br} udp dport { 53, 67 } accept`, `iifname ${br} tcp dport 53 accept`);
      if (fw.tftp) r.push(`iifname ${br} udp dport 69 accept`);
    }
    r.push(`iifname ${br} icmp type echo-request accept`, `iifname ${br} drop`);
    return r;
  };
  switch (fw.mode) {
    case "bridge":
      // The bridge carries the host's own LAN address: kvmgr filters nothing on it.
      return out;
    case "internal":
      out.in = [`iifname ${br} drop`];
      out.fwd = [same, ...rejectBoth];
      return out;
    case "hostonly":
      out.in = input();
      out.fwd = [same, ...rejectBoth];
      return out;
    case "nat":
    case "routed": {
      const sn = fw.subnet ?? "0.0.0.0/0";
      const up = fw.uplink ? ` oifname ${q(fw.uplink)}` : "";
      out.in = input();
      const fwd = [same];
      if (fw.mode === "nat") {
        fwd.push(`oifname ${br} ip daddr ${sn} ct state established,related accept`);
        if (fw.forwards.length > 0) fwd.push(`oifname ${br} ip daddr ${sn} ct status dnat accept`);
      } else {
        fwd.push(`oifname ${br} ip daddr ${sn} accept`);
      }
      fwd.push(`iifname ${br} ip saddr ${sn}${up} accept`, ...rejectBoth);
      out.fwd = fwd;
      if (fw.mode === "nat") {
        out["nat-post"] = [
          // Multicast and broadcast stay local, as libvirt does.
          `ip saddr ${sn} ip daddr 224.0.0.0/24 return`,
          `ip saddr ${sn} ip daddr 255.255.255.255 return`,
          `ip saddr ${sn} ip daddr != ${sn}${up} masquerade`,
        ];
        if (fw.forwards.length > 0) {
          // DNAT on the host's own addresses, for traffic from the LAN side only…
          const from = fw.inbound ? `iifname ${q(fw.inbound)}` : `iifname != ${br}`;
          // …and from this network's own guests to an address of the host outside it (hairpin:
          // what works from the LAN works from the next VM too). The gateway is left alone: a
          // forward of host port 53 must not take the guests' DNS.
          const hairpin = `iifname ${br} ip saddr ${sn} ip daddr != ${sn}`;
          out["nat-pre"] = fw.forwards.flatMap((f) => [
            `${from} fib daddr type local ${f.proto} dport ${f.hostPort} dnat ip to ${f.ip}:${f.port}`,
            `${hairpin} fib daddr type local ${f.proto} dport ${f.hostPort} dnat ip to ${f.ip}:${f.port}`,
          ]);
          // A hairpinned connection leaves by the bridge it came in by: masqueraded, the target's
          // answer comes back through the host (to be un-DNATed) instead of straight to the guest.
          out["nat-post"].push(`oifname ${br} ip saddr ${sn} ip daddr ${sn} ct status dnat masquerade`);
          // And from the host itself, to any of its addresses but loopback (whose source
          // address could not leave the host): `curl HOST:PORT` on the host works too.
          out["nat-out"] = fw.forwards.map((f) => `fib daddr type local ip daddr != 127.0.0.0/8 ${f.proto} dport ${f.hostPort} dnat ip to ${f.ip}:${f.port}`);
        }
      }
      return out;
    }
  }
}

/**
 * The transaction that makes the host's rules of this network exactly `fw`: chains it
 * needs are created (or emptied) and filled, chains it no longer needs are removed.
 */
export function renderNetworkNft(fw: NetworkFirewall): string {
  const rules = networkRules(fw);
  const t = `${NFT_FAMILY} ${NFT_TABLE}`;
  const lines = [`# kvmgr: network ${fw.name}`, `add table ${t}`];
  for (const role of CHAIN_ROLES) {
    const chain = chainName(role, fw.name);
    const r = rules[role];
    if (r) {
      lines.push(`add chain ${t} ${chain} { ${HOOKS[role]} }`, `flush chain ${t} ${chain}`);
      for (const rule of r) lines.push(`add rule ${t} ${chain} ${rule}`);
    } else {
      lines.push(...removeChainLines(chain));
    }
  }
  return lines.join("\n") + "\n";
}

/** Whether a network of this mode has any rules of kvmgr (bridge mode has none). */
export function hasNftRules(fw: NetworkFirewall): boolean {
  return Object.keys(networkRules(fw)).length > 0;
}

function removeChainLines(chain: string): string[] {
  const t = `${NFT_FAMILY} ${NFT_TABLE}`;
  // add + flush + delete: removes the chain whether or not it exists, in one transaction.
  return [`add chain ${t} ${chain}`, `flush chain ${t} ${chain}`, `delete chain ${t} ${chain}`];
}

/** The transaction that removes every chain of a network (and nothing else). */
export function renderNetworkNftRemoval(network: string): string {
  const lines = [`# kvmgr: remove network ${network}`, `add table ${NFT_FAMILY} ${NFT_TABLE}`];
  for (const chain of networkChains(network)) lines.push(...removeChainLines(chain));
  return lines.join("\n") + "\n";
}

/** Removes kvmgr's table when nothing is left in it. */
export function renderTableRemoval(): string {
  return `add table ${NFT_FAMILY} ${NFT_TABLE}\ndelete table ${NFT_FAMILY} ${NFT_TABLE}\n`;
}
