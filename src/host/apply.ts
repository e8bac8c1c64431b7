/**
 * Applies planned host steps. On failure the applied prefix is rolled back with its derived
 * undo; a clean-up failure is logged and never hides the original error.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { KvmgrError } from "../api/errors.js";
import { dirname } from "node:path";
import { planUndo, type AddrSpec, type HostStep, type RouteSpec } from "../core/plan/host-step.js";
import { renderNetworkNftRemoval } from "../core/render/nft-ruleset.js";
import type { HostNs } from "./netns.js";
import { isOurProcessAlive, readPidFile, terminate, waitFor } from "./proc.js";
import { HostCommandError, type Runner } from "./runner.js";

export interface ApplyDeps {
  run: Runner;
  ns: HostNs;
  log?: (msg: string, err?: unknown) => void;
}

const IP_KINDS = new Set<HostStep["kind"]>(["bridge.add", "addr.add", "link.up", "tap.add", "uplink.enslave"]);

function addrArgs(a: AddrSpec, dev: string): string {
  return `${a.local}/${a.prefixlen}${a.broadcast ? ` broadcast ${a.broadcast}` : ""} dev ${dev}`;
}

/** `ip route` arguments that recreate a route observed with `ip -j route show dev DEV` on `dev`. */
export function routeArgs(r: RouteSpec, dev: string): string {
  const parts = [r.dst];
  if (r.gateway) parts.push("via", r.gateway);
  parts.push("dev", dev);
  if (r.protocol && r.protocol !== "boot") parts.push("proto", r.protocol);
  if (r.metric !== undefined) parts.push("metric", String(r.metric));
  if (r.scope && r.scope !== "global" && !r.gateway) parts.push("scope", r.scope);
  if (r.prefsrc) parts.push("src", r.prefsrc);
  if (r.onlink) parts.push("onlink");
  return parts.join(" ");
}

export function dnsmasqArgv(confFile: string): string[] {
  return ["dnsmasq", `--conf-file=${confFile}`];
}

/** `ip -b` lines for one step (a batch runs many in one process). */
export function ipLines(step: HostStep): string[] {
  switch (step.kind) {
    case "bridge.add":
      // STP off and no forward delay: a new port forwards at once (STP holds it >= 2 s).
      return [`link add ${step.name}${step.mac ? ` address ${step.mac}` : ""} type bridge stp_state 0 forward_delay 0`];
    case "addr.add":
      return [`addr add ${step.cidr} brd + dev ${step.dev}`];
    case "link.up":
      return [`link set ${step.dev} up`];
    case "tap.add":
      return [`tuntap add dev ${step.name} mode tap`, `link set ${step.name} master ${step.master} up`];
    case "uplink.enslave":
      // Deleting the NIC's addresses drops its routes too; they are re-added on the bridge.
      return [
        `link set ${step.dev} master ${step.bridge}`,
        ...step.addresses.map((a) => `addr del ${a.local}/${a.prefixlen} dev ${step.dev}`),
        ...step.addresses.map((a) => `addr replace ${addrArgs(a, step.bridge)}`),
        `link set ${step.bridge} up`,
        ...step.routes.map((r) => `route replace ${routeArgs(r, step.bridge)}`),
      ];
    case "uplink.release":
      return [
        `link set ${step.dev} nomaster`,
        ...step.addresses.map((a) => `addr del ${a.local}/${a.prefixlen} dev ${step.bridge}`),
        ...step.addresses.map((a) => `addr replace ${addrArgs(a, step.dev)}`),
        `link set ${step.dev} up`,
        ...step.routes.map((r) => `route replace ${routeArgs(r, step.dev)}`),
      ];
    case "nft.apply":
    case "nft.remove":
    case "bridge.del":
    case "tap.del":
    case "file.write":
    case "file.remove":
    case "dnsmasq.start":
    case "dnsmasq.stop":
    case "dnsmasq.reload":
    case "qemu.start":
    case "qemu.stop":
    case "disk.create":
    case "disk.copy":
    case "disk.overlay":
    case "disk.remove":
      return [];
  }
}

/** qemu-img may write gigabytes (full preallocation, copies): allow it hours, not seconds. */
const DISK_TIMEOUT_MS = 12 * 3600 * 1000;

/** qemu-img argv of a disk step; the image is written to `${path}.part` and renamed when whole. */
export function qemuImgArgv(step: Extract<HostStep, { kind: "disk.create" | "disk.copy" | "disk.overlay" }>): string[] {
  const part = `${step.path}.part`;
  switch (step.kind) {
    case "disk.create":
      return ["qemu-img", "create", "-q", "-f", "qcow2", "-o", `preallocation=${step.prealloc}`, part, String(step.sizeBytes)];
    case "disk.copy":
      return ["qemu-img", "convert", "-q", "-f", step.sourceFormat, "-O", "qcow2", step.source, part];
    case "disk.overlay":
      return ["qemu-img", "create", "-q", "-f", "qcow2", "-b", step.backing, "-F", step.backingFormat, part];
  }
}

async function makeDisk(deps: ApplyDeps, step: Extract<HostStep, { kind: "disk.create" | "disk.copy" | "disk.overlay" }>): Promise<void> {
  // Never overwrite: a file there is someone's data (a kept disk, a user's image).
  if (existsSync(step.path)) throw new KvmgrError("KVMGR_ERR_DISK_IN_USE", `${step.path} exists already; kvmgr does not overwrite it.`);
  mkdirSync(dirname(step.path), { recursive: true, mode: 0o700 });
  const part = `${step.path}.part`;
  try {
    await deps.run.run(qemuImgArgv(step), { timeoutMs: DISK_TIMEOUT_MS });
    renameSync(part, step.path);
  } catch (e) {
    rmSync(part, { force: true });
    throw e;
  }
}

