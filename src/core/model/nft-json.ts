/** The parts of `nft -j list ruleset` kvmgr reads. Pure. https://manpages.debian.org/bookworm/nftables/libnftables-json.5.en.html */

export interface NftChain {
  family: string;
  table: string;
  name: string;
  handle: number;
  /** base chains only */
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

export interface NftRuleset {
  tables: { family: string; name: string }[];
  chains: NftChain[];
  rules: NftRule[];
}

type Item = { table?: { family: string; name: string }; chain?: NftChain; rule?: NftRule };

export function parseNftRuleset(json: string): NftRuleset {
  const out: NftRuleset = { tables: [], chains: [], rules: [] };
  if (json.trim() === "") return out;
  const data = JSON.parse(json) as { nftables?: Item[] };
  for (const item of data.nftables ?? []) {
    if (item.table) out.tables.push({ family: item.table.family, name: item.table.name });
    else if (item.chain) out.chains.push(item.chain);
    else if (item.rule) out.rules.push({ ...item.rule, expr: item.rule.expr ?? [] });
  }
  return out;
}

/** The verdict a rule ends with, if it ends with one of these. */
export function ruleVerdict(r: NftRule): "accept" | "drop" | "reject" | "jump" | "goto" | "return" | null {
  for (let i = r.expr.length - 1; i >= 0; i--) {
    const e = r.expr[i] as Record<string, unknown>;
    for (const k of ["accept", "drop", "reject", "jump", "goto", "return"] as const) if (k in e) return k;
  }
  return null;
}

/** A rule that matches every packet (only counters, logs and a verdict): e.g. firewalld's final reject. */
export function isUnconditional(r: NftRule): boolean {
  return r.expr.every((e) => {
    const keys = Object.keys(e as object);
    return keys.every((k) => ["counter", "log", "accept", "drop", "reject", "limit"].includes(k));
  });
}
