/** What the console, agent and stats services need to know about a VM's running QEMU. */
import { KvmgrError, notFound } from "../../api/errors.js";
import { vmRunPaths } from "../../core/plan/vm-plan.js";
import type { StoredVm } from "../store/store.js";
import type { DaemonContext } from "../context.js";
import type { VmsService } from "./vms.js";

export interface RunningVm {
  name: string;
  pid: number;
  stored: StoredVm;
  paths: ReturnType<typeof vmRunPaths>;
}

export class VmRuntime {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly vms: VmsService,
  ) {}

  paths(name: string): ReturnType<typeof vmRunPaths> {
    return vmRunPaths(this.ctx.runDir, name);
  }

  /** The VM's live QEMU, or null when it is not running (or does not exist). */
  running(name: string): RunningVm | null {
    const v = this.ctx.store.getVm(name);
    if (!v?.runtime || v.runtime.pid === 0 || !this.vms.isAlive(v)) return null;
    return { name, pid: v.runtime.pid, stored: v, paths: this.paths(name) };
  }

  /** Every VM whose QEMU is alive. */
  allRunning(): RunningVm[] {
    return this.ctx.store
      .listVms()
      .map((v) => this.running(v.spec.name))
      .filter((r): r is RunningVm => r !== null);
  }

  /** The running VM, or the one clear error: no such VM, or not running. */
  require(name: string): RunningVm {
    const r = this.running(name);
    if (r) return r;
    if (!this.ctx.store.getVm(name)) throw notFound("VM", name);
    throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' is not running; start it with 'kvmgr vm start ${name}'.`);
  }

  exists(name: string): boolean {
    return this.ctx.store.getVm(name) !== null;
  }
}