function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

async function delLink(deps: ApplyDeps, name: string): Promise<void> {
  const r = await deps.run.run(deps.ns.ip(["link", "del", name]), { allowFail: true });
  if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) throw new HostCommandError(deps.ns.ip(["link", "del", name]), r);
}

/** `marker` is a string of the daemon's command line that proves the pid is ours. */
async function startDaemonized(deps: ApplyDeps, argv: string[], pidFile: string, marker: string, what: string): Promise<void> {
  rmSync(pidFile, { force: true });
  // Both dnsmasq and `qemu -daemonize` exit only once the daemon is set up (or failed).
  await deps.run.run(deps.ns.argv(argv), { timeoutMs: 60000 });
  const ok = await waitFor(() => {
    const pid = readPidFile(pidFile);
    return pid !== null && isOurProcessAlive(pid, marker);
  }, 5000);
  if (!ok) throw new Error(`${what} did not stay up (no live process in ${pidFile})`);
}

async function stopByPidFile(pidFile: string, marker: string): Promise<void> {
  const pid = readPidFile(pidFile);
  if (pid !== null) await terminate(pid, marker);
}

async function applyOne(deps: ApplyDeps, step: HostStep): Promise<void> {
  switch (step.kind) {
    case "bridge.add":
    case "addr.add":
    case "link.up":
    case "tap.add":
    case "uplink.enslave":
      await deps.run.run(deps.ns.ip(["-b", "-"]), { stdin: ipLines(step).join("\n") + "\n" });
      return;
    case "uplink.release": {
      // Every line is tried (-force): a half-made move is undone as far as it went.
      const argv = deps.ns.ip(["-force", "-b", "-"]);
      const r = await deps.run.run(argv, { stdin: ipLines(step).join("\n") + "\n", allowFail: true });
      const real = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/Cannot assign requested address|Cannot find device|Command failed/.test(l));
      if (r.code !== 0 && real.length > 0) throw new HostCommandError(argv, r);
      return;
    }
    case "nft.apply":
      await deps.run.run(deps.ns.argv(["nft", "-f", "-"]), { stdin: step.text });
      return;
    case "nft.remove":
      await deps.run.run(deps.ns.argv(["nft", "-f", "-"]), { stdin: renderNetworkNftRemoval(step.network) });
      return;
    case "bridge.del":
    case "tap.del":
      await delLink(deps, step.name);
      return;
    case "file.write":
      writeFileAtomic(step.path, step.content, step.mode);
      return;
    case "file.remove":
      rmSync(step.path, { force: true });
      return;
    case "dnsmasq.start":
      await startDaemonized(deps, dnsmasqArgv(step.confFile), step.pidFile, step.confFile, `dnsmasq of network ${step.network}`);
      return;
    case "dnsmasq.stop":
      await stopByPidFile(step.pidFile, step.confFile);
      return;
    case "dnsmasq.reload": {
      const pid = readPidFile(step.pidFile);
      if (pid === null || !isOurProcessAlive(pid, step.confFile)) throw new Error(`dnsmasq of network ${step.network} is not running`);
      process.kill(pid, "SIGHUP");
      return;
    }
    case "qemu.start":
      await startDaemonized(deps, step.argv, step.pidFile, step.pidFile, `QEMU of VM ${step.vm}`);
      return;
    case "qemu.stop":
      await stopByPidFile(step.pidFile, step.pidFile);
      return;
    case "disk.create":
    case "disk.copy":
    case "disk.overlay":
      await makeDisk(deps, step);
      return;
    case "disk.remove":
      rmSync(`${step.path}.part`, { force: true });
      rmSync(step.path, { force: true });
      return;
  }
}

/**
 * Applies steps in order, batching runs of `ip` steps into one `ip -b` process.
 * Throws the first failure after undoing everything attempted so far.
 */
export async function applySteps(deps: ApplyDeps, steps: readonly HostStep[]): Promise<void> {
  let i = 0;
  try {
    while (i < steps.length) {
      const step = steps[i] as HostStep;
      if (IP_KINDS.has(step.kind)) {
        let j = i;
        const lines: string[] = [];
        while (j < steps.length && IP_KINDS.has((steps[j] as HostStep).kind)) lines.push(...ipLines(steps[j++] as HostStep));
        // Count the whole batch as attempted: its undo steps tolerate what never got made.
        const attempted = j;
        try {
          await deps.run.run(deps.ns.ip(["-b", "-"]), { stdin: lines.join("\n") + "\n" });
        } catch (e) {
          i = attempted;
          throw e;
        }
        i = attempted;
      } else {
        i++;
        await applyOne(deps, step);
      }
    }
  } catch (err) {
    await undoSteps(deps, planUndo(steps, i));
    throw err;
  }
}

/** Runs undo steps to the end, each failure logged, none stopping the rest. Returns the failures. */
export async function undoSteps(deps: ApplyDeps, steps: readonly HostStep[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const s of steps) {
    try {
      await applyOne(deps, s);
    } catch (e) {
      failures.push(e);
      deps.log?.(`clean-up step ${s.kind} failed`, e);
    }
  }
  return failures;
}
