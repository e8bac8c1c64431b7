/**
 * Test fixture: a kvmgr daemon managing a fresh lab, driven through the real CLI.
 * `close()` stops the daemon, deletes the lab and the state directory, and reports leaks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "./until.js";

export { until };


/** The `kvmgr` command as users run it (the launcher script, not node on the bundle). */
export const KVMGR_BIN = new URL("../../bin/kvmgr", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LabDaemon {
  lab: string;
  stateDir: string;
  cli(...args: string[]): Promise<CliResult>;
  /** runs the CLI and fails unless it exits 0 */
  ok(...args: string[]): Promise<string>;
  json<T>(...args: string[]): Promise<T>;
  /** stop the daemon (SIGTERM, or SIGKILL with `hard`) and start it again on the same state */
  restart(opts?: { hard?: boolean; env?: NodeJS.ProcessEnv }): Promise<void>;
  stopDaemon(opts?: { hard?: boolean }): Promise<void>;
  /** starts the daemon, with extra environment (e.g. KVMGR_TEST_CRASH_AT) */
  startDaemon(env?: NodeJS.ProcessEnv): Promise<void>;
  /** resolves when the daemon process has exited (by itself, e.g. at a crash point) */
  daemonExited(): Promise<void>;
  close(): Promise<void>;
  daemonLog(): string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(KVMGR_BIN, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}


/** PIDs of QEMU and dnsmasq processes whose command line mentions `dir`. */
export function processesUsing(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(dir) && /qemu-system|dnsmasq/.test(cmd)) out.push({ pid: Number(e), cmd });
    } catch {
      /* gone */
    }
  }
  return out;
}

export async function startLabDaemon(opts: { prefix?: string; http?: string } = {}): Promise<LabDaemon> {
  const lab = `${opts.prefix ?? "kvt"}${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const stateDir = mkdtempSync(join(tmpdir(), "kvmgr-e2e-"));
  const env = { KVMGR_STATE_DIR: stateDir };
  let daemon: ChildProcess | null = null;
  let log = "";

  const startDaemon = async (extra: NodeJS.ProcessEnv = {}) => {
    const args = ["daemon", "--lab", lab, ...(opts.http ? ["--http", opts.http] : [])];
    const child = spawn(KVMGR_BIN, args, { env: { ...process.env, ...env, ...extra }, stdio: ["ignore", "pipe", "pipe"] });
    daemon = child;
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (log += d));
    const exited = new Promise<never>((_, reject) => child.once("exit", (c) => reject(new Error(`daemon exited with ${c}: ${log.slice(-2000)}`))));
    await Promise.race([until("daemon ready", 30000, () => (out.includes("daemon ready") ? true : undefined), 20), exited]);
    exited.catch(() => undefined);
  };

  const stopDaemon = async ({ hard = false } = {}) => {
    const d = daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    const gone = new Promise((r) => d.once("exit", r));
    d.kill(hard ? "SIGKILL" : "SIGTERM");
    await gone;
    daemon = null;
  };

  const cli = (...args: string[]) => runCli(args, env);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    if (r.code !== 0) throw new Error(`kvmgr ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };

  await startDaemon();
  return {
    lab,
    stateDir,
    cli,
    ok,
    json: async <T>(...args: string[]) => JSON.parse(await ok(...args, "--json")) as T,
    restart: async (o = {}) => {
      await stopDaemon(o);
      await startDaemon(o.env);
    },
    stopDaemon,
    startDaemon,
    daemonExited: async () => {
      const d = daemon;
      if (!d || d.exitCode !== null || d.signalCode !== null) {
        daemon = null;
        return;
      }
      await new Promise((r) => d.once("exit", r));
      daemon = null;
    },
    daemonLog: () => log,
    close: async () => {
      await stopDaemon();
      const r = await runCli(["lab", "delete", lab, "--force"], env);
      if (r.code !== 0 && !/no lab named/.test(r.stderr)) log += `\nlab delete failed: ${r.stderr}`;
      const leaks = processesUsing(stateDir);
      for (const p of leaks) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      if (existsSync(stateDir)) rmSync(stateDir, { recursive: true, force: true });
      if (leaks.length > 0) throw new Error(`leaked processes: ${leaks.map((p) => p.cmd).join("; ")}`);
    },
  };
}
