/**
 * What a VM's disks can do besides booting: snapshots, resizing, clones.
 *
 * Snapshots are qcow2 internal snapshots, one of the same name in every disk. While the VM
 * is off, qemu-img makes, reverts and deletes them (disks only). While it runs (or is
 * paused), QEMU's snapshot-save / snapshot-load / snapshot-delete jobs do, and a snapshot
 * taken then also holds the memory (kept in the first disk): reverting to it resumes the
 * guest where it was. A disk-only snapshot is reverted with the VM off.
 */
import { randomBytes } from "node:crypto";
import { KvmgrError, invalid, notFound } from "../../api/errors.js";
import type { Snapshot, Vm, VmClone } from "../../api/vm.js";
import { formatSize } from "../../core/model/size.js";
import { diskNodeName } from "../../core/render/qemu-argv.js";
import { validateVmCreate, type VmSpec } from "../../core/validate/vm.js";
import { imageSizes, imageSnapshot, listImageSnapshots, resizeImage } from "../../host/disk/images.js";
import { blockResize, QmpJobError, snapshotDelete, snapshotLoad, snapshotSave } from "../../host/qemu/qmp-jobs.js";
import type { QmpMonitor } from "../../host/qemu/qmp-monitor.js";
import type { Runner } from "../../host/runner.js";
import { crashPoint } from "../util/crash-point.js";
import type { VmsService } from "./vms.js";

/** Removes snapshot `snap` from the disks that have it. */
export async function undoOfflineSnapshot(run: Runner, snap: string, disks: readonly string[]): Promise<void> {
  for (const p of disks) {
    const has = (await listImageSnapshots(run, p).catch(() => [])).some((s) => s.name === snap);
    if (has) await imageSnapshot(run, "delete", p, snap);
  }
}

export class VmStorageService {
  constructor(private readonly vms: VmsService) {}

  private get ctx() {
    return this.vms.ctx;
  }

  /** The VM's disks, all qcow2 (the only format with internal snapshots). */
  private snapshotDisks(spec: VmSpec): string[] {
    if (spec.disks.length === 0) throw invalid("name", `VM '${spec.name}' has no disk: there is nothing to snapshot.`);
    const raw = spec.disks.find((d) => d.format !== "qcow2");
    if (raw) throw invalid("name", `Disk ${raw.path} of VM '${spec.name}' is ${raw.format}: only qcow2 images hold snapshots.`);
    return spec.disks.map((d) => d.path);
  }

  /** The running VM's monitor, or null when it is off. */
  private async liveMonitor(name: string): Promise<QmpMonitor | null> {
    const v = this.vms.get(name);
    if (!this.vms.isAlive(v)) return null;
    await this.vms.qmpOf(name);
    return this.vms.monitors.monitor(name);
  }

  private jobError(e: unknown, what: string): never {
    if (e instanceof QmpJobError) throw new KvmgrError("KVMGR_ERR_HOST_COMMAND", `QEMU could not ${what}: ${e.message}`, { cause: e });
    throw e;
  }

  /**
   * One qemu-img snapshot action on every disk, journaled: a daemon dying between two disks
   * leaves an entry that recovery completes (apply, delete) or undoes (create).
   */
  private async offline(vm: string, action: "create" | "apply" | "delete", snap: string, disks: string[]): Promise<void> {
    const op = this.ctx.store.beginOp("vm.snapshot", vm, { action, snapshot: snap, disks });
    try {
      for (const [i, p] of disks.entries()) {
        await imageSnapshot(this.ctx.run, action, p, snap);
        if (i === 0) crashPoint(`vm.snapshot-${action}:after-first-disk`);
      }
    } catch (e) {
      // All disks or none: a snapshot in some disks only could not be reverted whole.
      if (action === "create") await undoOfflineSnapshot(this.ctx.run, snap, disks);
      this.ctx.store.endOp(op);
      throw e;
    }
    this.ctx.store.endOp(op);
  }

  async listSnapshots(name: string): Promise<Snapshot[]> {
    const v = this.vms.get(name);
    if (v.spec.disks.length === 0 || v.spec.disks[0]?.format !== "qcow2") return [];
    const first = v.spec.disks[0];
    return (await listImageSnapshots(this.ctx.run, first.path)).map((s) => ({ name: s.name, createdMs: s.createdMs, vmStateBytes: s.vmStateBytes }));
  }

  createSnapshot(name: string, snap: string): Promise<Snapshot> {
    return this.vms.lock.run(async () => {
      const v = this.vms.get(name);
      const disks = this.snapshotDisks(v.spec);
      if ((await this.listSnapshots(name)).some((s) => s.name === snap)) {
        throw new KvmgrError("KVMGR_ERR_SNAPSHOT_EXISTS", `VM '${name}' already has a snapshot named '${snap}'.`);
      }
      const mon = await this.liveMonitor(name);
      if (mon) {
        const nodes = disks.map((_, i) => diskNodeName(i));
        await snapshotSave(mon, snap, diskNodeName(0), nodes).catch((e: unknown) => this.jobError(e, "save the snapshot"));
      } else {
        await this.offline(name, "create", snap, disks);
      }
      this.ctx.log.info({ vm: name, snapshot: snap, live: mon !== null }, "snapshot taken");
      const made = (await this.listSnapshots(name)).find((s) => s.name === snap);
      if (!made) throw new KvmgrError("KVMGR_ERR_INTERNAL", `Snapshot '${snap}' of VM '${name}' was not found after it was taken.`);
      return made;
    });
  }

