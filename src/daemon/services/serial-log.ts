/**
 * The serial log QEMU writes beside each VM's console socket (chardev `logfile`, appending):
 * the guest's output even while no daemon listens, the scrollback a restarted daemon starts
 * from, and the previous run's output after a crash. It is kept small the way virtlogd keeps
 * libvirt's: over the limit, the file becomes `.1` and starts again empty.
 */
import { closeSync, copyFileSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, statSync, truncateSync } from "node:fs";

export const SERIAL_LOG_MAX_BYTES = 1024 * 1024;

/** The previous run's log becomes `.1`, before a start makes a new one. */
export function keepPreviousSerialLog(path: string): void {
  if (existsSync(path)) renameSync(path, `${path}.1`);
}

/**
 * Past `max` bytes, the log is copied to `.1` and emptied in place: QEMU holds it open for
 * appending, so its next write lands at the start of the emptied file.
 */
export function capSerialLog(path: string, max = SERIAL_LOG_MAX_BYTES): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size <= max) return false;
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}

/** The last `n` bytes of a file; empty when there is none. */
export function readTail(path: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(n, size);
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const r = readSync(fd, buf, got, len - got, size - len + got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A whole (small) file; empty when there is none. */
export function readWhole(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw e;
  }
}
