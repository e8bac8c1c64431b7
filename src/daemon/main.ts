/** The daemon's composition root: state, host adapters, services, API servers, watchers. */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { pino } from "pino";
import { KvmgrError } from "../api/errors.js";
import { ensureLab, hostNs } from "../host/netns.js";
import { processRunner, timedRunner } from "../host/runner.js";
import { chooseAccel, type AccelChoice } from "../host/qemu/accel.js";
import type { DaemonContext } from "./context.js";
import { EventBus } from "./events/bus.js";
import { buildServer } from "./http/server.js";
import { reconcile } from "./reconcile.js";
import { createServices } from "./services/index.js";
import { testGuestPaths } from "./services/vms.js";
import { openSqliteStore } from "./store/sqlite-store.js";
import { OSINFO_DIRS, OsinfoDb } from "../host/osinfo/osinfo-db.js";

export interface DaemonOptions {
  stateDir: string;
  /** lab name, or null for the real host */
  lab: string | null;
  http: { host: string; port: number } | null;
  cacheDir: string;
  webRoot: string | null;
}

function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A listen that failed, in one sentence where the cause is the address given with --http. */
function listenError(e: unknown, http: DaemonOptions["http"]): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!http || (code !== "EADDRINUSE" && code !== "EADDRNOTAVAIL")) return e;
  const where = `${http.host.includes(":") ? `[${http.host}]` : http.host}:${http.port}`;
  const why = code === "EADDRINUSE" ? "another program already listens there" : `this host has no address ${http.host}`;
  return new KvmgrError("KVMGR_ERR_HOST_UNSUPPORTED", `Cannot serve --http ${where}: ${why}.`, { cause: e });
}

function ensureToken(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const token = randomBytes(24).toString("hex");
  writeFileSync(path, token + "\n", { mode: 0o600 });
  return token;
}

export async function runDaemon(opts: DaemonOptions): Promise<{ close: () => Promise<void> }> {
  if (process.getuid?.() !== 0) {
    throw new KvmgrError("KVMGR_ERR_HOST_UNSUPPORTED", "The kvmgr daemon must run as root (it creates bridges, taps and namespaces).");
  }
  const log = pino({ level: process.env.KVMGR_LOG_LEVEL ?? "info", base: { pid: process.pid } }, pino.destination(2));
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const socketPath = `${opts.stateDir}/kvmgr.sock`;
  if (existsSync(socketPath)) {
    if (await socketInUse(socketPath)) throw new KvmgrError("KVMGR_ERR_HOST_UNSUPPORTED", `Another kvmgr daemon already serves ${opts.stateDir}.`);
    rmSync(socketPath, { force: true });
  }
  const run = log.isLevelEnabled("debug")
    ? timedRunner(processRunner, (argv, code, ms) => log.debug({ argv, code, ms: Math.round(ms) }, "host command"))
    : processRunner;
  if (opts.lab) await ensureLab(run, opts.lab, { testGuestDir: `${opts.cacheDir}/images/test-guest` });
  const store = openSqliteStore(`${opts.stateDir}/kvmgr.db`);
  let accel: Promise<AccelChoice> | null = null;
  const ctx: DaemonContext = {
    run,
    ns: hostNs(opts.lab),
    store,
    log,
    stateDir: opts.stateDir,
    runDir: `${opts.stateDir}/run`,
    cacheDir: opts.cacheDir,
    diskDir: `${opts.stateDir}/disks`,
    osinfo: new OsinfoDb(OSINFO_DIRS, `${opts.cacheDir}/osinfo-cache.json`),
    lab: opts.lab,
    accel: () =>
      (accel ??= chooseAccel({
        kernel: testGuestPaths(opts.cacheDir).kernel,
        cacheFile: `${opts.cacheDir}/accel-probe.json`,
        forced: process.env.KVMGR_ACCEL,
      })),
    events: new EventBus(),
  };
  mkdirSync(ctx.runDir, { recursive: true, mode: 0o700 });
  mkdirSync(ctx.diskDir, { recursive: true, mode: 0o700 });
  const services = createServices(ctx);
  await reconcile(ctx, services);

  const unixApp = await buildServer({ services, log, token: null });
  let tcpApp: Awaited<ReturnType<typeof buildServer>> | null = null;
  const closeServing = async () => {
    services.close();
    await services.vms.monitors.closeAll();
    await unixApp.close();
    await tcpApp?.close();
    store.close();
  };
  try {
    await unixApp.listen({ path: socketPath });
    chmodSync(socketPath, 0o600);
    if (opts.http) {
      const token = ensureToken(`${opts.stateDir}/token`);
      tcpApp = await buildServer({ services, log, token, webRoot: opts.webRoot });
      await tcpApp.listen({ host: opts.http.host, port: opts.http.port });
    }
  } catch (e) {
    // Whatever was opened goes, or the process would live on without serving.
    await closeServing();
    throw listenError(e, opts.http);
  }

  // QEMU that died unasked shows as crashed and loses its taps within about a second.
  let reaping = false;
  const watcher = setInterval(() => {
    if (reaping) return;
    const anyDead = store.listVms().some((v) => v.runtime && v.runtime.pid !== 0 && !services.vms.isAlive(v));
    if (!anyDead) return;
    reaping = true;
    services.vms
      .reapDead()
      .then((names) => names.forEach((n) => log.warn({ vm: n }, "vm died unasked")))
      .catch((err: unknown) => log.error({ err }, "reaping failed"))
      .finally(() => (reaping = false));
  }, 500);
  watcher.unref();

  // Leases: `net.lease` events, and port forwards that follow their VM's address.
  let polling = false;
  const leaseWatcher = setInterval(() => {
    if (polling) return;
    polling = true;
    services.networks
      .pollLeases()
      .catch((err: unknown) => log.error({ err }, "lease watch failed"))
      .finally(() => (polling = false));
  }, 1000);
  leaseWatcher.unref();

  log.info({ socket: socketPath, http: opts.http, lab: opts.lab }, "kvmgr daemon ready");
  const close = async () => {
    clearInterval(watcher);
    clearInterval(leaseWatcher);
    await closeServing();
    log.info("kvmgr daemon stopped; VMs and networks keep running");
  };
  return { close };
}
