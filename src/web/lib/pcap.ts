/**
 * A pcap file (the classic libpcap format, microsecond stamps, Ethernet link type) from
 * captured frames, so the browser can offer what it streamed as a download Wireshark opens.
 */
export interface Frame {
  /** seconds since the epoch, with fractions */
  time: number;
  bytes: Uint8Array;
  /** length on the wire (>= bytes.length when the capture was cut short) */
  origLen?: number;
}

const LINKTYPE_ETHERNET = 1;

export function pcapFile(frames: readonly Frame[], snaplen = 262144): Uint8Array {
  const size = 24 + frames.reduce((s, f) => s + 16 + f.bytes.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, snaplen, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  let o = 24;
  for (const f of frames) {
    const sec = Math.floor(f.time);
    v.setUint32(o, sec, true);
    v.setUint32(o + 4, Math.min(999999, Math.round((f.time - sec) * 1e6)), true);
    v.setUint32(o + 8, f.bytes.length, true);
    v.setUint32(o + 12, f.origLen ?? f.bytes.length, true);
    out.set(f.bytes, o + 16);
    o += 16 + f.bytes.length;
  }
  return out;
}

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
