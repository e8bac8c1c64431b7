/**
 * Virtual machines: define and edit, start QEMU detached on its taps, power actions through
 * QMP, stop, delete, report state. Every operation that changes the host writes its intent
 * to the operations journal first (see recovery.ts), so a daemon killed at any point leaves
 * nothing the next daemon cannot finish or roll back.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from "node:fs";
import { KvmgrError, notFound } from "../../api/errors.js";
import { VmRename, type Vm, type VmCreate, type VmEdit, type VmState } from "../../api/vm.js";
import { formatSize } from "../../core/model/size.js";
import { planUndo, type HostStep } from "../../core/plan/host-step.js";
import { planVmStart, pickTapNames, vmRunPaths } from "../../core/plan/vm-plan.js";
import { testGuestCmdline, type QemuBoot } from "../../core/render/qemu-argv.js";
import { checkSchema } from "../../core/validate/schema-check.js";
import { SYSTEM_DIRS, specDiff, validateVmCreate, validateVmEdit, type ImageProbe, type VmContext, type VmPlan, type VmSpec } from "../../core/validate/vm.js";
import { applySteps, undoSteps } from "../../host/apply.js";
import { freeBytes, imageSizes, probeImage } from "../../host/disk/images.js";
import { observeLinks } from "../../host/iproute/links.js";
import { isOurProcessAlive, readPidFile, readProc, waitFor } from "../../host/proc.js";
import type { QmpCommands } from "../../host/qemu/qmp-commands.js";
import type { DaemonContext } from "../context.js";
import type { StoredVm } from "../store/store.js";
import { crashPoint } from "../util/crash-point.js";
import type { Mutex } from "../util/mutex.js";
import type { NetworksService } from "./networks.js";
import { VmMonitors } from "./monitors.js";
import { keepPreviousSerialLog } from "./serial-log.js";
import type { AddressBook } from "./addresses.js";

/** The uncompressed kernel boots by PVH, ~0.4 s faster under TCG; vmlinuz when it was not built. */
export function testGuestPaths(cacheDir: string): { kernel: string; initrd: string } {
  const dir = `${cacheDir}/images/test-guest`;
  const pvh = `${dir}/vmlinux`;
  return { kernel: existsSync(pvh) ? pvh : `${dir}/vmlinuz`, initrd: `${dir}/initrd.img` };
}

/** Seconds `vm shutdown` waits for the guest by default. */
export const DEFAULT_SHUTDOWN_TIMEOUT_S = 60;

