/**
 * Disk images on the host: probing (qemu-img info), sizes for `vm show` (read from the
 * qcow2 header and the file's blocks: no process per disk), free space, internal
 * snapshots while the VM is off, and resizing.
 * https://www.qemu.org/docs/master/tools/qemu-img.html
 */
import { closeSync, openSync, readSync, realpathSync, statSync, statfsSync } from "node:fs";
import type { ImageProbe } from "../../core/validate/vm.js";
import type { Runner } from "../runner.js";

interface QemuImgInfo {
  format?: string;
  "virtual-size"?: number;
  "actual-size"?: number;
  "backing-filename"?: string;
  snapshots?: { name: string; "date-sec": number; "date-nsec": number; "vm-state-size": number }[];
}

/**
 * qemu-img info of an image, or null if there is no such file. `-U` (force share) lets it
 * read an image a running QEMU holds. The format is probed: only for files the user names.
 */
export async function probeImage(run: Runner, path: string): Promise<ImageProbe | null> {
  let bytes: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return null;
    bytes = st.size;
  } catch {
    return null;
  }
  const info = await imgInfo(run, path);
  const format = info.format ?? "raw";
  // qemu-img rounds a raw file up to whole sectors; the validator needs the file's own size.
  const virtualSizeBytes = format === "raw" ? bytes : (info["virtual-size"] ?? 0);
  return { format, virtualSizeBytes, allocatedBytes: info["actual-size"] ?? 0, realPath: realpathSync(path) };
}

async function imgInfo(run: Runner, path: string, format?: string): Promise<QemuImgInfo> {
  const r = await run.run(["qemu-img", "info", "-U", "--output=json", ...(format ? ["-f", format] : []), path], { timeoutMs: 30000 });
  return JSON.parse(r.stdout) as QemuImgInfo;
}

/** Virtual size and allocated bytes without running qemu-img: the qcow2 header holds the size. */
export function imageSizes(path: string, format: string): { virtualSizeBytes: number; allocatedBytes: number } | null {
  let st;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  const allocatedBytes = st.blocks * 512;
  if (format !== "qcow2") return { virtualSizeBytes: st.size, allocatedBytes };
  // qcow2 header: magic "QFI\xfb" at 0, virtual size (big-endian u64) at 24.
  const buf = Buffer.alloc(32);
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    if (readSync(fd, buf, 0, 32, 0) < 32 || buf.readUInt32BE(0) !== 0x514649fb) return { virtualSizeBytes: st.size, allocatedBytes };
    return { virtualSizeBytes: Number(buf.readBigUInt64BE(24)), allocatedBytes };
  } catch {
    return { virtualSizeBytes: st.size, allocatedBytes };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Bytes an unprivileged writer may still use on the file system of `dir`. */
export function freeBytes(dir: string): number {
  return diskSpace(dir).freeBytes;
}

/** The file system of `dir`: what is still free (to an unprivileged writer) and its size. */
export function diskSpace(dir: string): { freeBytes: number; totalBytes: number } {
  const s = statfsSync(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

export interface ImageSnapshot {
  name: string;
  createdMs: number;
  vmStateBytes: number;
}

/** Internal snapshots of a qcow2 image. */
export async function listImageSnapshots(run: Runner, path: string): Promise<ImageSnapshot[]> {
  const info = await imgInfo(run, path, "qcow2");
  return (info.snapshots ?? []).map((s) => ({ name: s.name, createdMs: s["date-sec"] * 1000 + Math.floor(s["date-nsec"] / 1e6), vmStateBytes: s["vm-state-size"] }));
}

/** qemu-img snapshot: -c create, -a apply (revert), -d delete. The image must not be in use. (No -f: qemu-img 7.2 takes none here; kvmgr only snapshots qcow2 images it checked.) */
export async function imageSnapshot(run: Runner, op: "create" | "apply" | "delete", path: string, name: string): Promise<void> {
  const flag = { create: "-c", apply: "-a", delete: "-d" }[op];
  await run.run(["qemu-img", "snapshot", "-q", flag, name, path], { timeoutMs: 600000 });
}

/** Grows an image that no QEMU holds (a running VM's disks grow through QMP block_resize). */
export async function resizeImage(run: Runner, path: string, format: string, sizeBytes: number): Promise<void> {
  await run.run(["qemu-img", "resize", "-q", "-f", format, path, String(sizeBytes)], { timeoutMs: 600000 });
}
