/**
 * The OS database of the host (Debian package osinfo-db, /usr/share/osinfo/os/**.xml):
 * parsed once, on first use, and cached as JSON keyed by the files' names, sizes and
 * mtimes, so a daemon start after the first costs one directory walk.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { OsInfo } from "../../api/vm.js";
import { parseOsinfoXml, resolveOsList, type RawOs } from "../../core/osinfo/osinfo-xml.js";

export const OSINFO_DIRS = ["/usr/share/osinfo/os", "/usr/local/share/osinfo/os", "/etc/osinfo/os"];

function xmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".xml")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Loads the OS list from `dirs`, through the cache file when it is current. */
export function loadOsinfo(dirs: readonly string[], cacheFile: string | null, today: string): OsInfo[] {
  const files = dirs.flatMap(xmlFiles);
  const h = createHash("sha256");
  for (const f of files) {
    const st = statSync(f);
    h.update(`${f}\0${st.size}\0${st.mtimeMs}\n`);
  }
  const key = `${h.digest("hex")}-${today}`;
  if (cacheFile && existsSync(cacheFile)) {
    try {
      const c = JSON.parse(readFileSync(cacheFile, "utf8")) as { key: string; list: OsInfo[] };
      if (c.key === key) return c.list;
    } catch {
      /* rebuilt below */
    }
  }
  // Later directories override earlier ones (local additions over the package's files).
  const byUri = new Map<string, RawOs>();
  for (const f of files) for (const os of parseOsinfoXml(readFileSync(f, "utf8"))) byUri.set(os.uri, os);
  const list = resolveOsList([...byUri.values()], today);
  if (cacheFile) {
    try {
      mkdirSync(join(cacheFile, ".."), { recursive: true });
      writeFileSync(`${cacheFile}.tmp`, JSON.stringify({ key, list }));
      renameSync(`${cacheFile}.tmp`, cacheFile);
    } catch {
      /* a read-only cache only costs time */
    }
  }
  return list;
}

/** The OS database, loaded on first use; `get` finds an OS by id or alias. */
export class OsinfoDb {
  private list: OsInfo[] | null = null;
  private byId: Map<string, OsInfo> | null = null;
  constructor(
    private readonly dirs: readonly string[],
    private readonly cacheFile: string | null,
  ) {}

  all(): OsInfo[] {
    this.list ??= loadOsinfo(this.dirs, this.cacheFile, new Date().toISOString().slice(0, 10));
    return this.list;
  }

  get(id: string): OsInfo | null {
    if (!this.byId) {
      this.byId = new Map();
      for (const o of this.all()) for (const k of [o.id, ...o.aliases]) if (!this.byId.has(k)) this.byId.set(k, o);
    }
    return this.byId.get(id) ?? null;
  }
}
