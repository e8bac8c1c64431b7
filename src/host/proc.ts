/**
 * Is a process really alive? `kill(pid, 0)` also succeeds for a zombie that pid 1 has not
 * reaped yet and for an unrelated process that reused the pid; /proc tells them apart.
 */
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

export interface ProcInfo {
  pid: number;
  state: string;
  /** start time in clock ticks since boot: with the pid, a process's identity */
  startTicks: number;
  cmdline: string[];
}

export function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parens: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
    return { pid, state: rest[0] ?? "?", startTicks: Number(rest[19] ?? 0), cmdline };
  } catch {
    return null;
  }
}

/** Alive and not a zombie waiting for pid 1 to reap it. */
export function isProcessAlive(pid: number): boolean {
  const p = readProc(pid);
  return p !== null && p.state !== "Z" && p.state !== "X";
}

/** Alive, not a zombie, and its command line contains `marker` (e.g. our pid-file path). */
export function isOurProcessAlive(pid: number, marker: string): boolean {
  const p = readProc(pid);
  if (!p || p.state === "Z" || p.state === "X") return false;
  return p.cmdline.some((a) => a.includes(marker));
}

export function readPidFile(path: string): number | null {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Polls until `pred` holds or the deadline passes; returns whether it held. */
export async function waitFor(pred: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return true;
    if (Date.now() >= end) return false;
    await delay(stepMs);
  }
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone or a zombie. */
export async function terminate(pid: number, marker: string, graceMs = 3000): Promise<void> {
  if (!isOurProcessAlive(pid, marker)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  if (await waitFor(() => !isOurProcessAlive(pid, marker), graceMs)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await waitFor(() => !isOurProcessAlive(pid, marker), 5000);
}

/** Changes at every host boot: what must happen once per boot is recorded with it. */
export function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}