/** A directory's path with links resolved, or as given while it does not exist yet. */
function realPathOr(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

export class VmsService {
  readonly monitors: VmMonitors;
  /** addresses from the guest agent and the neighbour table, besides our leases (set by createServices) */
  addresses: AddressBook | null = null;
  /** VMs whose guest powered itself off (QMP SHUTDOWN guest=true): their exit is not a crash */
  private readonly guestShutdown = new Set<string>();
  /** VMs paused (QMP STOP without a later RESUME) */
  private readonly paused = new Set<string>();
  /** `vm reboot` calls waiting for their VM's guest to be restarted (the request itself is in the store) */
  private readonly rebootWaiters = new Map<string, Set<() => void>>();

  constructor(
    readonly ctx: DaemonContext,
    readonly lock: Mutex,
    private readonly networks: NetworksService,
  ) {
    this.monitors = new VmMonitors(ctx.log, {
      onEvent: (vm, e) => {
        if (e.event === "SHUTDOWN" && e.data.guest === true) {
          void this.guestPoweredOff(vm);
          return;
        } else if (e.event === "STOP") this.paused.add(vm);
        else if (e.event === "RESUME") this.paused.delete(vm);
        else if (e.event !== "RESET") return;
        this.ctx.events.publish({ type: "vm.state", vm, state: this.paused.has(vm) ? "paused" : "running", reason: e.event.toLowerCase() });
      },
      // The dropped QMP connection is the first sign of QEMU's exit: reap at once.
      onDisconnect: (vm) => {
        this.ctx.log.debug({ vm }, "QMP connection dropped");
        this.reapWhenDead(vm);
      },
    });
  }

  /** The guest powered off and QEMU waits (-no-shutdown): restart it if a reboot was asked, else end it. */
  private async guestPoweredOff(vm: string): Promise<void> {
    const reboot = await this.lock.run(() => this.takeRebootRequestLocked(vm));
    if (reboot) {
      if (await this.restartPoweredOff(vm)) for (const w of this.rebootWaiters.get(vm) ?? []) w();
      return;
    }
    this.guestShutdown.add(vm);
    await this.endPoweredOff(vm);
  }

  /** Sets or clears the stored reboot request of a running VM; caller holds the lock. */
  private setRebootRequestLocked(vm: string, on: boolean): void {
    const v = this.ctx.store.getVm(vm);
    if (!v?.runtime || (v.runtime.rebooting ?? false) === on) return;
    this.ctx.store.putVm({ ...v, runtime: { ...v.runtime, rebooting: on } });
  }

  /** The guest is asked to power off another way (its agent): an earlier reboot request gives way. */
  dropRebootRequest(vm: string): Promise<void> {
    return this.lock.run(() => this.setRebootRequestLocked(vm, false));
  }

  /** Whether a reboot was asked, clearing the request; caller holds the lock. */
  private takeRebootRequestLocked(vm: string): boolean {
    const asked = this.ctx.store.getVm(vm)?.runtime?.rebooting === true;
    if (asked) this.setRebootRequestLocked(vm, false);
    return asked;
  }

  /** The guest powered off and QEMU waits (-no-shutdown): end it; its exit is reaped as a shutoff. */
  private endPoweredOff(vm: string): Promise<void> {
    const cmds = this.monitors.commands(vm);
    if (!cmds) return Promise.resolve();
    return cmds.quit().catch((err: unknown) => this.ctx.log.warn({ err, vm }, "could not end the QEMU of a powered-off guest"));
  }

  /**
   * A reboot by the power button, as libvirt does it: the guest powered off and QEMU waits
   * (-no-shutdown), so reset and continue it. If that fails the guest stays off, as asked of it.
   */
  private async restartPoweredOff(vm: string): Promise<boolean> {
    const cmds = this.monitors.commands(vm);
    try {
      if (!cmds) throw new Error("no QMP monitor");
      await cmds.systemReset();
      await cmds.cont();
      this.ctx.log.info({ vm }, "vm rebooted: its guest powered off and was restarted");
      return true;
    } catch (err) {
      this.ctx.log.warn({ err, vm }, "could not restart a guest that powered off to reboot; it stays off");
      this.guestShutdown.add(vm);
      await this.endPoweredOff(vm);
      return false;
    }
  }

  /** QEMU closes QMP a moment before its process is gone: poll briefly, then reap. */
  private reapWhenDead(vm: string): void {
    const end = Date.now() + 5000;
    const tick = () => {
      const v = this.ctx.store.getVm(vm);
      if (!v?.runtime) return;
      if (!this.isAlive(v)) {
        this.reapDead().catch((err: unknown) => this.ctx.log.error({ err }, "reaping failed"));
      } else if (Date.now() < end) setTimeout(tick, 20).unref();
    };
    tick();
  }

  /** Connects monitors to running VMs found at daemon start (adoption). */
  async adoptRunning(): Promise<void> {
    for (const v of this.ctx.store.listVms()) {
      if (!this.isAlive(v)) continue;
      try {
        const cmds = await this.monitors.attach(v.spec.name, this.paths(v.spec.name).qmp);
        const st = await cmds.queryStatus();
        if (st.status === "paused") this.paused.add(v.spec.name);
        if (st.status === "shutdown" && this.takeRebootRequestLocked(v.spec.name)) {
          this.ctx.log.info({ vm: v.spec.name }, "vm found powered off by its guest after a reboot request");
          await this.restartPoweredOff(v.spec.name);
        } else if (st.status === "shutdown") {
          // The guest powered off while the daemon was away.
          this.ctx.log.info({ vm: v.spec.name }, "vm found powered off by its guest");
          this.guestShutdown.add(v.spec.name);
          await this.endPoweredOff(v.spec.name);
          await waitFor(() => !this.isAlive(v), 5000);
          await this.reapDead();
        }
      } catch (err) {
        this.ctx.log.warn({ err, vm: v.spec.name }, "could not connect to the QMP monitor of a running VM");
      }
    }
  }

  paths(name: string) {
    return vmRunPaths(this.ctx.runDir, name);
  }

  get(name: string): StoredVm {
    const v = this.ctx.store.getVm(name);
    if (!v) throw notFound("VM", name);
    return v;
  }

  /** QEMU of this VM is alive: same pid, same start time, not a zombie. */
  isAlive(v: StoredVm): boolean {
    const rt = v.runtime;
    if (!rt || rt.pid === 0) return false;
    if (!isOurProcessAlive(rt.pid, this.paths(v.spec.name).pidFile)) return false;
    return readProc(rt.pid)?.startTicks === rt.startTicks;
  }

  stateOf(v: StoredVm): VmState {
    if (this.isAlive(v)) return this.paused.has(v.spec.name) ? "paused" : "running";
    if (v.crashed || v.runtime) return "crashed";
    return "shutoff";
  }

  private view(v: StoredVm, leases: Map<string, { mac: string; ip: string }[]>): Vm {
    const state = this.stateOf(v);
    const running = state === "running" || state === "paused";
    const rt = v.runtime;
    const paths = this.paths(v.spec.name);
    const boot = this.bootOf(v.spec);
    const pending = v.pending ? specDiff(v.spec, v.pending) : null;
    return {
      name: v.spec.name,
      state,
      vcpus: v.spec.vcpus,
      memoryMiB: v.spec.memoryMiB,
      image: v.spec.image,
      kernel: boot.kernel,
      initrd: boot.initrd,
      cmdline: boot.cmdline,
      nics: v.spec.nics.map((n, i) => ({
        network: n.network,
        mac: n.mac,
        model: n.model,
        tap: running ? (rt?.taps[i] ?? null) : null,
        ...this.nicAddresses(v.spec.name, n, running ? (leases.get(n.network) ?? []).filter((l) => l.mac === n.mac).map((l) => l.ip) : [], running),
      })),
      disks: v.spec.disks.map((d) => {
        const sz = imageSizes(d.path, d.format);
        return { path: d.path, format: d.format, virtualSizeBytes: sz?.virtualSizeBytes ?? 0, allocatedBytes: sz?.allocatedBytes ?? 0, bus: d.bus, backing: d.backing, owned: d.owned };
      }),
      pid: running ? (rt?.pid ?? null) : null,
      accel: running ? (rt?.accel ?? null) : null,
      accelReason: running ? (rt?.accelReason ?? null) : null,
      autostart: v.spec.autostart,
      os: v.spec.os,
      cdrom: v.spec.cdrom,
      bootOrder: v.spec.bootOrder,
      pending,
      consoles: { serial: running ? paths.serial : null, vnc: running ? paths.vnc : null },
    };
  }

  /** `ips` (IPv4, leases first) and `addresses` with their sources, of a NIC of a running VM. */
  private nicAddresses(vm: string, nic: { mac: string; network: string }, leaseIps: string[], running: boolean): Pick<Vm["nics"][number], "ips" | "addresses"> {
    if (!running) return { ips: [], addresses: [] };
    const bridge = this.ctx.store.getNetwork(nic.network)?.spec.bridge ?? null;
    const addresses = this.addresses?.nicAddresses(vm, nic.mac, leaseIps, bridge) ?? leaseIps.map((ip) => ({ ip, family: "ipv4" as const, source: "lease" as const, sources: ["lease" as const] }));
    return { ips: addresses.filter((a) => a.family === "ipv4").map((a) => a.ip), addresses };
  }

  private bootOf(spec: VmSpec): QemuBoot {
    if (spec.image === "test-guest") {
      const p = testGuestPaths(this.ctx.cacheDir);
      return { kernel: p.kernel, initrd: p.initrd, cmdline: testGuestCmdline(spec.name, spec.cmdline) };
    }
    return { kernel: spec.kernel, initrd: spec.initrd, cmdline: spec.cmdline };
  }

  list(): Vm[] {
    const leases = this.networks.leasesByNetwork();
    return this.ctx.store.listVms().map((v) => this.view(v, leases));
  }

  show(name: string): Vm {
    return this.view(this.get(name), this.networks.leasesByNetwork());
  }

  exists(name: string): boolean {
    return this.ctx.store.getVm(name) !== null;
  }

  /** Names of VMs with a NIC on `net`; only running ones when `runningOnly`. */
  vmsOn(net: string, runningOnly: boolean): string[] {
    return this.ctx.store
      .listVms()
      .filter((v) => v.spec.nics.some((n) => n.network === net) && (!runningOnly || this.isAlive(v)))
      .map((v) => v.spec.name);
  }

  // ---- definitions ----------------------------------------------------------------------

  /** What validation needs to know of the host: VMs, networks, images the input names, taken disk paths, the OS database. */
  async vmContext(paths: readonly (string | null | undefined)[]): Promise<VmContext> {
    const images = new Map<string, ImageProbe | null>();
    for (const p of paths) if (p) images.set(p, await probeImage(this.ctx.run, p));
    let taken: string[] = [];
    try {
      taken = readdirSync(this.ctx.diskDir).flatMap((f) => [`${this.ctx.diskDir}/${f}`, `${this.ctx.diskDir}/${f.replace(/\.part$/, "")}`]);
    } catch {
      /* no disk directory yet */
    }
    return {
      vms: this.ctx.store.listVms().flatMap((v) => (v.pending ? [v.spec, { ...v.pending, name: v.spec.name }] : [v.spec])),
      networks: this.ctx.store.listNetworks().map((n) => n.spec.name),
      randomBytes: () => randomBytes(3),
      diskDir: this.ctx.diskDir,
      takenPaths: new Set(taken),
      images,
      os: (id) => this.ctx.osinfo.get(id),
      protectedDirs: [...SYSTEM_DIRS, realPathOr(this.ctx.stateDir), realPathOr(this.ctx.cacheDir)],
      inPlaceDirs: [realPathOr(this.ctx.diskDir)],
    };
  }

  /** The seed's "the disk is larger than the free space" warning, as a refusal unless forced. */
  checkFreeSpace(newBytes: number, force: boolean | undefined): void {
    if (newBytes === 0 || force) return;
    mkdirSync(this.ctx.diskDir, { recursive: true, mode: 0o700 });
    const free = freeBytes(this.ctx.diskDir);
    if (newBytes > free) {
      throw new KvmgrError(
        "KVMGR_ERR_DISK_SPACE",
        `The disk is larger than the free space: ${formatSize(newBytes)} asked, ${formatSize(free)} free in ${this.ctx.diskDir}; nothing was created (--force creates it anyway).`,
        { details: { askedBytes: newBytes, freeBytes: free } },
      );
    }
  }

  /**
   * Makes the plan's disk images under the journal entry `kind`, then stores the VM with
   * `write` and closes the entry in one transaction. A failure removes the new images.
   */
  async commitWithDisks(kind: string, vm: string, plan: Pick<VmPlan, "diskSteps">, write: () => void): Promise<void> {
    const op = this.ctx.store.beginOp(kind, vm, { diskSteps: plan.diskSteps });
    try {
      await applySteps(this.deps(), plan.diskSteps);
    } catch (e) {
      this.ctx.store.endOp(op);
      throw e;
    }
    crashPoint(`${kind}:after-disks`);
    this.ctx.store.tx(() => {
      write();
      this.ctx.store.endOp(op);
    });
  }

  async create(input: VmCreate): Promise<Vm> {
    const created = await this.lock.run(async () => {
      const ctx = await this.vmContext([...(input.disks ?? []).map((d) => d.import), input.cdrom]);
      const plan = validateVmCreate(input, ctx);
      this.checkFreeSpace(plan.newBytes, input.force);
      await this.commitWithDisks("vm.create", plan.spec.name, plan, () => this.ctx.store.putVm({ spec: plan.spec, runtime: null, crashed: false, pending: null }));
      this.ctx.log.info({ vm: plan.spec.name, disks: plan.spec.disks.length }, "vm defined");
      this.ctx.events.publish({ type: "vm.defined", vm: plan.spec.name });
      return plan.spec;
    });
    if (!input.start) return this.show(created.name);
    try {
      return await this.start(created.name);
    } catch (e) {
      // The definition stays (it is the user's); the sentence says so, or they would create it again.
      if (!(e instanceof KvmgrError)) throw e;
      const opts = { details: { ...e.details, defined: true }, cause: e, ...(e.field === undefined ? {} : { field: e.field }) };
      throw new KvmgrError(e.code, `VM '${created.name}' is defined but did not start: ${e.message}`, opts);
    }
  }

  /**
   * Changes a definition. A stopped VM takes it at once; a running one keeps it as pending
   * until its next start, except autostart, which is no part of the running machine.
   */
  edit(name: string, body: VmEdit): Promise<Vm> {
    return this.lock.run(async () => {
      const v = this.get(name);
      const base = v.pending ?? v.spec;
      const ctx = await this.vmContext([...(body.disks ?? []).map((d) => d.import), body.cdrom]);
      const plan = validateVmEdit(base, body, ctx);
      this.checkFreeSpace(plan.newBytes, body.force);
      const running = this.isAlive(v);
      await this.commitWithDisks("vm.edit", name, plan, () => {
        const cur = this.get(name);
        if (running) {
          const spec = { ...cur.spec, autostart: plan.spec.autostart };
          this.ctx.store.putVm({ ...cur, spec, pending: specDiff(spec, plan.spec) ? plan.spec : null });
        } else {
          this.ctx.store.putVm({ ...cur, spec: plan.spec, pending: null });
        }
      });
      this.ctx.log.info({ vm: name, pending: running }, "vm edited");
      this.ctx.events.publish({ type: "vm.defined", vm: name });
      return this.show(name);
    });
  }

  /** VMs (other than `except`) with a linked disk whose base is `path`. */
  linkedUsersOf(path: string, except?: string): string[] {
    return this.ctx.store
      .listVms()
      .filter((o) => o.spec.name !== except && [o.spec, ...(o.pending ? [o.pending] : [])].some((s) => s.disks.some((d) => d.backing === path)))
      .map((o) => o.spec.name);
  }

  /** Refuses to write to a disk that is the read-only base of another VM's linked disk. */
  assertNotBase(spec: VmSpec, what: string): void {
    for (const d of spec.disks) {
      const users = this.linkedUsersOf(d.path, spec.name);
      if (users.length > 0) {
        throw new KvmgrError(
          "KVMGR_ERR_DISK_IN_USE",
          `Cannot ${what} VM '${spec.name}': its disk ${d.path} is the base of the linked clone${users.length > 1 ? "s" : ""} ${users.map((u) => `'${u}'`).join(", ")}, which writing to it would corrupt; delete them, or make full clones.`,
        );
      }
    }
  }

  // ---- start and stop -----------------------------------------------------------------

  start(name: string): Promise<Vm> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (this.isAlive(v)) throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `VM '${name}' is already running.`);
      if (v.runtime) await this.cleanupLocked(v, true);
      // Edits made while it ran apply now.
      const spec = v.pending ?? v.spec;
      const boot = this.bootOf(spec);
      for (const f of [boot.kernel, boot.initrd]) {
        if (f !== null && !existsSync(f)) {
          const hint = spec.image === "test-guest" ? " Build it with guest/build-test-guest.sh (the README's set-up does)." : "";
          throw new KvmgrError("KVMGR_ERR_IMAGE_MISSING", `Boot file ${f} does not exist.${hint}`);
        }
      }
      for (const f of [...spec.disks.map((d) => d.path), ...(spec.cdrom ? [spec.cdrom] : [])]) {
        if (!existsSync(f)) throw new KvmgrError("KVMGR_ERR_IMAGE_MISSING", `Image ${f} of VM '${name}' does not exist.`);
      }
      if (boot.kernel === null && spec.disks.length === 0 && spec.cdrom === null && !spec.bootOrder.includes("network")) {
        throw new KvmgrError("KVMGR_ERR_INPUT_INVALID", `VM '${name}' has nothing to boot: give it a disk, a CD-ROM, network boot, --image or --kernel.`);
      }
      this.assertNotBase(spec, "start");
      const links = await observeLinks(this.ctx.run, this.ctx.ns);
      const bridges: string[] = [];
      for (const nic of spec.nics) {
        const n = this.ctx.store.getNetwork(nic.network);
        if (!n) throw notFound("Network", nic.network);
        if (!this.networks.readyForVms(nic.network, links)) throw new KvmgrError("KVMGR_ERR_NET_INACTIVE", `Network '${nic.network}' is not active; start it with 'kvmgr net start ${nic.network}'.`);
        bridges.push(n.spec.bridge);
      }
      const used = new Set([...links.map((l) => l.name), ...this.ctx.store.listVms().flatMap((o) => o.runtime?.taps ?? [])]);
      const taps = pickTapNames(spec.nics.length, used);
      const { accel, reason } = await this.ctx.accel();
      const paths = this.paths(name);
      mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
      for (const s of [paths.qmp, paths.serial, paths.vnc, paths.qga]) rmSync(s, { force: true });
      keepPreviousSerialLog(paths.serialLog);
      const steps = planVmStart({ spec, accel, taps, paths, boot, bridges });
      const tapSteps = steps.filter((s) => s.kind === "tap.add");
      const qemuSteps = steps.filter((s) => s.kind !== "tap.add");
      // Intent first: if the daemon dies mid-start, the next one adopts the QEMU or removes the taps.
      const op = this.ctx.store.beginOp("vm.start", name, { taps, spec, accel, accelReason: reason });
      try {
        await applySteps(this.deps(), tapSteps);
        crashPoint("vm.start:after-taps");
        try {
          await applySteps(this.deps(), qemuSteps);
        } catch (e) {
          await undoSteps(this.deps(), planUndo(tapSteps));
          throw e;
        }
      } catch (e) {
        this.ctx.store.endOp(op);
        throw e;
      }
      crashPoint("vm.start:after-qemu");
      const stored = this.recordStarted(name, spec, taps, accel, reason, op);
      this.guestShutdown.delete(name);
      this.paused.delete(name);
      try {
        await this.monitors.attach(name, paths.qmp);
      } catch (err) {
        // QEMU runs; state still follows its process, only events are missing.
        this.ctx.log.warn({ err, vm: name }, "could not connect to the QMP monitor");
      }
      this.ctx.log.info({ vm: name, pid: stored.runtime?.pid, taps, accel }, "vm started");
      this.ctx.events.publish({ type: "vm.state", vm: name, state: "running" });
      return this.view(stored, this.networks.leasesByNetwork());
    });
  }

  /** Stores a started QEMU (by its pid file) and closes the start's journal entry, in one transaction. */
  recordStarted(name: string, spec: VmSpec, taps: string[], accel: "kvm" | "tcg", accelReason: string, op: number): StoredVm {
    const pid = readPidFile(this.paths(name).pidFile) ?? 0;
    const startTicks = readProc(pid)?.startTicks ?? 0;
    const stored: StoredVm = { spec, runtime: { pid, startTicks, taps, accel, accelReason }, crashed: false, pending: null };
    this.ctx.store.tx(() => {
      this.ctx.store.putVm(stored);
      this.ctx.store.endOp(op);
    });
    return stored;
  }

  /** Forced power-off. */
  stop(name: string): Promise<Vm> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (!v.runtime && !v.crashed) throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' is not running.`);
      await this.stopLocked(v);
      return this.show(name);
    });
  }

  /** A requested stop, journaled: a daemon dying half-way leaves it to be finished, not a crash. */
  async stopLocked(v: StoredVm): Promise<void> {
    const op = this.ctx.store.beginOp("vm.stop", v.spec.name, { taps: v.runtime?.taps ?? [] });
    await this.cleanupLocked(v, false, op);
  }

  /**
   * Ends QEMU if alive and removes the taps; `crashed` records an unasked death. With `op`,
   * closes that journal entry in the transaction that records the VM off.
   */
  async cleanupLocked(v: StoredVm, crashed: boolean, op?: number): Promise<void> {
    const name = v.spec.name;
    await this.monitors.detach(name);
    this.paused.delete(name);
    const taps = v.runtime?.taps ?? [];
    const pidFile = this.paths(name).pidFile;
    const failures = await undoSteps(this.deps(), [{ kind: "qemu.stop", vm: name, pidFile }]);
    if (op !== undefined) crashPoint("vm.stop:after-qemu");
    failures.push(...(await undoSteps(this.deps(), taps.map((t): HostStep => ({ kind: "tap.del", name: t })))));
    this.ctx.store.tx(() => {
      const cur = this.ctx.store.getVm(name) ?? v;
      this.ctx.store.putVm({ ...cur, runtime: null, crashed });
      if (op !== undefined) this.ctx.store.endOp(op);
    });
    if (failures.length > 0) throw failures[0];
    this.ctx.log.info({ vm: name, crashed }, "vm stopped");
    this.ctx.events.publish({ type: "vm.state", vm: name, state: crashed ? "crashed" : "shutoff" });
  }

  delete(name: string, opts: { force?: boolean; keepDisks?: boolean } = {}): Promise<void> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (this.isAlive(v) && !opts.force) {
        throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `VM '${name}' is running; stop it first or use --force.`);
      }
      const owned = opts.keepDisks ? [] : [...new Set([...v.spec.disks, ...(v.pending?.disks ?? [])].filter((d) => d.owned).map((d) => d.path))];
      for (const p of owned) {
        const users = this.linkedUsersOf(p, name);
        if (users.length > 0) {
          throw new KvmgrError("KVMGR_ERR_DISK_IN_USE", `Disk ${p} of VM '${name}' is the base of the linked clone${users.length > 1 ? "s" : ""} ${users.map((u) => `'${u}'`).join(", ")}; delete ${users.length > 1 ? "them" : "it"} first, or use --keep-disks.`);
        }
      }
      const op = this.ctx.store.beginOp("vm.delete", name, { removeDisks: owned, taps: v.runtime?.taps ?? [] });
      if (v.runtime) await this.cleanupLocked(v, false);
      crashPoint("vm.delete:after-stop");
      await this.finishDelete(name, owned, op);
    });
  }

  /**
   * A new name for a VM that is shut off (virsh domrename, incus rename): its definition, port
   * forwards and run files (serial logs) follow in one go; disk files keep their paths, as
   * libvirt's do. Its DNS name changes with the definition event.
   */
  rename(name: string, newName: string): Promise<Vm> {
    return this.lock.run(() => {
      const v = this.get(name);
      checkSchema(VmRename, { name: newName });
      const state = this.stateOf(v);
      if (state !== "shutoff") {
        throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `VM '${name}' is ${state}; only a VM that is shut off can be renamed${state === "crashed" ? ` ('kvmgr vm stop ${name}' clears it)` : ""}.`);
      }
      if (newName === name) return this.show(name);
      if (this.ctx.store.getVm(newName)) throw new KvmgrError("KVMGR_ERR_VM_EXISTS", `A VM named '${newName}' already exists.`);
      this.ctx.store.tx(() => {
        this.ctx.store.putVm({ ...v, spec: { ...v.spec, name: newName }, pending: v.pending ? { ...v.pending, name: newName } : null });
        this.ctx.store.deleteVm(name);
        this.networks.renameForwardsToLocked(name, newName);
      });
      const from = this.paths(name).dir;
      const to = this.paths(newName).dir;
      try {
        rmSync(to, { recursive: true, force: true }); // left by a VM of that name deleted by hand
        if (existsSync(from)) renameSync(from, to);
      } catch (err) {
        this.ctx.log.warn({ err, vm: newName }, "could not move the run files (serial logs) of a renamed VM");
      }
      this.ctx.log.info({ vm: newName, was: name }, "vm renamed");
      this.ctx.events.publish({ type: "vm.deleted", vm: name });
      this.ctx.events.publish({ type: "vm.defined", vm: newName });
      return this.show(newName);
    });
  }

  /** The rest of a delete once QEMU is gone: disk files, the definition with its journal entry, run files. */
  async finishDelete(name: string, removeDisks: readonly string[], op: number): Promise<void> {
    const failures = await undoSteps(this.deps(), removeDisks.map((path): HostStep => ({ kind: "disk.remove", path })));
    crashPoint("vm.delete:after-disks");
    this.ctx.store.tx(() => {
      this.ctx.store.deleteVm(name);
      this.ctx.store.endOp(op);
    });
    rmSync(this.paths(name).dir, { recursive: true, force: true });
    await this.networks.dropForwardsToLocked(name);
    if (failures.length > 0) this.ctx.log.warn({ vm: name, err: failures[0] }, "some disk files could not be removed");
    this.ctx.log.info({ vm: name, removedDisks: removeDisks.length }, "vm deleted");
    this.ctx.events.publish({ type: "vm.deleted", vm: name });
  }

  // ---- power actions through QMP --------------------------------------------------------

  /** The VM's QMP commands, reconnecting if the monitor was lost; refuses a VM that is not running. */
  async qmpOf(name: string): Promise<QmpCommands> {
    const v = this.get(name);
    if (!this.isAlive(v)) throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' is not running.`);
    return this.monitors.commands(name) ?? (await this.monitors.attach(name, this.paths(name).qmp));
  }

  /** The QMP commands of a VM whose guest can take the power button now; `orElse` names what works instead. */
  private async powerButtonOf(name: string, orElse: string): Promise<QmpCommands> {
    const qmp = await this.qmpOf(name);
    if (this.paused.has(name)) {
      throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' is paused and cannot handle the power button; 'kvmgr vm resume ${name}' first, or ${orElse}.`);
    }
    return qmp;
  }

  /**
   * ACPI power button, then waits (without holding the lock) until the guest has powered
   * off, or refuses with one sentence after `timeoutS`; 0 does not wait (virsh's way).
   */
  async shutdown(name: string, timeoutS = DEFAULT_SHUTDOWN_TIMEOUT_S): Promise<Vm> {
    await this.lock.run(async () => {
      const qmp = await this.powerButtonOf(name, `'kvmgr vm stop ${name}' to force it off`);
      // A reboot asked earlier and not yet done gives way: the user now wants it off.
      this.setRebootRequestLocked(name, false);
      await qmp.systemPowerdown();
      this.ctx.log.info({ vm: name }, "ACPI power-down sent");
    });
    if (timeoutS === 0) return this.show(name);
    const off = await waitFor(() => {
      const v = this.ctx.store.getVm(name);
      return !v || (!v.runtime && !this.isAlive(v));
    }, timeoutS * 1000, 100);
    if (!off) {
      throw new KvmgrError(
        "KVMGR_ERR_VM_SHUTDOWN_TIMEOUT",
        `VM '${name}' is still running ${timeoutS} s after the ACPI power-down request (the guest ignored it or is still shutting down); 'kvmgr vm stop ${name}' forces it off.`,
      );
    }
    return this.show(name);
  }

  /**
   * Reboot. By default the guest's own: the ACPI power button, and when the guest has powered
   * off the same QEMU resets and continues (libvirt's and virt-manager's Reboot); waits for that
   * without holding the lock, or refuses after `timeoutS` (0: does not wait; the request stands
   * until the guest powers off). `force` is the reset button instead.
   */
  async reboot(name: string, opts: { force?: boolean; timeoutS?: number } = {}): Promise<Vm> {
    if (opts.force) {
      return this.lock.run(async () => {
        await (await this.qmpOf(name)).systemReset();
        this.ctx.log.info({ vm: name }, "vm reset");
        return this.show(name);
      });
    }
    const timeoutS = opts.timeoutS ?? DEFAULT_SHUTDOWN_TIMEOUT_S;
    let restarted = false;
    const done = () => (restarted = true);
    const waiters = this.rebootWaiters.get(name) ?? new Set();
    this.rebootWaiters.set(name, waiters.add(done));
    try {
      await this.lock.run(async () => {
        const qmp = await this.powerButtonOf(name, `'kvmgr vm reboot ${name} --force' to reset it`);
        this.setRebootRequestLocked(name, true);
        try {
          await qmp.systemPowerdown();
        } catch (e) {
          this.setRebootRequestLocked(name, false);
          throw e;
        }
        this.ctx.log.info({ vm: name }, "ACPI power-down sent to reboot");
      });
      if (timeoutS === 0) return this.show(name);
      const alive = () => {
        const v = this.ctx.store.getVm(name);
        return v ? this.isAlive(v) : false;
      };
      await waitFor(() => restarted || !alive(), timeoutS * 1000, 100);
      if (!restarted && !alive()) throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' went off before it rebooted.`);
    } finally {
      waiters.delete(done);
      if (waiters.size === 0 && this.rebootWaiters.get(name) === waiters) this.rebootWaiters.delete(name);
    }
    // Past the timeout the request stands: a guest still shutting down is restarted when it is off.
    if (restarted) return this.show(name);
    throw new KvmgrError(
      "KVMGR_ERR_VM_SHUTDOWN_TIMEOUT",
      `VM '${name}' has not rebooted ${timeoutS} s after the ACPI power-down request (the guest ignored it or is still shutting down); 'kvmgr vm reboot ${name} --force' resets it at once.`,
    );
  }

  pause(name: string): Promise<Vm> {
    return this.lock.run(async () => {
      await (await this.qmpOf(name)).stop();
      this.paused.add(name);
      return this.show(name);
    });
  }

  resume(name: string): Promise<Vm> {
    return this.lock.run(async () => {
      await (await this.qmpOf(name)).cont();
      this.paused.delete(name);
      return this.show(name);
    });
  }

  /**
   * VMs whose QEMU died unasked: record `crashed` and remove their taps. Called by the
   * watcher and at start-up (re-adoption of the living ones needs nothing: they are found by pid).
   */
  reapDead(): Promise<string[]> {
    return this.lock.run(async () => {
      const dead = this.ctx.store.listVms().filter((v) => v.runtime && !this.isAlive(v));
      for (const v of dead) {
        // Died unasked, unless the guest powered itself off (or a start never got a pid).
        const crashed = v.runtime?.pid !== 0 && !this.guestShutdown.has(v.spec.name);
        this.guestShutdown.delete(v.spec.name);
        await this.cleanupLocked(v, crashed);
      }
      return dead.map((v) => v.spec.name);
    });
  }

  deps() {
    return { run: this.ctx.run, ns: this.ctx.ns, log: (msg: string, err?: unknown) => this.ctx.log.warn({ err }, msg) };
  }
}
