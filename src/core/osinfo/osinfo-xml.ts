/**
 * osinfo-db (https://gitlab.com/libosinfo/osinfo-db) OS records: parsing its XML and
 * resolving what libosinfo inherits along `derives-from` and `clones` (devices, and
 * resources when an OS lists none). Pure: file reading is the host's job.
 */
import { XMLParser } from "fast-xml-parser";
import type { OsInfo } from "../../api/vm.js";

/** One `<os>` element as written, before inheritance. */
export interface RawOs {
  uri: string;
  shortIds: string[];
  name: string;
  vendor: string | null;
  family: string | null;
  version: string | null;
  releaseDate: string | null;
  eolDate: string | null;
  /** parents whose devices (and resources) this OS inherits */
  parents: string[];
  /** device ids listed as supported (true) or explicitly unsupported (false) */
  devices: Map<string, boolean>;
  resources: { arch: string; minimum: Res; recommended: Res }[];
}

interface Res {
  ram: number | null;
  nCpus: number | null;
  storage: number | null;
}

// PCI ids of virtio devices (legacy/transitional and virtio 1.0): https://pci-ids.ucw.cz/read/PC/1af4
const VIRTIO_NET = ["http://pcisig.com/pci/1af4/1000", "http://pcisig.com/pci/1af4/1041"];
const VIRTIO_BLK = ["http://pcisig.com/pci/1af4/1001", "http://pcisig.com/pci/1af4/1042"];

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  isArray: (name) => ["os", "short-id", "name", "device", "resources", "derives-from", "clones", "vendor"].includes(name),
});

type Node = Record<string, unknown>;

function text(v: unknown): string | null {
  if (typeof v === "string") return v.trim();
  if (v && typeof v === "object" && "#text" in v) return String((v as Node)["#text"]).trim();
  return null;
}

/** The untranslated value of a repeatable text element (`<name>` without xml:lang). */
function plain(list: unknown): string | null {
  if (!Array.isArray(list)) return text(list);
  for (const v of list) if (typeof v === "string" || (v && typeof v === "object" && !("@_xml:lang" in v))) return text(v);
  return null;
}

function attr(n: Node, key: string): string {
  const v = n[`@_${key}`];
  return typeof v === "string" ? v : "";
}

function num(v: unknown): number | null {
  const t = text(v);
  const n = t === null ? NaN : Number(t);
  return Number.isFinite(n) && n > 0 ? n : null;
}

function res(v: unknown): Res {
  const r = (v && typeof v === "object" ? v : {}) as Node;
  return { ram: num(r.ram), nCpus: num(r["n-cpus"]), storage: num(r.storage) };
}

function ids(v: unknown): string[] {
  return (Array.isArray(v) ? v : []).map((x) => (x && typeof x === "object" ? attr(x as Node, "id") : "")).filter((s) => s !== "");
}

/** The `<os>` records of one osinfo-db XML file. */
export function parseOsinfoXml(xml: string): RawOs[] {
  const doc = parser.parse(xml) as Node;
  const root = (doc.libosinfo ?? {}) as Node;
  const out: RawOs[] = [];
  for (const os of (root.os ?? []) as Node[]) {
    const uri = attr(os, "id");
    const shortIds = ((os["short-id"] ?? []) as unknown[]).map(text).filter((s): s is string => !!s);
    if (!uri || shortIds.length === 0) continue;
    const devices = new Map<string, boolean>();
    const devs = (os.devices ?? {}) as Node;
    for (const d of (Array.isArray(devs.device) ? devs.device : []) as Node[]) {
      const id = attr(d, "id");
      if (id) devices.set(id, d["@_supported"] !== "false");
    }
    out.push({
      uri,
      shortIds,
      name: plain(os.name) ?? shortIds[0] ?? uri,
      vendor: plain(os.vendor),
      family: text(os.family),
      version: text(os.version),
      releaseDate: text(os["release-date"]),
      eolDate: text(os["eol-date"]),
      parents: [...ids(os["derives-from"]), ...ids(os.clones)],
      devices,
      resources: ((os.resources ?? []) as Node[]).map((r) => ({ arch: attr(r, "arch") || "all", minimum: res(r.minimum), recommended: res(r.recommended) })),
    });
  }
  return out;
}

/**
 * OS records with inheritance resolved, sorted by name. `today` (YYYY-MM-DD) decides `eol`.
 * The recommended values fall back to the minimum ones, x86_64 before "all".
 */
export function resolveOsList(raw: readonly RawOs[], today: string): OsInfo[] {
  const byUri = new Map(raw.map((r) => [r.uri, r]));
  const devMemo = new Map<string, Map<string, boolean>>();
  const devicesOf = (r: RawOs, seen: Set<string>): Map<string, boolean> => {
    const memo = devMemo.get(r.uri);
    if (memo) return memo;
    const all = new Map<string, boolean>();
    for (const p of r.parents) {
      const parent = byUri.get(p);
      if (parent && !seen.has(p)) for (const [k, v] of devicesOf(parent, new Set([...seen, p]))) all.set(k, v);
    }
    for (const [k, v] of r.devices) all.set(k, v);
    devMemo.set(r.uri, all);
    return all;
  };
  const resourcesOf = (r: RawOs, seen: Set<string>): RawOs["resources"] => {
    if (r.resources.length > 0) return r.resources;
    for (const p of r.parents) {
      const parent = byUri.get(p);
      if (parent && !seen.has(p)) {
        const got = resourcesOf(parent, new Set([...seen, p]));
        if (got.length > 0) return got;
      }
    }
    return [];
  };
  const list = raw.map((r): OsInfo => {
    const devs = devicesOf(r, new Set([r.uri]));
    const has = (wanted: string[]) => wanted.some((id) => devs.get(id) === true);
    const rs = resourcesOf(r, new Set([r.uri]));
    const pick = (k: keyof Res): number | null => {
      for (const arch of ["x86_64", "all"]) {
        const e = rs.find((x) => x.arch === arch);
        const v = e?.recommended[k] ?? e?.minimum[k] ?? null;
        if (v !== null) return v;
      }
      return null;
    };
    const ram = pick("ram");
    return {
      id: r.shortIds[0] ?? r.uri,
      aliases: r.shortIds.slice(1),
      name: r.name,
      vendor: r.vendor,
      family: r.family,
      version: r.version,
      releaseDate: r.releaseDate,
      eol: r.eolDate !== null && r.eolDate <= today,
      recommended: { memoryMiB: ram === null ? null : Math.round(ram / 1048576), vcpus: pick("nCpus"), diskBytes: pick("storage") },
      nicModel: has(VIRTIO_NET) ? "virtio" : "e1000",
      diskBus: has(VIRTIO_BLK) ? "virtio" : "ide",
    };
  });
  return list.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** OSes whose id, alias, name or vendor contains every word of `search` (case-insensitive). */
export function searchOs(list: readonly OsInfo[], search: string | undefined): OsInfo[] {
  const words = (search ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return [...list];
  return list.filter((o) => {
    const hay = [o.id, ...o.aliases, o.name, o.vendor ?? ""].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
