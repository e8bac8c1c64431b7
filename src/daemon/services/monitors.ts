/**
 * One long-lived QMP connection per running VM (QEMU serves one client per monitor socket):
 * every part of the daemon that talks to a VM's QEMU goes through `commands(vm)`. Events
 * tell a guest's own power-off from a crash, and a dropped connection is the fastest sign
 * that QEMU died.
 */
import type { Logger } from "pino";
import { QmpCommands } from "../../host/qemu/qmp-commands.js";
import { QmpMonitor } from "../../host/qemu/qmp-monitor.js";
import type { QmpEvent } from "../../host/qemu/qmp-protocol.js";

export interface MonitorHooks {
  /** a QMP event of `vm` */
  onEvent(vm: string, e: QmpEvent): void;
  /** the connection to `vm`'s QEMU dropped (QEMU exited, or is exiting) */
  onDisconnect(vm: string): void;
}

interface Entry {
  mon: QmpMonitor;
  cmds: QmpCommands;
}

export class VmMonitors {
  private readonly entries = new Map<string, Entry>();
  constructor(
    private readonly log: Logger,
    private readonly hooks: MonitorHooks,
  ) {}

  /** Connects to the VM's QMP socket; replaces an older connection of the same VM. */
  async attach(vm: string, socketPath: string): Promise<QmpCommands> {
    await this.detach(vm);
    const mon = new QmpMonitor(socketPath, { connectTimeoutMs: 5000, commandTimeoutMs: 30000 });
    const entry = { mon, cmds: new QmpCommands(mon) };
    mon.on("event", (e) => this.hooks.onEvent(vm, e));
    mon.on("disconnect", () => {
      if (this.entries.get(vm) !== entry) return;
      this.entries.delete(vm);
      this.hooks.onDisconnect(vm);
    });
    await mon.connect();
    this.entries.set(vm, entry);
    return entry.cmds;
  }

  commands(vm: string): QmpCommands | null {
    return this.entries.get(vm)?.cmds ?? null;
  }

  /** The raw monitor, for jobs and event waits. */
  monitor(vm: string): QmpMonitor | null {
    return this.entries.get(vm)?.mon ?? null;
  }

  async detach(vm: string): Promise<void> {
    const e = this.entries.get(vm);
    if (!e) return;
    this.entries.delete(vm);
    await e.mon.close().catch((err: unknown) => this.log.debug({ err, vm }, "closing QMP monitor"));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((vm) => this.detach(vm)));
  }
}
