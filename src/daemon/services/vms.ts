/** Virtual machines: define, start QEMU detached on its taps, stop, report state and addresses. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { KvmgrError, notFound } from "../../api/errors.js";
import type { Vm, VmCreate, VmState } from "../../api/vm.js";
import { planVmCleanup, planVmStart, pickTapNames, vmRunPaths } from "../../core/plan/vm-plan.js";
import { testGuestCmdline, type QemuBoot } from "../../core/render/qemu-argv.js";
import { validateVmCreate } from "../../core/validate/vm.js";
import { applySteps, undoSteps } from "../../host/apply.js";
import { observeLinks } from "../../host/iproute/links.js";
import { isOurProcessAlive, readPidFile, readProc } from "../../host/proc.js";
import type { DaemonContext } from "../context.js";
import type { StoredVm } from "../store/store.js";
import type { Mutex } from "../util/mutex.js";
import type { NetworksService } from "./networks.js";
import { VmMonitors } from "./monitors.js";

/** The uncompressed kernel boots by PVH, ~0.4 s faster under TCG; vmlinuz when it was not built. */
export function testGuestPaths(cacheDir: string): { kernel: string; initrd: string } {
  const dir = `${cacheDir}/images/test-guest`;
  const pvh = `${dir}/vmlinux`;
  return { kernel: existsSync(pvh) ? pvh : `${dir}/vmlinuz`, initrd: `${dir}/initrd.img` };
}

export class VmsService {
  readonly monitors: VmMonitors;
  /** VMs whose guest powered itself off (QMP SHUTDOWN guest=true): their exit is not a crash */
  private readonly guestShutdown = new Set<string>();
  /** VMs paused (QMP STOP without a later RESUME) */
  private readonly paused = new Set<string>();