  private async existing(name: string, snap: string): Promise<Snapshot> {
    const s = (await this.listSnapshots(name)).find((x) => x.name === snap);
    if (!s) throw notFound(`Snapshot of VM '${name}'`, snap);
    return s;
  }

  revertSnapshot(name: string, snap: string): Promise<Vm> {
    return this.vms.lock.run(async () => {
      const v = this.vms.get(name);
      const disks = this.snapshotDisks(v.spec);
      const s = await this.existing(name, snap);
      this.vms.assertNotBase(v.spec, "revert");
      const mon = await this.liveMonitor(name);
      if (mon) {
        if (s.vmStateBytes === 0) {
          throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `Snapshot '${snap}' was taken with VM '${name}' off and holds no memory: stop the VM to revert to it.`);
        }
        await snapshotLoad(mon, snap, diskNodeName(0), disks.map((_, i) => diskNodeName(i))).catch((e: unknown) => this.jobError(e, "load the snapshot"));
        // snapshot-load leaves the vCPUs stopped; a running VM goes on running.
        const st = await (await this.vms.qmpOf(name)).queryStatus();
        if (!st.running && this.vms.stateOf(v) === "running") await (await this.vms.qmpOf(name)).cont();
      } else {
        await this.offline(name, "apply", snap, disks);
      }
      this.ctx.log.info({ vm: name, snapshot: snap, live: mon !== null }, "snapshot reverted");
      return this.vms.show(name);
    });
  }

  deleteSnapshot(name: string, snap: string): Promise<void> {
    return this.vms.lock.run(async () => {
      const v = this.vms.get(name);
      const disks = this.snapshotDisks(v.spec);
      await this.existing(name, snap);
      const mon = await this.liveMonitor(name);
      if (mon) await snapshotDelete(mon, snap, disks.map((_, i) => diskNodeName(i))).catch((e: unknown) => this.jobError(e, "delete the snapshot"));
      else await this.offline(name, "delete", snap, disks);
      this.ctx.log.info({ vm: name, snapshot: snap }, "snapshot deleted");
    });
  }

  /** Grows disk `index` to `sizeBytes`: qemu-img when off, QMP block_resize while running. */
  resizeDisk(name: string, index: number, sizeBytes: number, force?: boolean): Promise<Vm> {
    return this.vms.lock.run(async () => {
      const v = this.vms.get(name);
      const d = v.spec.disks[index];
      if (!d) throw invalid("index", `VM '${name}' has no disk ${index} (it has ${v.spec.disks.length}).`);
      const cur = imageSizes(d.path, d.format)?.virtualSizeBytes ?? 0;
      const size = Math.ceil(sizeBytes / 512) * 512;
      if (size < cur) throw invalid("sizeBytes", `Disk ${index} of VM '${name}' has ${formatSize(cur)}; shrinking would cut off the data past ${formatSize(size)}, so kvmgr only grows disks.`);
      if (size === cur) return this.vms.show(name);
      const users = this.vms.linkedUsersOf(d.path, name);
      if (users.length > 0) throw new KvmgrError("KVMGR_ERR_DISK_IN_USE", `Disk ${d.path} is the base of the linked clone${users.length > 1 ? "s" : ""} ${users.map((u) => `'${u}'`).join(", ")}; it cannot change.`);
      this.vms.checkFreeSpace(size - cur, force);
      const mon = await this.liveMonitor(name);
      if (mon) await blockResize(mon, diskNodeName(index), size);
      else await resizeImage(this.ctx.run, d.path, d.format, size);
      this.ctx.log.info({ vm: name, disk: index, sizeBytes: size, live: mon !== null }, "disk resized");
      return this.vms.show(name);
    });
  }

  /**
   * A new VM with the source's hardware, new MACs, and its own disks: full copies, or with
   * `linked` qcow2 overlays whose base is the source's disk (the source then may not
   * start or change while the clone lives). The source must be off: a running VM's disks
   * are not consistent on disk.
   */
  async clone(src: string, body: VmClone): Promise<Vm> {
    await this.vms.lock.run(async () => {
      const v = this.vms.get(src);
      if (this.vms.isAlive(v)) throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `VM '${src}' is running; shut it down before cloning (its disks are not consistent while it runs).`);
      const s = v.pending ?? v.spec;
      const ctx = await this.vms.vmContext(s.disks.map((d) => d.path));
      const plan = validateVmCreate(
        {
          name: body.name,
          memoryMiB: s.memoryMiB,
          vcpus: s.vcpus,
          nics: s.nics.map((n) => ({ network: n.network, model: n.model })),
          ...(s.image ? { image: s.image } : {}),
          ...(s.kernel ? { kernel: s.kernel } : {}),
          ...(s.initrd ? { initrd: s.initrd } : {}),
          ...(s.cmdline ? { cmdline: s.cmdline } : {}),
          ...(s.cdrom ? { cdrom: s.cdrom } : {}),
          disks: s.disks.map((d) => ({ import: d.path, bus: d.bus, ...(body.linked ? { linked: true } : { copy: true }) })),
          bootOrder: s.bootOrder,
        },
        { ...ctx, os: () => null, randomBytes: () => randomBytes(3) },
      );
      plan.spec.os = s.os;
      this.vms.checkFreeSpace(plan.newBytes, body.force);
      await this.vms.commitWithDisks("vm.clone", body.name, plan, () => this.ctx.store.putVm({ spec: plan.spec, runtime: null, crashed: false, pending: null }));
      this.ctx.log.info({ vm: body.name, from: src, linked: body.linked === true }, "vm cloned");
      this.ctx.events.publish({ type: "vm.defined", vm: body.name });
    });
    return this.vms.show(body.name);
  }
}

