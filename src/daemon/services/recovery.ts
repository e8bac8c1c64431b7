/**
 * Finishing or rolling back what a killed daemon left half-done, from the operations
 * journal (intent recorded before the first host change, cleared with the last store
 * write). Creations roll back (their new disk images go unless a stored definition uses
 * them), starts finish when QEMU came up and roll back otherwise, stops and deletes finish,
 * offline snapshot actions are made whole on every disk (a create undone, a revert or
 * delete completed).
 */
import type { HostStep } from "../../core/plan/host-step.js";
import type { VmSpec } from "../../core/validate/vm.js";
import { undoSteps } from "../../host/apply.js";
import { isOurProcessAlive, readPidFile } from "../../host/proc.js";
import type { OpEntry } from "../store/store.js";
import type { VmsService } from "./vms.js";
import { undoOfflineSnapshot } from "./vm-storage.js";
import { imageSnapshot, listImageSnapshots } from "../../host/disk/images.js";

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export async function recoverOperations(vms: VmsService): Promise<OpEntry[]> {
  const { store, log } = vms.ctx;
  const open = store.listOps();
  if (open.length === 0) return [];
  await vms.lock.run(async () => {
    for (const op of open) {
      log.warn({ op: op.kind, vm: op.vm, id: op.id }, "finishing an operation interrupted by the daemon's end");
      try {
        await recoverOne(vms, op);
      } catch (err) {
        log.error({ err, op: op.kind, vm: op.vm }, "could not recover an interrupted operation; it stays in the journal");
      }
    }
  });
  return open;
}

async function recoverOne(vms: VmsService, op: OpEntry): Promise<void> {
  const { store } = vms.ctx;
  const v = store.getVm(op.vm);
  switch (op.kind) {
    case "vm.create":
    case "vm.edit":
    case "vm.clone": {
      // New images no stored definition refers to were never committed: remove them.
      const used = new Set(store.listVms().flatMap((o) => [o.spec, ...(o.pending ? [o.pending] : [])].flatMap((s) => s.disks.map((d) => d.path))));
      const steps = (Array.isArray(op.data.diskSteps) ? (op.data.diskSteps as HostStep[]) : []).filter((s) => "path" in s && !used.has(s.path));
      await undoSteps(vms.deps(), steps.map((s): HostStep => ({ kind: "disk.remove", path: (s as { path: string }).path })));
      store.endOp(op.id);
      return;
    }
    case "vm.start": {
      const taps = strings(op.data.taps);
      const pidFile = vms.paths(op.vm).pidFile;
      const pid = readPidFile(pidFile);
      if (v && pid !== null && isOurProcessAlive(pid, pidFile)) {
        // QEMU came up: the start only missed its record.
        const accel = op.data.accel === "kvm" ? "kvm" : "tcg";
        vms.recordStarted(op.vm, (op.data.spec as VmSpec | undefined) ?? v.spec, taps, accel, typeof op.data.accelReason === "string" ? op.data.accelReason : "", op.id);
        return;
      }
      await undoSteps(vms.deps(), taps.map((t): HostStep => ({ kind: "tap.del", name: t })));
      store.endOp(op.id);
      return;
    }
    case "vm.stop": {
      if (!v) {
        store.endOp(op.id);
        return;
      }
      const runtime = v.runtime ?? { pid: 0, startTicks: 0, taps: strings(op.data.taps), accel: "tcg" as const, accelReason: "" };
      await vms.cleanupLocked({ ...v, runtime }, false, op.id);
      return;
    }
    case "vm.delete": {
      if (v?.runtime) await vms.cleanupLocked(v, false);
      else await undoSteps(vms.deps(), strings(op.data.taps).map((t): HostStep => ({ kind: "tap.del", name: t })));
      await vms.finishDelete(op.vm, strings(op.data.removeDisks), op.id);
      return;
    }
    case "vm.snapshot": {
      // qemu-img snapshot actions, per disk: a create is undone, a revert or delete completed.
      const snap = typeof op.data.snapshot === "string" ? op.data.snapshot : "";
      const disks = strings(op.data.disks);
      if (op.data.action === "create") await undoOfflineSnapshot(vms.ctx.run, snap, disks);
      else if (op.data.action === "apply" || op.data.action === "delete") {
        for (const p of disks) {
          const has = (await listImageSnapshots(vms.ctx.run, p).catch(() => [])).some((s) => s.name === snap);
          if (has) await imageSnapshot(vms.ctx.run, op.data.action, p, snap);
        }
      }
      store.endOp(op.id);
      return;
    }
    default:
      vms.ctx.log.warn({ op: op.kind }, "unknown operation in the journal; dropped");
      store.endOp(op.id);
  }
}
