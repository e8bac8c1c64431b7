/**
 * Test helper: run shell commands on a guest's serial console (the test guest has a root
 * shell on ttyS0). The daemon holds QEMU's serial socket (a chardev serves one client), so
 * this goes through the daemon's WebSocket bridge, scrollback included: `expect` sees the
 * console from the VM's start even when opened late.
 * Each command is followed by an end marker the shell prints with the exit code; the
 * marker is quoted so that the terminal's echo of the command line never matches it.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { openSerialStream } from "./serial-ws.js";

const CONSOLE_NOISE = /^(kvmgr-test-guest: |\[\s*\d+\.\d+\] )/;

export interface SerialResult {
  /** what the command printed (the echoed command line removed) */
  output: string;
  code: number;
}

export class SerialConsole {
  private buf = "";
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly sock: Duplex) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** The console of VM `vm` of the daemon on `stateDir`. */
  static async openVm(stateDir: string, vm: string): Promise<SerialConsole> {
    return new SerialConsole(await openSerialStream(stateDir, vm, { scrollback: true }));
  }

  /**
   * QEMU's serial socket itself, for when no daemon runs (a running daemon holds the socket's
   * one client slot, and this connection would get nothing).
   */
  static openDirect(path: string): Promise<SerialConsole> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once("connect", () => resolve(new SerialConsole(s)));
      s.once("error", reject);
    });
  }

  /** By the socket path of `serialPath()`: the state directory and VM name are read from it. */
  static open(path: string): Promise<SerialConsole> {
    const m = /^(.*)\/run\/vms\/([^/]+)\/serial\.sock$/.exec(path);
    if (!m) return Promise.reject(new Error(`${path} is not STATE/run/vms/NAME/serial.sock`));
    return SerialConsole.openVm(m[1] ?? "", m[2] ?? "");
  }

  /** Waits until `re` matches the output read so far (from `from`), or fails after `timeoutMs`. */
  private async waitFor(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray | null> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf.slice(from));
      if (m) return m;
      if (this.closed || Date.now() >= end) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for a responsive shell, poking it every `pokeMs` (the guest may still be booting). */
  async waitForShell(timeoutMs = 90000, pokeMs = 2000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const nonce = randomBytes(4).toString("hex");
      const from = this.buf.length;
      // Ctrl-C first: a line garbled while the guest booted (e.g. an odd quote, which
      // leaves the shell at its "> " continuation prompt) is dropped.
      this.sock.write(`\x03\recho "<<"${nonce}":$?>>"\r`);
      if (await this.waitFor(new RegExp(`<<${nonce}:\\d+>>`), from, Math.min(pokeMs, end - Date.now()))) return;
      if (this.closed) break;
    }
    throw new Error(`no shell answered on the serial console within ${timeoutMs} ms; last output: ${JSON.stringify(this.buf.slice(-400))}`);
  }

  /** Runs one command line and returns its output and exit code. */
  async run(command: string, timeoutMs = 30000): Promise<SerialResult> {
    const nonce = randomBytes(4).toString("hex");
    const from = this.buf.length;
    this.sock.write(`${command}; echo "<<"${nonce}":$?>>"\r`);
    const m = await this.waitFor(new RegExp(`([\\s\\S]*?)<<${nonce}:(\\d+)>>`), from, timeoutMs);
    if (!m) throw new Error(`'${command}' did not finish within ${timeoutMs} ms on the serial console; output: ${JSON.stringify(this.buf.slice(from).slice(-400))}`);
    // Drop the echoed command line (the last one naming the nonce): busybox wraps it at
    // the terminal width with "\r\r\n".
    const raw = (m[1] ?? "").replace(/\r\r\n/g, "").replace(/\r/g, "");
    const at = raw.lastIndexOf(nonce);
    const nl = at < 0 ? -1 : raw.indexOf("\n", at);
    // Messages the guest writes to its console (kernel, DHCP script) may interleave: drop them.
    const lines = (nl < 0 ? "" : raw.slice(nl + 1)).split("\n").filter((l) => !CONSOLE_NOISE.test(l));
    return { output: lines.join("\n").trim(), code: Number(m[2]) };
  }

  /** Waits until the console has printed something matching `re` (since it was opened). */
  async expect(re: RegExp, timeoutMs = 30000): Promise<string> {
    const m = await this.waitFor(re, 0, timeoutMs);
    if (!m) throw new Error(`the serial console did not print ${String(re)} within ${timeoutMs} ms; last output: ${JSON.stringify(this.buf.slice(-400))}`);
    return m[0];
  }

  /** Sends a line without waiting for anything (e.g. `poweroff`, after which no shell answers). */
  send(line: string): void {
    this.sock.write(`${line}\r`);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Path of a VM's serial socket under a daemon's state directory. */
export function serialPath(stateDir: string, vm: string): string {
  return `${stateDir}/run/vms/${vm}/serial.sock`;
}
