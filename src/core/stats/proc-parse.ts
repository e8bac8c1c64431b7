/** Parsers of /proc and /sys text for live statistics, and the rate math. Pure. */

/** user + system CPU time of a process or thread, in clock ticks, from a /proc/…/stat line. */
export function parseStatCpuTicks(stat: string): number | null {
  // comm (field 2) may hold spaces and parens: the fields after it start past the last ')'.
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  const rest = stat.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** Resident set size in bytes from /proc/PID/status (`VmRSS: 1234 kB`). */
export function parseStatusRssBytes(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

export interface IfCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/**
 * /proc/PID/net/dev: the counters of every interface of the network namespace PID lives in
 * (the interface's own view: rx is what it received).
 */
export function parseNetDev(text: string): Map<string, IfCounters> {
  const out = new Map<string, IfCounters>();
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(name, { rxBytes: f[0] ?? 0, rxPackets: f[1] ?? 0, txBytes: f[8] ?? 0, txPackets: f[9] ?? 0 });
  }
  return out;
}

/**
 * CPU use between two readings as a percentage of one core: `ticks` of CPU time over
 * `wallMs` of wall time. Null when there is no earlier reading or time did not advance;
 * never negative (a counter that went back means a new process).
 */
export function cpuPercent(prevTicks: number | null, ticks: number, wallMs: number, clockTicksPerSec: number): number | null {
  if (prevTicks === null || wallMs <= 0 || ticks < prevTicks) return null;
  const seconds = (ticks - prevTicks) / clockTicksPerSec;
  return Math.round((seconds / (wallMs / 1000)) * 1000) / 10;
}

/** Per-second rate of a counter between two readings; null without an earlier one or on a reset. */
export function ratePerSec(prev: number | null | undefined, cur: number, wallMs: number): number | null {
  if (prev === null || prev === undefined || wallMs <= 0 || cur < prev) return null;
  return Math.round(((cur - prev) * 1000) / wallMs);
}
