/** Reads the /proc files live statistics come from (parsing is in core/stats). */
import { readFileSync } from "node:fs";
import { parseNetDev, parseStatCpuTicks, parseStatusRssBytes, type IfCounters } from "../core/stats/proc-parse.js";
import type { Runner } from "./runner.js";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** user + system ticks of the whole process (all its threads, living and ended). */
export function processCpuTicks(pid: number): number | null {
  const s = read(`/proc/${pid}/stat`);
  return s === null ? null : parseStatCpuTicks(s);
}

export function threadCpuTicks(pid: number, tid: number): number | null {
  const s = read(`/proc/${pid}/task/${tid}/stat`);
  return s === null ? null : parseStatCpuTicks(s);
}

export function processRssBytes(pid: number): number | null {
  const s = read(`/proc/${pid}/status`);
  return s === null ? null : parseStatusRssBytes(s);
}

/**
 * Interface counters of the network namespace `pid` lives in: /proc/PID/net/dev shows the
 * reader that namespace, so a QEMU in the managed namespace shows its taps without entering it.
 */
export function netnsCounters(pid: number): Map<string, IfCounters> | null {
  const s = read(`/proc/${pid}/net/dev`);
  return s === null ? null : parseNetDev(s);
}

/** USER_HZ, the unit of /proc CPU times (100 on every Linux kvmgr runs on; asked once anyway). */
export async function clockTicksPerSec(run: Runner): Promise<number> {
  const r = await run.run(["getconf", "CLK_TCK"], { allowFail: true, timeoutMs: 5000 }).catch(() => null);
  const n = Number(r?.stdout.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}
