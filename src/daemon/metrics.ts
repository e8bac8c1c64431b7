/**
 * Prometheus metrics (`GET /metrics`): per-VM gauges and counters from the latest stats
 * sample, labelled by vm (and nic/disk), plus the daemon's own process metrics. Values are
 * read at scrape time; a VM that stops leaves its counters out until it runs again.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { VmStatsSample } from "../api/stats.js";
import type { DaemonContext } from "./context.js";
import type { StatsSampler } from "./services/stats.js";
import type { VmRuntime } from "./services/vm-runtime.js";

type Labels = Record<string, string>;

export function buildMetrics(ctx: DaemonContext, rt: VmRuntime, stats: StatsSampler): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "kvmgr_daemon_" });

  const latest = (): [string, VmStatsSample][] =>
    rt.allRunning().flatMap((r) => {
      const s = stats.latest(r.name);
      return s && s.pid === r.pid ? [[r.name, s] as [string, VmStatsSample]] : [];
    });

  /** A gauge whose every series is recomputed at scrape time. */
  const gauge = (name: string, help: string, labelNames: string[], values: () => [Labels, number][]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [l, v] of values()) this.set(l, v);
      },
    });
  /** A counter whose value is QEMU's or the kernel's own running total. */
  const counter = (name: string, help: string, labelNames: string[], values: () => [Labels, number][]) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [l, v] of values()) this.inc(l, Math.max(0, v));
      },
    });

  gauge("kvmgr_vm_running", "1 when the VM's QEMU runs, else 0", ["vm"], () =>
    ctx.store.listVms().map((v) => [{ vm: v.spec.name }, rt.running(v.spec.name) ? 1 : 0]),
  );
  gauge("kvmgr_vm_vcpus", "configured virtual CPUs", ["vm"], () => ctx.store.listVms().map((v) => [{ vm: v.spec.name }, v.spec.vcpus]));
  gauge("kvmgr_vm_memory_configured_bytes", "configured guest memory", ["vm"], () =>
    ctx.store.listVms().map((v) => [{ vm: v.spec.name }, v.spec.memoryMiB * 1024 * 1024]),
  );
  gauge("kvmgr_vm_memory_rss_bytes", "resident memory of the VM's QEMU process", ["vm"], () => latest().map(([vm, s]) => [{ vm }, s.memory.rssBytes]));
  gauge("kvmgr_vm_cpu_percent", "CPU use of the VM's QEMU over the last second, in % of one host core", ["vm"], () =>
    latest().flatMap(([vm, s]) => (s.cpuPercent === null ? [] : [[{ vm }, s.cpuPercent] as [Labels, number]])),
  );
  counter("kvmgr_vm_cpu_seconds_total", "CPU time of the VM's QEMU process (user + system)", ["vm"], () => latest().map(([vm, s]) => [{ vm }, s.cpuSeconds]));
  counter("kvmgr_vm_vcpu_seconds_total", "CPU time of each vCPU thread", ["vm", "vcpu"], () =>
    latest().flatMap(([vm, s]) => s.vcpus.map((c) => [{ vm, vcpu: String(c.index) }, c.cpuSeconds] as [Labels, number])),
  );
  const nic = (key: "rxBytes" | "txBytes" | "rxPackets" | "txPackets") => () =>
    latest().flatMap(([vm, s]) => s.nics.map((n) => [{ vm, nic: String(n.index), mac: n.mac, network: n.network }, n[key]] as [Labels, number]));
  const nicLabels = ["vm", "nic", "mac", "network"];
  counter("kvmgr_vm_nic_receive_bytes_total", "bytes the guest received on the NIC", nicLabels, nic("rxBytes"));
  counter("kvmgr_vm_nic_transmit_bytes_total", "bytes the guest sent on the NIC", nicLabels, nic("txBytes"));
  counter("kvmgr_vm_nic_receive_packets_total", "packets the guest received on the NIC", nicLabels, nic("rxPackets"));
  counter("kvmgr_vm_nic_transmit_packets_total", "packets the guest sent on the NIC", nicLabels, nic("txPackets"));
  const disk = (key: "rdBytes" | "wrBytes" | "rdOps" | "wrOps") => () =>
    latest().flatMap(([vm, s]) => s.disks.map((d) => [{ vm, disk: d.device }, d[key]] as [Labels, number]));
  counter("kvmgr_vm_disk_read_bytes_total", "bytes read by the guest from the disk", ["vm", "disk"], disk("rdBytes"));
  counter("kvmgr_vm_disk_write_bytes_total", "bytes written by the guest to the disk", ["vm", "disk"], disk("wrBytes"));
  counter("kvmgr_vm_disk_read_ops_total", "read operations of the guest on the disk", ["vm", "disk"], disk("rdOps"));
  counter("kvmgr_vm_disk_write_ops_total", "write operations of the guest on the disk", ["vm", "disk"], disk("wrOps"));
  return registry;
}
