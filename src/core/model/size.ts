/** Sizes as people write them (512M, 10G, 1.5T) and as kvmgr prints them. Binary units, as qemu-img. Pure. */
import { invalid } from "../../api/errors.js";

const UNITS: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses `SIZE` with a unit (B, K, M, G, T; an optional `iB`/`B` suffix is accepted) into bytes. */
export function parseSize(text: string, field = "size"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([BKMGT])(?:i?B)?\s*$/i.exec(text);
  if (!m) throw invalid(field, `Size '${text}' must be a number with a unit, e.g. 512M or 10G.`);
  const bytes = Math.round(Number(m[1]) * (UNITS[(m[2] ?? "B").toUpperCase()] ?? 1));
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw invalid(field, `Size '${text}' is not a usable size.`);
  return bytes;
}

/** Bytes as the largest binary unit that keeps one decimal: 1.5G, 512M, 300K. */
export function formatSize(bytes: number): string {
  for (const u of ["T", "G", "M", "K"] as const) {
    const n = bytes / (UNITS[u] ?? 1);
    if (n >= 1) return `${Number.isInteger(n) ? n : n.toFixed(1)}${u}`;
  }
  return `${bytes}B`;
}

/** qemu-img and QEMU work in 512-byte sectors: sizes are rounded up to one. */
export function roundToSector(bytes: number): number {
  return Math.ceil(bytes / 512) * 512;
}

/**
 * `--memory`: plain digits are MiB (virt-install's way), or a size with a unit (2G, 512MiB)
 * that is a whole number of MiB. Whether the amount is allowed is the VM schema's to say.
 */
export function parseMemoryMiB(text: string): number {
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  let bytes: number;
  try {
    bytes = parseSize(text, "memoryMiB");
  } catch {
    throw invalid("memoryMiB", `Memory '${text}' must be MiB (e.g. 2048) or a size with a unit (e.g. 2G).`);
  }
  if (bytes % UNITS.M! !== 0) throw invalid("memoryMiB", `Memory '${text}' is not a whole number of MiB.`);
  return bytes / UNITS.M!;
}
