/** Store on SQLite (better-sqlite3, WAL): definitions survive any crash of the daemon. */
import Database from "better-sqlite3";
import type { Store, StoredNetwork, StoredVm } from "./store.js";

/** Forward-only schema migrations; the index + 1 is the schema version. */
const MIGRATIONS: string[] = [
  `CREATE TABLE networks (name TEXT PRIMARY KEY, spec TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE vms (name TEXT PRIMARY KEY, spec TEXT NOT NULL, runtime TEXT, crashed INTEGER NOT NULL DEFAULT 0);`,
];

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
    listNets: db.prepare<[], { spec: string; active: number }>("SELECT spec, active FROM networks ORDER BY name"),
    getNet: db.prepare<[string], { spec: string; active: number }>("SELECT spec, active FROM networks WHERE name = ?"),
    putNet: db.prepare("INSERT INTO networks (name, spec, active) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, active = excluded.active"),
    delNet: db.prepare("DELETE FROM networks WHERE name = ?"),
    listVms: db.prepare<[], { spec: string; runtime: string | null; crashed: number }>("SELECT spec, runtime, crashed FROM vms ORDER BY name"),
    getVm: db.prepare<[string], { spec: string; runtime: string | null; crashed: number }>("SELECT spec, runtime, crashed FROM vms WHERE name = ?"),
    putVm: db.prepare("INSERT INTO vms (name, spec, runtime, crashed) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, runtime = excluded.runtime, crashed = excluded.crashed"),
    delVm: db.prepare("DELETE FROM vms WHERE name = ?"),
  };
  const net = (r: { spec: string; active: number }): StoredNetwork => ({ spec: JSON.parse(r.spec) as StoredNetwork["spec"], active: r.active === 1 });
  const vm = (r: { spec: string; runtime: string | null; crashed: number }): StoredVm => ({
    spec: JSON.parse(r.spec) as StoredVm["spec"],
    runtime: r.runtime === null ? null : (JSON.parse(r.runtime) as StoredVm["runtime"]),
    crashed: r.crashed === 1,
  });

  return {
    listNetworks: () => q.listNets.all().map(net),
    getNetwork: (name) => {
      const r = q.getNet.get(name);
      return r ? net(r) : null;
    },
    putNetwork: (n) => void q.putNet.run(n.spec.name, JSON.stringify(n.spec), n.active ? 1 : 0),
    deleteNetwork: (name) => void q.delNet.run(name),
    listVms: () => q.listVms.all().map(vm),
    getVm: (name) => {
      const r = q.getVm.get(name);
      return r ? vm(r) : null;
    },
    putVm: (v) => void q.putVm.run(v.spec.name, JSON.stringify(v.spec), v.runtime ? JSON.stringify(v.runtime) : null, v.crashed ? 1 : 0),
    deleteVm: (name) => void q.delVm.run(name),
    tx: (fn) => db.transaction(fn)(),
    close: () => db.close(),
  };
}
