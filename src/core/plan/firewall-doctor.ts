/**
 * Other programs' firewalls (Docker, firewalld, ufw) and kvmgr's networks. Pure.
 *
 * Every base chain of every table sees a packet on its hook, and one drop anywhere is final:
 * kvmgr's own accepts cannot overrule Docker's `FORWARD` policy drop (which also drops
 * traffic between ports of a bridge once br_netfilter is loaded) nor firewalld's final
 * reject on input (which drops DHCP and DNS from guests). So, as libvirt does with its
 * firewalld zone and incus's documentation does with DOCKER-USER, kvmgr lets its own
 * traffic through those chains with narrow accepts at their top: matched by its bridge and
 * subnet only, marked with the comment `kvmgr:NET`, recorded, and removed with the network.
 */
import { isUnconditional, ruleVerdict, type NftChain, type NftRule, type NftRuleset } from "../model/nft-json.js";
import { parseCidr, overlaps, subnetOf } from "../model/ipv4.js";
import { NFT_FAMILY, NFT_TABLE, type NetworkFirewall } from "../render/nft-ruleset.js";

/** What the doctor needs of a network: the part of its firewall inputs that says what must pass. */
export type DoctorNetwork = Pick<NetworkFirewall, "name" | "mode" | "bridge" | "subnet" | "dhcp" | "tftp">;

/** A foreign chain that drops some of a network's traffic, and the accepts that let it through. */
export interface ForeignFinding {
  network: string;
  family: string;
  table: string;
  chain: string;
  hook: "forward" | "input";
  /** one sentence: what drops what */
  problem: string;
  /** the accept rules kvmgr inserts at the chain's top (nft rule text, without the comment) */
  rules: string[];
  /** kvmgr's accepts for this network are already in that chain */
  fixed: boolean;
  /** the table's family has no IPv4 rules kvmgr can write (e.g. `bridge`): only reported */
  fixable: boolean;
}

export function commentOf(network: string): string {
  return `kvmgr:${network}`;
}

const q = (s: string) => JSON.stringify(s);

/**
 * The accepts a network needs in a foreign chain of `hook`. They only say "this is kvmgr's
 * traffic": kvmgr's own chains still decide what of it passes (e.g. nothing new into a nat
 * network). Plain matches, no sets and no `ct`: iptables-nft (Docker's, ufw's) can still read
 * a chain that holds them, and Docker keeps working.
 */
export function acceptRules(n: DoctorNetwork, hook: "forward" | "input"): string[] {
  const br = q(n.bridge);
  if (hook === "input") {
    if (!n.dhcp) return [];
    const r = [`iifname ${br} udp dport 67 accept`, `iifname ${br} udp dport 53 accept`, `iifname ${br} tcp dport 53 accept`];
    if (n.tftp) r.push(`iifname ${br} udp dport 69 accept`);
    r.push(`iifname ${br} icmp type echo-request accept`);
    return r;
  }
  const r = [`iifname ${br} oifname ${br} accept`];
  const sn = n.subnet;
  if (sn && (n.mode === "nat" || n.mode === "routed")) r.push(`iifname ${br} ip saddr ${sn} accept`, `oifname ${br} ip daddr ${sn} accept`);
  return r;
}

/** Does a rule name this network's bridge or subnet (an explicit rule against it)? */
function mentions(r: NftRule, n: DoctorNetwork): boolean {
  const sn = n.subnet ? parseCidr(n.subnet) : null;
  const net = sn ? subnetOf(sn.addr, sn.prefix) : null;
  return r.expr.some((e) => {
    const m = (e as { match?: { left?: unknown; right?: unknown } }).match;
    if (!m) return false;
    const left = m.left as { meta?: { key?: string }; payload?: { protocol?: string; field?: string } } | undefined;
    if (left?.meta?.key === "iifname" || left?.meta?.key === "oifname") return m.right === n.bridge;
    if (net && left?.payload?.protocol === "ip" && (left.payload.field === "saddr" || left.payload.field === "daddr")) {
      const right = m.right as { prefix?: { addr?: string; len?: number } } | string;
      const cidr = typeof right === "string" ? parseCidr(`${right}/32`) : right.prefix ? parseCidr(`${right.prefix.addr}/${right.prefix.len}`) : null;
      return cidr !== null && overlaps(net, subnetOf(cidr.addr, cidr.prefix));
    }
    return false;
  });
}

