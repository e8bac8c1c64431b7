/**
 * The pcap stream tcpdump writes (`-w -`), read packet by packet, and a one-line summary of
 * each (Ethernet, ARP, IPv4 with ICMP/TCP/UDP), so a WebSocket can send the browser both the
 * line to show and the bytes to save. Pure.
 * https://wiki.wireshark.org/Development/LibpcapFileFormat
 */

export interface PcapPacket {
  /** seconds since the epoch */
  time: number;
  /** length on the wire */
  length: number;
  /** captured bytes (may be shorter than `length`) */
  raw: Uint8Array;
}

/** Reads a pcap stream fed in chunks of any size. */
export class PcapReader {
  private buf = new Uint8Array(0);
  private little: boolean | null = null;
  private nano = false;
  /** link type of the capture (1 = Ethernet), known once the header is read */
  linkType: number | null = null;

  /** Returns the packets completed by `chunk`. Throws on a stream that is not pcap. */
  feed(chunk: Uint8Array): PcapPacket[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const out: PcapPacket[] = [];
    let off = 0;
    const view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (this.little === null) {
      if (this.buf.length < 24) return out;
      const magicLe = view.getUint32(0, true);
      if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) this.little = true;
      else {
        const magicBe = view.getUint32(0, false);
        if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error("not a pcap stream");
        this.little = false;
      }
      this.nano = view.getUint32(0, this.little) === 0xa1b23c4d;
      this.linkType = view.getUint32(20, this.little);
      off = 24;
    }
    const le = this.little;
    while (this.buf.length - off >= 16) {
      const sec = view.getUint32(off, le);
      const frac = view.getUint32(off + 4, le);
      const incl = view.getUint32(off + 8, le);
      const orig = view.getUint32(off + 12, le);
      if (this.buf.length - off - 16 < incl) break;
      out.push({ time: sec + frac / (this.nano ? 1e9 : 1e6), length: orig, raw: this.buf.slice(off + 16, off + 16 + incl) });
      off += 16 + incl;
    }
    this.buf = this.buf.slice(off);
    return out;
  }
}

export interface PacketSummary {
  src: string;
  dst: string;
  proto: string;
  info: string;
}

const mac = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
const ip4 = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const u16 = (b: Uint8Array, o: number) => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);

const ICMP_TYPES: Record<number, string> = { 0: "echo reply", 3: "destination unreachable", 8: "echo request", 11: "time exceeded" };
const TCP_FLAGS: [number, string][] = [[0x02, "S"], [0x01, "F"], [0x04, "R"], [0x08, "P"], [0x10, "."]];

/** A tcpdump-like summary of an Ethernet frame. */
export function summarizeFrame(raw: Uint8Array): PacketSummary {
  if (raw.length < 14) return { src: "", dst: "", proto: "?", info: `${raw.length} bytes` };
  const type = u16(raw, 12);
  const esrc = mac(raw, 6);
  const edst = mac(raw, 0);
  if (type === 0x0806 && raw.length >= 42) {
    const op = u16(raw, 20);
    const spa = ip4(raw, 28);
    const tpa = ip4(raw, 38);
    const info = op === 1 ? `Request who-has ${tpa} tell ${spa}` : op === 2 ? `Reply ${spa} is-at ${mac(raw, 22)}` : `op ${op}`;
    return { src: esrc, dst: edst, proto: "ARP", info };
  }
  if (type === 0x86dd) return { src: esrc, dst: edst, proto: "IPv6", info: "IPv6" };
  if (type !== 0x0800 || raw.length < 34) return { src: esrc, dst: edst, proto: `0x${type.toString(16).padStart(4, "0")}`, info: `ethertype 0x${type.toString(16)}` };
  const ihl = ((raw[14] ?? 0x45) & 0x0f) * 4;
  const proto = raw[23] ?? 0;
  const src = ip4(raw, 26);
  const dst = ip4(raw, 30);
  const l4 = 14 + ihl;
  const total = u16(raw, 16);
  switch (proto) {
    case 1: {
      const t = raw[l4] ?? 0;
      const name = ICMP_TYPES[t] ?? `type ${t}`;
      const echo = t === 0 || t === 8 ? `, id ${u16(raw, l4 + 4)}, seq ${u16(raw, l4 + 6)}` : "";
      return { src, dst, proto: "ICMP", info: `${src} > ${dst}: ICMP ${name}${echo}, length ${total - ihl}` };
    }
    case 6: {
      const flags = raw[l4 + 13] ?? 0;
      const f = TCP_FLAGS.filter(([bit]) => flags & bit).map(([, c]) => c).join("") || "none";
      return { src, dst, proto: "TCP", info: `${src}.${u16(raw, l4)} > ${dst}.${u16(raw, l4 + 2)}: Flags [${f}], length ${Math.max(0, total - ihl - ((raw[l4 + 12] ?? 0x50) >> 4) * 4)}` };
    }
    case 17: {
      const sp = u16(raw, l4);
      const dp = u16(raw, l4 + 2);
      const app = sp === 67 || sp === 68 || dp === 67 || dp === 68 ? " BOOTP/DHCP" : sp === 53 || dp === 53 ? " DNS" : dp === 69 ? " TFTP" : "";
      return { src, dst, proto: "UDP", info: `${src}.${sp} > ${dst}.${dp}: UDP${app}, length ${u16(raw, l4 + 4) - 8}` };
    }
    default:
      return { src, dst, proto: `IP/${proto}`, info: `${src} > ${dst}: ip-proto-${proto}, length ${total - ihl}` };
  }
}
