/**
 * Live statistics: every second, for each running VM, QEMU's CPU time (whole process and
 * per vCPU thread), its resident memory, the counters of its taps and QEMU's block I/O
 * counters. The last ten minutes are kept per VM and every sample is published as a
 * `vm.stats` event. Reading costs no process: /proc only, plus one QMP command per VM.
 */
import type { DiskStats, NicStats, VcpuStats, VmStatsSample } from "../../api/stats.js";
import { cpuPercent, ratePerSec, type IfCounters } from "../../core/stats/proc-parse.js";
import { Ring } from "../../core/stats/ring.js";
import { diskNodeName } from "../../core/render/qemu-argv.js";
import type { QmpBlockStats, QmpCpu } from "../../host/qemu/qmp-commands.js";
import { clockTicksPerSec, netnsCounters, processCpuTicks, processRssBytes, threadCpuTicks } from "../../host/proc-stats.js";
import type { DaemonContext } from "../context.js";
import type { VmMonitors } from "./monitors.js";
import type { RunningVm, VmRuntime } from "./vm-runtime.js";

export const STATS_INTERVAL_MS = 1000;
/** ten minutes of one-second samples */
export const STATS_KEPT = 600;

interface Prev {
  pid: number;
  time: number;
  ticks: number;
  vcpuTicks: Map<number, number>;
  nics: Map<string, IfCounters>;
  disks: Map<string, QmpBlockStats>;
}

interface PerVm {
  ring: Ring<VmStatsSample>;
  prev: Prev | null;
  /** vCPU threads of the QEMU with this pid (asked once per run) */
  cpus: { pid: number; list: QmpCpu[] } | null;
}

export class StatsSampler {
  private readonly vms = new Map<string, PerVm>();
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private hz: number | null = null;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly rt: VmRuntime,
    private readonly monitors: VmMonitors,
  ) {
    ctx.events.subscribe((e) => {
      if (e.type === "vm.deleted") this.vms.delete(e.vm);
    });
    this.timer = setInterval(() => void this.tick(), STATS_INTERVAL_MS);
    this.timer.unref();
  }

  /** Samples of `vm` newer than `since` (ms since the epoch), oldest first. */
  samples(vm: string, since = 0): VmStatsSample[] {
    return (this.vms.get(vm)?.ring.toArray() ?? []).filter((s) => s.time > since);
  }

  latest(vm: string): VmStatsSample | undefined {
    return this.vms.get(vm)?.ring.last();
  }

  /** Takes one sample of every running VM now (the timer calls it every second). */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.hz ??= await clockTicksPerSec(this.ctx.run);
      const running = this.rt.allRunning();
      // Every VM's QEMU lives in the managed namespace: one read shows all their taps.
      const first = running[0];
      const counters = first ? (netnsCounters(first.pid) ?? new Map<string, IfCounters>()) : new Map<string, IfCounters>();
      await Promise.all(running.map((r) => this.sample(r, counters, this.hz ?? 100)));
    } catch (err) {
      this.ctx.log.warn({ err }, "sampling VM statistics failed");
    } finally {
      this.ticking = false;
    }
  }

  private async sample(r: RunningVm, counters: Map<string, IfCounters>, hz: number): Promise<void> {
    let per = this.vms.get(r.name);
    if (!per) {
      per = { ring: new Ring(STATS_KEPT), prev: null, cpus: null };
      this.vms.set(r.name, per);
    }
    const ticks = processCpuTicks(r.pid);
    if (ticks === null) return; // QEMU is exiting
    const qmp = this.monitors.commands(r.name);
    if (qmp && per.cpus?.pid !== r.pid) {
      const list = await qmp.queryCpusFast({ timeoutMs: 2000 }).catch(() => null);
      if (list) per.cpus = { pid: r.pid, list };
    }
    // Every QMP command takes QEMU's big lock from the vCPU threads: none for a VM without disks.
    const hasBlock = r.stored.spec.disks.length > 0 || r.stored.spec.cdrom !== null;
    const blocks = qmp && hasBlock ? await qmp.queryBlockstats({ timeoutMs: 2000 }).catch(() => [] as QmpBlockStats[]) : [];
    const time = Date.now();
    const prev = per.prev?.pid === r.pid ? per.prev : null;
    const wall = prev ? time - prev.time : 0;

    const vcpuTicks = new Map<number, number>();
    const vcpus: VcpuStats[] = [];
    for (const c of per.cpus?.pid === r.pid ? per.cpus.list : []) {
      const t = threadCpuTicks(r.pid, c.threadId);
      if (t === null) continue;
      vcpuTicks.set(c.threadId, t);
      vcpus.push({ index: c.cpuIndex, threadId: c.threadId, cpuSeconds: t / hz, cpuPercent: cpuPercent(prev?.vcpuTicks.get(c.threadId) ?? null, t, wall, hz) });
    }

    const nicCounters = new Map<string, IfCounters>();
    const nics: NicStats[] = [];
    r.stored.spec.nics.forEach((nic, index) => {
      const tap = r.stored.runtime?.taps[index];
      const c = tap === undefined ? undefined : counters.get(tap);
      if (tap === undefined || !c) return;
      nicCounters.set(tap, c);
      const p = prev?.nics.get(tap);
      // The guest's view: what the tap sent, the guest received.
      nics.push({
        index,
        mac: nic.mac,
        network: nic.network,
        tap,
        rxBytes: c.txBytes,
        txBytes: c.rxBytes,
        rxPackets: c.txPackets,
        txPackets: c.rxPackets,
        rxBytesPerSec: ratePerSec(p?.txBytes, c.txBytes, wall),
        txBytesPerSec: ratePerSec(p?.rxBytes, c.rxBytes, wall),
      });
    });

    const diskPrev = new Map<string, QmpBlockStats>();
    const disks: DiskStats[] = blocks.map((b) => {
      const device = b.nodeName || b.device || b.qdev || "?";
      const i = r.stored.spec.disks.findIndex((_, n) => diskNodeName(n) === device);
      const index = i < 0 ? null : i;
      diskPrev.set(device, b);
      const p = prev?.disks.get(device);
      return {
        device,
        index,
        path: index === null ? (device === "cd0" ? r.stored.spec.cdrom : null) : (r.stored.spec.disks[index]?.path ?? null),
        rdBytes: b.rdBytes,
        wrBytes: b.wrBytes,
        rdOps: b.rdOperations,
        wrOps: b.wrOperations,
        rdBytesPerSec: ratePerSec(p?.rdBytes, b.rdBytes, wall),
        wrBytesPerSec: ratePerSec(p?.wrBytes, b.wrBytes, wall),
      };
    });

    const sample: VmStatsSample = {
      time,
      pid: r.pid,
      cpuPercent: cpuPercent(prev?.ticks ?? null, ticks, wall, hz),
      cpuSeconds: ticks / hz,
      vcpus,
      memory: { configuredBytes: r.stored.spec.memoryMiB * 1024 * 1024, rssBytes: processRssBytes(r.pid) ?? 0 },
      nics,
      disks,
    };
    per.prev = { pid: r.pid, time, ticks, vcpuTicks, nics: nicCounters, disks: diskPrev };
    per.ring.push(sample);
    this.ctx.events.publish({ type: "vm.stats", vm: r.name, sample });
  }

  close(): void {
    clearInterval(this.timer);
  }
}
