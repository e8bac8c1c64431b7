/**
 * The guest agent of each running VM, through one long-lived connection (QEMU's chardev
 * serves one client): commands run in the guest, agent shutdown, the guest's own view of
 * its addresses. A guest without a running agent only shows as silence, so every request
 * has a deadline and ends in one clear error.
 */
import { KvmgrError } from "../../api/errors.js";
import type { ExecRequest, ExecResult } from "../../api/vm-io.js";
import { GuestAgentClient, QgaDisconnectedError, QgaExecTimeoutError, QgaTimeoutError, type GuestInterface, type GuestShutdownMode } from "../../host/qemu/qga.js";
import { QmpCommandError } from "../../host/qemu/qmp-protocol.js";
import type { DaemonContext } from "../context.js";
import type { VmRuntime } from "./vm-runtime.js";

const REQUEST_TIMEOUT_MS = 5000;
const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

interface Entry {
  pid: number;
  client: GuestAgentClient;
}

export class GuestAgents {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ctx: DaemonContext,
    private readonly rt: VmRuntime,
  ) {
    ctx.events.subscribe((e) => {
      if ((e.type === "vm.state" && (e.state === "shutoff" || e.state === "crashed")) || e.type === "vm.deleted") this.detach(e.vm);
    });
  }

  /** A connected, synchronised client of the VM's agent. */
  private async client(vm: string, timeoutMs: number): Promise<GuestAgentClient> {
    const r = this.rt.require(vm);
    let e = this.entries.get(vm);
    if (e && e.pid !== r.pid) {
      this.detach(vm);
      e = undefined;
    }
    if (!e) {
      e = { pid: r.pid, client: new GuestAgentClient(r.paths.qga, { timeoutMs: REQUEST_TIMEOUT_MS }) };
      this.entries.set(vm, e);
    }
    if (!e.client.connected) await e.client.connect({ timeoutMs });
    return e.client;
  }

  /** Runs `fn` on the VM's agent and turns its failures into kvmgr's errors. */
  private async use<T>(vm: string, what: string, timeoutMs: number, fn: (c: GuestAgentClient) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.client(vm, timeoutMs));
    } catch (e) {
      throw this.translate(vm, what, e);
    }
  }

  private translate(vm: string, what: string, e: unknown): unknown {
    if (e instanceof KvmgrError) return e;
    if (e instanceof QgaExecTimeoutError) {
      return new KvmgrError("KVMGR_ERR_VM_EXEC_TIMEOUT", `The command did not finish within ${Math.round(e.timeoutMs / 1000)} s; it keeps running in VM '${vm}' (guest pid ${e.pid}).`, {
        details: { guestPid: e.pid },
        cause: e,
      });
    }
    if (e instanceof QmpCommandError) {
      return new KvmgrError("KVMGR_ERR_VM_AGENT_FAILED", `The guest agent of VM '${vm}' could not ${what}: ${e.desc.replace(/\.$/, "")}.`, { cause: e });
    }
    if (e instanceof QgaTimeoutError || e instanceof QgaDisconnectedError || (e as NodeJS.ErrnoException).code !== undefined) {
      // A dead connection is dropped so that the next request starts afresh.
      if (e instanceof QgaDisconnectedError || (e as NodeJS.ErrnoException).code !== undefined) this.detach(vm);
      return new KvmgrError("KVMGR_ERR_VM_AGENT_UNAVAILABLE", `The guest agent of VM '${vm}' does not answer; is qemu-ga running in the guest (it needs a moment after boot)?`, { cause: e });
    }
    return e;
  }

  exec(vm: string, req: ExecRequest): Promise<ExecResult> {
    return this.use(vm, `run ${req.path}`, REQUEST_TIMEOUT_MS, (c) =>
      c.exec(req.path, req.args ?? [], {
        timeoutMs: req.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
        ...(req.env ? { env: req.env } : {}),
        ...(req.input !== undefined ? { input: req.input } : {}),
      }),
    );
  }

  shutdown(vm: string, mode: GuestShutdownMode): Promise<void> {
    return this.use(vm, "shut the guest down", REQUEST_TIMEOUT_MS, (c) => c.shutdown(mode));
  }

  interfaces(vm: string, timeoutMs: number): Promise<GuestInterface[]> {
    return this.use(vm, "list the guest's interfaces", timeoutMs, (c) => c.networkGetInterfaces({ timeoutMs }));
  }

  detach(vm: string): void {
    const e = this.entries.get(vm);
    if (!e) return;
    this.entries.delete(vm);
    e.client.close().catch((err: unknown) => this.ctx.log.debug({ err, vm }, "closing guest agent"));
  }

  close(): void {
    for (const vm of [...this.entries.keys()]) this.detach(vm);
  }
}
