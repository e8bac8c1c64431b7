/** Store on SQLite (better-sqlite3, WAL): definitions survive any crash of the daemon. */
import Database from "better-sqlite3";
import { normalizeStoredSpec } from "../../core/validate/network.js";
import { SPEC_DEFAULTS } from "../../core/validate/vm.js";
import type { OpEntry, Store, StoredNetwork, StoredVm } from "./store.js";

/** Forward-only schema migrations; the index + 1 is the schema version. */
const MIGRATIONS: string[] = [
  `CREATE TABLE networks (name TEXT PRIMARY KEY, spec TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE vms (name TEXT PRIMARY KEY, spec TEXT NOT NULL, runtime TEXT, crashed INTEGER NOT NULL DEFAULT 0);`,
  // 2: edits pending until a running VM's next start; the operations journal (crash safety).
  `ALTER TABLE vms ADD COLUMN pending TEXT;
   CREATE TABLE operations (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, vm TEXT NOT NULL, data TEXT NOT NULL, started INTEGER NOT NULL);`,
  // 3: networks: what a start changed on the host (moved uplink, forwarding, foreign rules); sysctl values to restore.
  `ALTER TABLE networks ADD COLUMN runtime TEXT;
   CREATE TABLE sysctl_saves (key TEXT PRIMARY KEY, previous TEXT NOT NULL);`,
];

interface NetRow {
  spec: string;
  active: number;
  runtime: string | null;
}

interface VmRow {
  spec: string;
  runtime: string | null;
  crashed: number;
  pending: string | null;
}

export function openSqliteStore(path: string): Store {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`state database ${path} has schema ${version}, newer than this kvmgr knows (${MIGRATIONS.length})`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? "");
      db.pragma(`user_version = ${v + 1}`);
    })();
  }

  const q = {
    listNets: db.prepare<[], NetRow>("SELECT spec, active, runtime FROM networks ORDER BY name"),
    getNet: db.prepare<[string], NetRow>("SELECT spec, active, runtime FROM networks WHERE name = ?"),
    putNet: db.prepare(
      "INSERT INTO networks (name, spec, active, runtime) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, active = excluded.active, runtime = excluded.runtime",
    ),
    listSysctl: db.prepare<[], { key: string; previous: string }>("SELECT key, previous FROM sysctl_saves ORDER BY key"),
    putSysctl: db.prepare("INSERT INTO sysctl_saves (key, previous) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET previous = excluded.previous"),
    delSysctl: db.prepare("DELETE FROM sysctl_saves WHERE key = ?"),
    delNet: db.prepare("DELETE FROM networks WHERE name = ?"),
    listVms: db.prepare<[], VmRow>("SELECT spec, runtime, crashed, pending FROM vms ORDER BY name"),
    getVm: db.prepare<[string], VmRow>("SELECT spec, runtime, crashed, pending FROM vms WHERE name = ?"),
    putVm: db.prepare(
      "INSERT INTO vms (name, spec, runtime, crashed, pending) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, runtime = excluded.runtime, crashed = excluded.crashed, pending = excluded.pending",
    ),
    delVm: db.prepare("DELETE FROM vms WHERE name = ?"),
    beginOp: db.prepare("INSERT INTO operations (kind, vm, data, started) VALUES (?, ?, ?, ?)"),
    updateOp: db.prepare("UPDATE operations SET data = ? WHERE id = ?"),
    endOp: db.prepare("DELETE FROM operations WHERE id = ?"),
    listOps: db.prepare<[], { id: number; kind: string; vm: string; data: string }>("SELECT id, kind, vm, data FROM operations ORDER BY id"),
  };
  const net = (r: NetRow): StoredNetwork => ({
    spec: normalizeStoredSpec(JSON.parse(r.spec) as StoredNetwork["spec"]),
    active: r.active === 1,
    runtime: r.runtime === null ? null : (JSON.parse(r.runtime) as StoredNetwork["runtime"]),
  });
  // Specs stored by an older kvmgr lack later fields: they get their defaults.
  const spec = (text: string): StoredVm["spec"] => ({ ...SPEC_DEFAULTS, ...(JSON.parse(text) as StoredVm["spec"]) });
  const vm = (r: VmRow): StoredVm => ({
    spec: spec(r.spec),
    runtime: r.runtime === null ? null : (JSON.parse(r.runtime) as StoredVm["runtime"]),
    crashed: r.crashed === 1,
    pending: r.pending === null ? null : spec(r.pending),
  });

  return {
    listNetworks: () => q.listNets.all().map(net),
    getNetwork: (name) => {
      const r = q.getNet.get(name);
      return r ? net(r) : null;
    },
    putNetwork: (n) => void q.putNet.run(n.spec.name, JSON.stringify(n.spec), n.active ? 1 : 0, n.runtime ? JSON.stringify(n.runtime) : null),
    deleteNetwork: (name) => void q.delNet.run(name),
    listSysctlSaves: () => q.listSysctl.all(),
    putSysctlSave: (key, previous) => void q.putSysctl.run(key, previous),
    deleteSysctlSave: (key) => void q.delSysctl.run(key),
    listVms: () => q.listVms.all().map(vm),
    getVm: (name) => {
      const r = q.getVm.get(name);
      return r ? vm(r) : null;
    },
    putVm: (v) => void q.putVm.run(v.spec.name, JSON.stringify(v.spec), v.runtime ? JSON.stringify(v.runtime) : null, v.crashed ? 1 : 0, v.pending ? JSON.stringify(v.pending) : null),
    deleteVm: (name) => void q.delVm.run(name),
    beginOp: (kind, vmName, data) => Number(q.beginOp.run(kind, vmName, JSON.stringify(data), Date.now()).lastInsertRowid),
    updateOp: (id, data) => void q.updateOp.run(JSON.stringify(data), id),
    endOp: (id) => void q.endOp.run(id),
    listOps: () => q.listOps.all().map((r): OpEntry => ({ id: r.id, kind: r.kind, vm: r.vm, data: JSON.parse(r.data) as Record<string, unknown> })),
    tx: (fn) => db.transaction(fn)(),
    close: () => db.close(),
  };
}
