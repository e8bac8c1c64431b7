/** IPv4 arithmetic on 32-bit unsigned integers. Pure. */

export interface Subnet {
  /** network address as an unsigned 32-bit number */
  network: number;
  prefix: number;
}

export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] ?? "";
    if (part.length > 1 && part.startsWith("0")) return null;
    const v = Number(part);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parse "A.B.C.D/P"; `exact` refuses host bits set (10.0.0.5/24). */
export function parseCidr(s: string): { addr: number; prefix: number } | null {
  const [a, p, ...rest] = s.split("/");
  if (a === undefined || p === undefined || rest.length > 0 || !/^\d{1,2}$/.test(p)) return null;
  const prefix = Number(p);
  const addr = parseIpv4(a);
  if (addr === null || prefix > 32) return null;
  return { addr, prefix };
}

export function subnetOf(addr: number, prefix: number): Subnet {
  return { network: (addr & maskOf(prefix)) >>> 0, prefix };
}

export function broadcastOf(s: Subnet): number {
  return (s.network | (~maskOf(s.prefix) >>> 0)) >>> 0;
}

export function contains(s: Subnet, addr: number): boolean {
  return ((addr & maskOf(s.prefix)) >>> 0) === s.network;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = maskOf(p);
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

export function formatCidr(s: Subnet): string {
  return `${formatIpv4(s.network)}/${s.prefix}`;
}

/** Number of usable host addresses (network and broadcast excluded for prefixes < 31). */
export function hostCount(s: Subnet): number {
  const size = 2 ** (32 - s.prefix);
  return s.prefix >= 31 ? size : size - 2;
}
