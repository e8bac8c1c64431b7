/**
 * QMP background jobs (snapshot-save, snapshot-load, snapshot-delete, since QEMU 6.0):
 * start one, wait for it to conclude (JOB_STATUS_CHANGE), read its error from query-jobs,
 * dismiss it. https://www.qemu.org/docs/master/interop/qemu-qmp-ref.html#snapshot-save
 */
import type { QmpMonitor } from "./qmp-monitor.js";

export class QmpJobError extends Error {
  constructor(
    readonly job: string,
    message: string,
  ) {
    super(message);
    this.name = "QmpJobError";
  }
}

let seq = 0;

/** Runs `command` as a job and resolves when it concluded without error. */
export async function runQmpJob(mon: QmpMonitor, command: string, args: Record<string, unknown>, timeoutMs = 600000): Promise<void> {
  const id = `kvmgr-${command}-${process.pid}-${++seq}`;
  // Listen before starting: the job may conclude before the command's reply is read.
  const concluded = mon.waitForEvent("JOB_STATUS_CHANGE", { timeoutMs, predicate: (e) => e.data.id === id && e.data.status === "concluded" });
  concluded.catch(() => undefined);
  await mon.execute(command, { "job-id": id, ...args });
  await concluded;
  const jobs = await mon.execute<{ id: string; error?: string }[]>("query-jobs");
  const job = jobs.find((j) => j.id === id);
  await mon.execute("job-dismiss", { id });
  if (job?.error) throw new QmpJobError(id, job.error);
}

/** `snapshot-save`: disks and memory state; the memory goes into `vmstate` (a disk's node name). */
export function snapshotSave(mon: QmpMonitor, tag: string, vmstate: string, devices: string[]): Promise<void> {
  return runQmpJob(mon, "snapshot-save", { tag, vmstate, devices });
}

/** `snapshot-load`: disks and memory back to `tag`. */
export function snapshotLoad(mon: QmpMonitor, tag: string, vmstate: string, devices: string[]): Promise<void> {
  return runQmpJob(mon, "snapshot-load", { tag, vmstate, devices });
}

export function snapshotDelete(mon: QmpMonitor, tag: string, devices: string[]): Promise<void> {
  return runQmpJob(mon, "snapshot-delete", { tag, devices });
}

/** `block_resize` of a running VM's disk, by node name: the guest sees the new size at once. */
export async function blockResize(mon: QmpMonitor, nodeName: string, sizeBytes: number): Promise<void> {
  await mon.execute("block_resize", { "node-name": nodeName, size: sizeBytes });
}
