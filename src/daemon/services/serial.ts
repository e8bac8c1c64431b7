/**
 * Serial consoles. QEMU's chardev socket serves one client at a time, so the daemon holds
 * that one connection for every running VM from its start, keeps the last 64 KiB as
 * scrollback (boot messages included), and fans the output out to any number of viewers
 * (WebSockets of the CLI, the web UI's xterm.js); whatever any viewer types goes to the guest.
 * The scrollback starts from QEMU's serial log, so a restarted daemon still has what the
 * guest printed before and while it was away.
 */
import { createConnection, type Socket } from "node:net";
import { ByteRing } from "../../core/stats/ring.js";
import type { DaemonContext } from "../context.js";
import { capSerialLog, readTail, readWhole } from "./serial-log.js";
import type { VmRuntime } from "./vm-runtime.js";

export const SCROLLBACK_BYTES = 64 * 1024;

export interface SerialViewer {
  onData(chunk: Buffer): void;
  /** the console went away (the VM stopped) */
  onEnd(): void;
}

export interface SerialSession {
  /** what the console printed before this viewer came, oldest first */
  scrollback: Buffer;
  write(data: Buffer): void;
  close(): void;
}

class Console {
  readonly ring = new ByteRing(SCROLLBACK_BYTES);
  readonly viewers = new Set<SerialViewer>();
  socket: Socket | null = null;
  connecting = false;
  /** typed while the connection was being made (bounded: keystrokes, not uploads) */
  pending: Buffer[] = [];
  constructor(
    readonly vm: string,
    readonly pid: number,
  ) {}
}

export class SerialConsoles {
  private readonly consoles = new Map<string, Console>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly rt: VmRuntime,
  ) {
    // Attach at once when a VM starts, so its boot messages are kept.
    ctx.events.subscribe((e) => {
      if (e.type === "vm.state") this.sync(e.vm);
      else if (e.type === "vm.deleted") this.drop(e.vm);
    });
    // And catch up every second: VMs adopted at daemon start, a connection that failed.
    this.timer = setInterval(() => this.syncAll(), 1000);
    this.timer.unref();
  }

  /** Opens a viewer on the VM's console; throws when the VM is not running. */
  open(vm: string, viewer: SerialViewer): SerialSession {
    this.rt.require(vm);
    this.sync(vm);
    const c = this.consoles.get(vm);
    if (!c) throw new Error(`no console for ${vm}`);
    c.viewers.add(viewer);
    return {
      scrollback: c.ring.read(),
      write: (data) => {
        if (c.socket && !c.socket.destroyed) c.socket.write(data);
        else if (c.pending.reduce((n, b) => n + b.length, 0) < 64 * 1024) c.pending.push(data);
      },
      close: () => void c.viewers.delete(viewer),
    };
  }

  /** The VM's serial log as QEMU wrote it (this run's, or the one before), running or not; empty when there is none. */
  log(vm: string, previous: boolean): Buffer {
    const path = this.rt.paths(vm).serialLog;
    return readWhole(previous ? `${path}.1` : path);
  }

  /** The scrollback of a VM's console (empty when there is none). */
  scrollback(vm: string): Buffer {
    return this.consoles.get(vm)?.ring.read() ?? Buffer.alloc(0);
  }

  private syncAll(): void {
    const running = this.rt.allRunning();
    const names = new Set([...this.consoles.keys(), ...running.map((r) => r.name)]);
    for (const n of names) this.sync(n);
    for (const r of running) {
      try {
        if (capSerialLog(r.paths.serialLog)) this.ctx.log.debug({ vm: r.name }, "serial log rotated");
      } catch (err) {
        this.ctx.log.warn({ err, vm: r.name }, "could not rotate the serial log");
      }
    }
  }

  /** Brings the console of `vm` in line with its QEMU: connected while it runs, ended when it stops. */
  private sync(vm: string): void {
    const r = this.rt.running(vm);
    let c = this.consoles.get(vm);
    if (c && (!r || r.pid !== c.pid)) {
      // That QEMU is gone: its viewers are told; the scrollback stays for a look after a crash.
      this.end(c);
      if (r) c = undefined;
    }
    if (!r) return;
    if (!c) {
      c = new Console(vm, r.pid);
      c.ring.write(readTail(r.paths.serialLog, SCROLLBACK_BYTES));
      this.consoles.set(vm, c);
    }
    if (!c.socket && !c.connecting) this.connect(c, r.paths.serial);
  }

  private connect(c: Console, path: string): void {
    c.connecting = true;
    const s = createConnection(path);
    s.on("connect", () => {
      c.connecting = false;
      c.socket = s;
      for (const b of c.pending.splice(0)) s.write(b);
      this.ctx.log.debug({ vm: c.vm }, "serial console attached");
    });
    s.on("data", (chunk: Buffer) => {
      c.ring.write(chunk);
      for (const v of c.viewers) {
        try {
          v.onData(chunk);
        } catch (err) {
          this.ctx.log.debug({ err, vm: c.vm }, "serial viewer failed");
        }
      }
    });
    s.on("error", (err) => this.ctx.log.debug({ err, vm: c.vm }, "serial console connection"));
    s.on("close", () => {
      c.connecting = false;
      if (c.socket === s || c.socket === null) c.socket = null;
      // The next sync reconnects if QEMU still runs, or ends the viewers if not.
    });
  }

  private end(c: Console): void {
    c.socket?.destroy();
    c.socket = null;
    c.pending = [];
    for (const v of c.viewers) v.onEnd();
    c.viewers.clear();
  }

  private drop(vm: string): void {
    const c = this.consoles.get(vm);
    if (!c) return;
    this.end(c);
    this.consoles.delete(vm);
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.consoles.values()) this.end(c);
    this.consoles.clear();
  }
}
