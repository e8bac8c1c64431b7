/**
 * Runs commands in a test guest through its serial console (a root shell on ttyS0, whose
 * QEMU socket is STATE/run/vms/NAME/serial.sock). Each command line ends by printing a
 * unique marker with the exit status, computed by the shell (`$?`), so the typed echo of the
 * line never matches it. One command at a time per guest: QEMU serves one client per socket.
 */
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";

export interface GuestResult {
  code: number;
  out: string;
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/**
 * Types `cmd` into the guest's shell and returns its output and exit status. Throws when no
 * marker arrives within `timeoutMs` (e.g. the guest has not booted: see `waitGuestShell`).
 */
export async function guestRun(serialSock: string, cmd: string, timeoutMs = 20000): Promise<GuestResult> {
  const id = randomBytes(4).toString("hex");
  const re = new RegExp(`@@${id}@@(\\d+)@@`);
  const s = await open(serialSock);
  try {
    let buf = "";
    s.setEncoding("utf8");
    const done = new Promise<GuestResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the guest within ${timeoutMs} ms to: ${cmd}\n--- console ---\n${buf.slice(-1500)}`)), timeoutMs);
      s.on("data", (d: string) => {
        buf += d;
        const m = re.exec(buf);
        if (!m) return;
        clearTimeout(timer);
        // The output is what follows the typed line (its end is `$?@@`), up to the marker.
        const before = buf.slice(0, m.index);
        const typedEnd = before.lastIndexOf("$?@@");
        const out = (typedEnd >= 0 ? before.slice(before.indexOf("\n", typedEnd) + 1) : before).replace(/\r/g, "");
        resolve({ code: Number(m[1]), out });
      });
      s.once("error", reject);
    });
    // Ctrl-U clears whatever a previous client left half-typed on the line.
    s.write(`\x15${cmd}; echo "@@${id}@@$?@@"\n`);
    return await done;
  } finally {
    s.destroy();
  }
}

/** Waits until the guest's serial shell answers (the guest has booted). */
export async function waitGuestShell(serialSock: string, timeoutMs = 120000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const r = await guestRun(serialSock, "true", 3000);
      if (r.code === 0) return;
    } catch (e) {
      last = e;
    }
    await delay(500);
  }
  throw new Error(`the guest's serial shell did not answer within ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`);
}

/** Runs `cmd` and fails unless it exits 0; returns its output. */
export async function guestOk(serialSock: string, cmd: string, timeoutMs = 20000): Promise<string> {
  const r = await guestRun(serialSock, cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`guest command '${cmd}' exited ${r.code}: ${r.out}`);
  return r.out;
}
