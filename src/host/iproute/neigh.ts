/** The managed host's neighbour (ARP/NDP) table. */
import { parseIpNeighJson, type NeighEntry } from "../../core/model/addresses.js";
import type { HostNs } from "../netns.js";
import type { Runner } from "../runner.js";

export async function readNeighbours(run: Runner, ns: HostNs): Promise<NeighEntry[]> {
  const r = await run.run(ns.ip(["-j", "neigh", "show"]), { allowFail: true, timeoutMs: 5000 });
  return r.code === 0 ? parseIpNeighJson(r.stdout) : [];
}
