/**
 * Live samples per VM, kept in a ring buffer for graphs and sparklines. Samples arrive as
 * `vm.stats` events; counters (CPU time, bytes) become rates here, from consecutive samples.
 */
export interface Point {
  /** seconds since the epoch */
  t: number;
  cpuPercent: number | null;
  memUsedMiB: number | null;
  memTotalMiB: number | null;
  diskReadBps: number | null;
  diskWriteBps: number | null;
  netRxBps: number | null;
  netTxBps: number | null;
}

const KEEP = 120;

function num(o: unknown, ...keys: string[]): number | null {
  for (const k of keys) {
    let v: unknown = o;
    for (const p of k.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

/** Sum of one numeric field over a list (the NICs or disks of a sample); null if none has it. */
function sum(list: unknown, key: string): number | null {
  if (!Array.isArray(list)) return null;
  let total: number | null = null;
  for (const x of list) {
    const v = num(x, key);
    if (v !== null) total = (total ?? 0) + v;
  }
  return total;
}

export interface Raw {
  t: number;
  pid: number | null;
  cpuS: number | null;
  dr: number | null;
  dw: number | null;
  rx: number | null;
  tx: number | null;
}

/**
 * Turns one sample of `vm.stats` (src/api/stats.ts on the daemon: QEMU's CPU share of one host
 * core, RSS, per-NIC and per-disk counters with per-second rates) into a point of the graphs.
 * Counters become rates from the previous sample when the daemon gives no rate.
 */
export function toPoint(sample: Record<string, unknown>, timeMs: number, prev: Raw | null, vcpus: number): { point: Point; raw: Raw } {
  const t = (num(sample, "time") ?? timeMs) / 1000;
  const raw: Raw = {
    t,
    pid: num(sample, "pid"),
    cpuS: num(sample, "cpuSeconds"),
    dr: sum(sample.disks, "rdBytes"),
    dw: sum(sample.disks, "wrBytes"),
    rx: sum(sample.nics, "rxBytes"),
    tx: sum(sample.nics, "txBytes"),
  };
  // A new QEMU process restarts every counter.
  const p = prev && prev.pid === raw.pid && t > prev.t ? prev : null;
  const dt = p ? t - p.t : 0;
  const rate = (a: number | null, b: number | null | undefined) => (a !== null && b != null && dt > 0 && a >= b ? (a - b) / dt : null);
  const n = Math.max(1, Array.isArray(sample.vcpus) && sample.vcpus.length > 0 ? sample.vcpus.length : vcpus);
  // The daemon's CPU share is of one host core (200 = two cores); the graph shows the VM's own capacity.
  let cpu = num(sample, "cpuPercent");
  if (cpu === null && raw.cpuS !== null && p?.cpuS != null && dt > 0) cpu = ((raw.cpuS - p.cpuS) / dt) * 100;
  if (cpu !== null) cpu = cpu / n;
  const memUsed = num(sample, "memory.rssBytes", "memoryUsedBytes");
  const memTotal = num(sample, "memory.configuredBytes", "memoryTotalBytes");
  return {
    raw,
    point: {
      t,
      cpuPercent: cpu === null ? null : Math.max(0, Math.min(100, cpu)),
      memUsedMiB: memUsed === null ? null : memUsed / 1048576,
      memTotalMiB: memTotal === null ? null : memTotal / 1048576,
      diskReadBps: sum(sample.disks, "rdBytesPerSec") ?? rate(raw.dr, p?.dr),
      diskWriteBps: sum(sample.disks, "wrBytesPerSec") ?? rate(raw.dw, p?.dw),
      netRxBps: sum(sample.nics, "rxBytesPerSec") ?? rate(raw.rx, p?.rx),
      netTxBps: sum(sample.nics, "txBytesPerSec") ?? rate(raw.tx, p?.tx),
    },
  };
}

/** Per-VM ring buffers with change notification (for useSyncExternalStore). */
export class StatsStore {
  private series = new Map<string, Point[]>();
  private last = new Map<string, Raw>();
  private listeners = new Set<() => void>();
  private version = 0;

  add(vm: string, sample: Record<string, unknown>, timeMs: number, vcpus = 1): void {
    const { point, raw } = toPoint(sample, timeMs, this.last.get(vm) ?? null, vcpus);
    this.last.set(vm, raw);
    const s = [...(this.series.get(vm) ?? []), point];
    if (s.length > KEEP) s.splice(0, s.length - KEEP);
    this.series.set(vm, s);
    this.version++;
    this.listeners.forEach((l) => l());
  }
  /** History from GET /v1/vms/:name/stats, when this page has none yet (opened mid-run). */
  seed(vm: string, samples: readonly Record<string, unknown>[], vcpus = 1): void {
    if ((this.series.get(vm)?.length ?? 0) > 1 || samples.length === 0) return;
    this.series.delete(vm);
    this.last.delete(vm);
    for (const s of samples) this.add(vm, s, Date.now(), vcpus);
  }
  forget(vm: string): void {
    this.series.delete(vm);
    this.last.delete(vm);
    this.version++;
    this.listeners.forEach((l) => l());
  }
  get(vm: string): readonly Point[] {
    return this.series.get(vm) ?? EMPTY;
  }
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  getVersion = (): number => this.version;
}

const EMPTY: readonly Point[] = [];