/** Why a chain drops this network's traffic, or null when it does not. */
function dropReason(chain: NftChain, rules: readonly NftRule[], n: DoctorNetwork): string | null {
  const where = `${chain.family} ${chain.table} ${chain.name} (hook ${chain.hook ?? "?"})`;
  const explicit = rules.find((r) => (ruleVerdict(r) === "drop" || ruleVerdict(r) === "reject") && mentions(r, n));
  if (explicit) return `Chain ${where} has a rule (handle ${explicit.handle}) that drops traffic of bridge ${n.bridge}`;
  if (chain.policy === "drop") return `Chain ${where} drops by default (policy drop)`;
  const last = rules.at(-1);
  if (last && isUnconditional(last) && (ruleVerdict(last) === "drop" || ruleVerdict(last) === "reject")) {
    return `Chain ${where} ends with a rule (handle ${last.handle}) that ${ruleVerdict(last)}s everything not accepted before it`;
  }
  return null;
}

/** What in other programs' tables stops kvmgr's networks, and the accepts that fix it. */
export function analyzeForeignFirewall(rs: NftRuleset, networks: readonly DoctorNetwork[]): ForeignFinding[] {
  const out: ForeignFinding[] = [];
  const base = rs.chains.filter(
    (c) => !(c.family === NFT_FAMILY && c.table === NFT_TABLE) && c.type === "filter" && (c.hook === "forward" || c.hook === "input"),
  );
  for (const n of networks) {
    for (const chain of base) {
      const hook = chain.hook as "forward" | "input";
      const wanted = acceptRules(n, hook);
      if (wanted.length === 0) continue;
      // Only IPv4 traffic matters; an ip6 table never sees it.
      if (chain.family === "ip6" || chain.family === "arp" || chain.family === "netdev") continue;
      const rules = rs.rules.filter((r) => r.family === chain.family && r.table === chain.table && r.chain === chain.name);
      const foreignRules = rules.filter((r) => r.comment !== commentOf(n.name));
      const reason = dropReason(chain, foreignRules, n);
      if (reason === null) continue;
      const what =
        hook === "forward"
          ? `forwarded traffic of network ${n.name} (bridge ${n.bridge}${n.mode === "bridge" || n.mode === "internal" || n.mode === "hostonly" ? ", between its ports" : ""}) is dropped`
          : `DHCP and DNS from the guests of network ${n.name} (bridge ${n.bridge}) are dropped`;
      const fixable = chain.family === "ip" || chain.family === "inet";
      const have = rules.filter((r) => r.comment === commentOf(n.name)).length;
      out.push({
        network: n.name,
        family: chain.family,
        table: chain.table,
        chain: chain.name,
        hook,
        problem: `${reason}: ${what}.`,
        rules: wanted,
        fixed: have >= wanted.length,
        fixable,
      });
    }
  }
  return out;
}

/**
 * The transaction that puts a finding's accepts at the top of its chain, each marked as
 * kvmgr's, replacing whatever kvmgr had put there for this network before.
 */
export function renderForeignFix(rs: NftRuleset, f: ForeignFinding): string {
  const old = rs.rules.filter((r) => r.family === f.family && r.table === f.table && r.chain === f.chain && r.comment === commentOf(f.network));
  const lines = old.map((r) => `delete rule ${f.family} ${f.table} ${f.chain} handle ${r.handle}`);
  // Inserted in reverse so they end up in the listed order at the top.
  for (const r of [...f.rules].reverse()) lines.push(`insert rule ${f.family} ${f.table} ${f.chain} ${r} comment ${q(commentOf(f.network))}`);
  return lines.join("\n") + "\n";
}

/** The transaction that deletes every rule marked as this network's outside kvmgr's own table. */
export function renderForeignRemoval(rs: NftRuleset, network: string): string {
  const ours = rs.rules.filter((r) => r.comment === commentOf(network) && !(r.family === NFT_FAMILY && r.table === NFT_TABLE));
  return ours.map((r) => `delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`).join("\n") + (ours.length > 0 ? "\n" : "");
}
