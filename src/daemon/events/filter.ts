/**
 * Which events a subscriber of `/v1/events` wants. Pure. Each criterion given must hold:
 * `types` (names, or `vm.*`-style prefixes), `vm` (events about one of these VMs) and
 * `network` (events about one of these networks); an event without the field fails it.
 */
import { invalid } from "../../api/errors.js";
import { EVENT_TYPES, type KvmgrEvent } from "../../api/event.js";

export interface EventFilter {
  types: readonly string[] | null;
  vms: readonly string[] | null;
  networks: readonly string[] | null;
}

export const ALL_EVENTS: EventFilter = { types: null, vms: null, networks: null };

function list(v: unknown): string[] | null {
  if (v === undefined || v === null || v === "") return null;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => (typeof x === "string" ? x.split(",") : []));
  const out = parts.map((s) => s.trim()).filter((s) => s !== "");
  return out.length > 0 ? out : null;
}

/** From the query string (`?types=vm.state,vm.stats&vm=a,b&network=n`) or a JSON message of the same keys. */
export function parseEventFilter(q: Record<string, unknown>): EventFilter {
  const types = list(q.types);
  for (const t of types ?? []) {
    const known = t.endsWith(".*") ? EVENT_TYPES.some((k) => k.startsWith(t.slice(0, -1))) : (EVENT_TYPES as readonly string[]).includes(t);
    if (!known) throw invalid("types", `Unknown event type '${t}': use one of ${EVENT_TYPES.join(", ")} (or a prefix like vm.*).`);
  }
  return { types, vms: list(q.vm ?? q.vms), networks: list(q.network ?? q.networks) };
}

export function matchesFilter(f: EventFilter, e: KvmgrEvent): boolean {
  if (f.types && !f.types.some((t) => (t.endsWith(".*") ? e.type.startsWith(t.slice(0, -1)) : t === e.type))) return false;
  if (f.vms && !("vm" in e && f.vms.includes(e.vm))) return false;
  if (f.networks && !("network" in e && f.networks.includes(e.network))) return false;
  return true;
}
