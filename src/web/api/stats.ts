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

function num(o: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) {
    const path = k.split(".");
    let v: unknown = o;
    for (const p of path) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

interface Raw {
  t: number;
  cpuNs: number | null;
  dr: number | null;
  dw: number | null;
  rx: number | null;
  tx: number | null;
}

/** Turns one raw sample (whatever names the daemon uses) into a point, given the previous one. */
export function toPoint(sample: Record<string, unknown>, timeMs: number, prev: Raw | null, vcpus: number): { point: Point; raw: Raw } {
  const t = (num(sample, "time", "timestamp") ?? timeMs) / 1000;
  const raw: Raw = {
    t,
    cpuNs: num(sample, "cpuTimeNs", "cpu.timeNs", "cpuNs"),
    dr: num(sample, "diskReadBytes", "disk.readBytes", "blockReadBytes"),
    dw: num(sample, "diskWriteBytes", "disk.writeBytes", "blockWriteBytes"),
    rx: num(sample, "netRxBytes", "net.rxBytes", "rxBytes"),
    tx: num(sample, "netTxBytes", "net.txBytes", "txBytes"),
  };
  const dt = prev ? t - prev.t : 0;
  const rate = (a: number | null, b: number | null | undefined) => (a !== null && b != null && dt > 0 && a >= b ? (a - b) / dt : null);
  let cpu = num(sample, "cpuPercent", "cpu.percent", "cpu");
  if (cpu === null && raw.cpuNs !== null && prev?.cpuNs != null && dt > 0) {
    cpu = ((raw.cpuNs - prev.cpuNs) / 1e9 / dt / Math.max(1, vcpus)) * 100;
  }
  const memUsed = num(sample, "memoryUsedBytes", "memory.usedBytes", "memUsedBytes", "rssBytes");
  const memTotal = num(sample, "memoryTotalBytes", "memory.totalBytes", "memTotalBytes");
  return {
    raw,
    point: {
      t,
      cpuPercent: cpu === null ? null : Math.max(0, Math.min(100, cpu)),
      memUsedMiB: memUsed === null ? null : memUsed / 1048576,
      memTotalMiB: memTotal === null ? null : memTotal / 1048576,
      diskReadBps: rate(raw.dr, prev?.dr),
      diskWriteBps: rate(raw.dw, prev?.dw),
      netRxBps: rate(raw.rx, prev?.rx),
      netTxBps: rate(raw.tx, prev?.tx),
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