  constructor(
    private readonly ctx: DaemonContext,
    private readonly lock: Mutex,
    private readonly networks: NetworksService,
  ) {
    this.monitors = new VmMonitors(ctx.log, {
      onEvent: (vm, e) => {
        if (e.event === "SHUTDOWN" && e.data.guest === true) this.guestShutdown.add(vm);
        else if (e.event === "STOP") this.paused.add(vm);
        else if (e.event === "RESUME") this.paused.delete(vm);
        else return;
        this.ctx.events.publish({ type: "vm.state", vm, state: this.paused.has(vm) ? "paused" : "running", reason: e.event.toLowerCase() });
      },
      // The dropped QMP connection is the first sign of QEMU's exit: reap at once.
      onDisconnect: (vm) => {
        this.ctx.log.debug({ vm }, "QMP connection dropped");
        this.reapWhenDead(vm);
      },
    });
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
      } catch (err) {
        this.ctx.log.warn({ err, vm: v.spec.name }, "could not connect to the QMP monitor of a running VM");
      }
    }
  }

  private paths(name: string) {
    return vmRunPaths(this.ctx.runDir, name);
  }

  private get(name: string): StoredVm {
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
    const boot = this.bootOf(v);
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
        ips: running ? (leases.get(n.network) ?? []).filter((l) => l.mac === n.mac).map((l) => l.ip) : [],
      })),
      disks: [],
      pid: running ? (rt?.pid ?? null) : null,
      accel: running ? (rt?.accel ?? null) : null,
      accelReason: running ? (rt?.accelReason ?? null) : null,
      autostart: v.spec.autostart,
      consoles: { serial: running ? paths.serial : null, vnc: running ? paths.vnc : null },
    };
  }

  private bootOf(v: StoredVm): QemuBoot {
    if (v.spec.image === "test-guest") {
      const p = testGuestPaths(this.ctx.cacheDir);
      return { kernel: p.kernel, initrd: p.initrd, cmdline: testGuestCmdline(v.spec.name, v.spec.cmdline) };
    }
    return { kernel: v.spec.kernel, initrd: v.spec.initrd, cmdline: v.spec.cmdline };
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

  async create(input: VmCreate): Promise<Vm> {
    const created = await this.lock.run(() => {
      const spec = validateVmCreate(input, {
        vms: this.ctx.store.listVms().map((v) => v.spec),
        networks: this.ctx.store.listNetworks().map((n) => n.spec.name),
        randomBytes: () => randomBytes(3),
      });
      this.ctx.store.putVm({ spec, runtime: null, crashed: false });
      this.ctx.log.info({ vm: spec.name }, "vm defined");
      this.ctx.events.publish({ type: "vm.defined", vm: spec.name });
      return Promise.resolve(spec);
    });
    if (input.start) return this.start(created.name);
    return this.show(created.name);
  }

  start(name: string): Promise<Vm> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (this.isAlive(v)) throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `VM '${name}' is already running.`);
      if (v.runtime) await this.cleanupLocked(v, true);
      const boot = this.bootOf(v);
      for (const f of [boot.kernel, boot.initrd]) {
        if (f !== null && !existsSync(f)) {
          const hint = v.spec.image === "test-guest" ? " Build it with guest/build-test-guest.sh (the README's set-up does)." : "";
          throw new KvmgrError("KVMGR_ERR_IMAGE_MISSING", `Boot file ${f} does not exist.${hint}`);
        }
      }
      if (boot.kernel === null && v.spec.pxe !== true) {
        throw new KvmgrError("KVMGR_ERR_INPUT_INVALID", `VM '${name}' has nothing to boot: give --image, --kernel or --pxe.`);
      }
      const bridges: string[] = [];
      for (const nic of v.spec.nics) {
        const n = this.ctx.store.getNetwork(nic.network);
        if (!n) throw notFound("Network", nic.network);
        const net = await this.networks.show(nic.network);
        if (!net.active) throw new KvmgrError("KVMGR_ERR_NET_INACTIVE", `Network '${nic.network}' is not active; start it with 'kvmgr net start ${nic.network}'.`);
        bridges.push(n.spec.bridge);
      }
      const links = await observeLinks(this.ctx.run, this.ctx.ns);
      const used = new Set([...links.map((l) => l.name), ...this.ctx.store.listVms().flatMap((o) => o.runtime?.taps ?? [])]);
      const taps = pickTapNames(v.spec.nics.length, used);
      const { accel, reason } = await this.ctx.accel();
      const paths = this.paths(name);
      mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
      for (const s of [paths.qmp, paths.serial, paths.vnc, paths.qga]) rmSync(s, { force: true });
      const steps = planVmStart({ spec: v.spec, accel, taps, paths, boot, bridges });
      // Intent first: if the daemon dies mid-start, the taps are known and removed at restart.
      this.ctx.store.putVm({ spec: v.spec, runtime: { pid: 0, startTicks: 0, taps, accel, accelReason: reason }, crashed: false });
      try {
        await applySteps(this.deps(), steps);
      } catch (e) {
        this.ctx.store.putVm({ spec: v.spec, runtime: null, crashed: false });
        throw e;
      }
      const pid = readPidFile(paths.pidFile) ?? 0;
      const startTicks = readProc(pid)?.startTicks ?? 0;
      const stored: StoredVm = { spec: v.spec, runtime: { pid, startTicks, taps, accel, accelReason: reason }, crashed: false };
      this.ctx.store.putVm(stored);
      this.guestShutdown.delete(name);
      this.paused.delete(name);
      try {
        await this.monitors.attach(name, paths.qmp);
      } catch (err) {
        // QEMU runs; state still follows its process, only events are missing.
        this.ctx.log.warn({ err, vm: name }, "could not connect to the QMP monitor");
      }
      this.ctx.log.info({ vm: name, pid, taps, accel }, "vm started");
      this.ctx.events.publish({ type: "vm.state", vm: name, state: "running" });
      return this.view(stored, this.networks.leasesByNetwork());
    });
  }

  /** Forced power-off. */
  stop(name: string): Promise<Vm> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (!v.runtime && !v.crashed) throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' is not running.`);
      await this.cleanupLocked(v, false);
      return this.show(name);
    });
  }

  /** Ends QEMU if alive and removes the taps; `crashed` records an unasked death. */
  private async cleanupLocked(v: StoredVm, crashed: boolean): Promise<void> {
    await this.monitors.detach(v.spec.name);
    this.paused.delete(v.spec.name);
    const taps = v.runtime?.taps ?? [];
    const failures = await undoSteps(this.deps(), planVmCleanup(taps, v.spec.name, this.paths(v.spec.name).pidFile));
    this.ctx.store.putVm({ spec: v.spec, runtime: null, crashed });
    if (failures.length > 0) throw failures[0];
    this.ctx.log.info({ vm: v.spec.name, crashed }, "vm stopped");
    this.ctx.events.publish({ type: "vm.state", vm: v.spec.name, state: crashed ? "crashed" : "shutoff" });
  }

  delete(name: string, force: boolean): Promise<void> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (this.isAlive(v) && !force) {
        throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `VM '${name}' is running; stop it first or use --force.`);
      }
      if (v.runtime) await this.cleanupLocked(v, false);
      this.ctx.store.deleteVm(name);
      rmSync(this.paths(name).dir, { recursive: true, force: true });
      this.ctx.log.info({ vm: name }, "vm deleted");
      this.ctx.events.publish({ type: "vm.deleted", vm: name });
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

  private deps() {
    return { run: this.ctx.run, ns: this.ctx.ns, log: (msg: string, err?: unknown) => this.ctx.log.warn({ err }, msg) };
  }
}
