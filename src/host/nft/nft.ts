/** nftables of the managed namespace: transactions through `nft -f -`, observation through `nft -j`. */
import { parseNftRuleset, type NftRuleset } from "../../core/model/nft-json.js";
import { NFT_FAMILY, NFT_TABLE, renderTableRemoval } from "../../core/render/nft-ruleset.js";
import type { HostNs } from "../netns.js";
import type { Runner } from "../runner.js";

/** Applies one transaction: all of it or nothing. */
export async function applyNft(run: Runner, ns: HostNs, text: string): Promise<void> {
  await run.run(ns.argv(["nft", "-f", "-"]), { stdin: text });
}

export async function observeRuleset(run: Runner, ns: HostNs): Promise<NftRuleset> {
  const r = await run.run(ns.argv(["nft", "-j", "list", "ruleset"]), { allowFail: true });
  return r.code === 0 ? parseNftRuleset(r.stdout) : { tables: [], chains: [], rules: [] };
}

/** Names of the chains in kvmgr's table (empty when the table does not exist). */
export function kvmgrChains(rs: NftRuleset): string[] {
  return rs.chains.filter((c) => c.family === NFT_FAMILY && c.table === NFT_TABLE).map((c) => c.name);
}

/** kvmgr's table as nft text, for `host show`. */
export async function listKvmgrTable(run: Runner, ns: HostNs): Promise<string> {
  const r = await run.run(ns.argv(["nft", "list", "table", NFT_FAMILY, NFT_TABLE]), { allowFail: true });
  return r.code === 0 ? r.stdout : "";
}

/** Deletes kvmgr's table when no chain is left in it, so a host without networks has no trace of kvmgr. */
export async function removeTableIfEmpty(run: Runner, ns: HostNs): Promise<void> {
  const rs = await observeRuleset(run, ns);
  const exists = rs.tables.some((t) => t.family === NFT_FAMILY && t.name === NFT_TABLE);
  if (exists && kvmgrChains(rs).length === 0) await applyNft(run, ns, renderTableRemoval());
}
