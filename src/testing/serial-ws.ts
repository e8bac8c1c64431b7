/**
 * Test helper: a VM's serial console as a byte stream through the daemon. The daemon holds
 * QEMU's serial socket (a chardev serves one client), so tests must not connect to
 * STATE/run/vms/NAME/serial.sock themselves: this stream is a drop-in for that socket
 * (data, write, setEncoding, close). By default only what comes after opening; with
 * `scrollback`, the last 64 KiB before it first.
 */
import type { Duplex } from "node:stream";
import { createWebSocketStream } from "ws";
import { KvmgrClient } from "../client/client.js";

export async function openSerialStream(stateDir: string, vm: string, o: { scrollback?: boolean } = {}): Promise<Duplex> {
  const ws = await new KvmgrClient({ socketPath: `${stateDir}/kvmgr.sock` }).serial(vm, { scrollback: o.scrollback === true });
  return createWebSocketStream(ws);
}
