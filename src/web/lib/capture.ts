/**
 * What the daemon's capture stream (GET /v1/networks/:name/capture) sends, made usable by the
 * browser (pure: unit-tested): tcpdump's decoded lines split from the byte stream and cut into
 * columns, and the pcap variant recorded up to its last whole packet.
 */

/** Splits text that arrives in arbitrary chunks into whole lines. */
export class LineSplitter {
  private rest = "";

  /** The lines completed by `chunk` (without their newline). */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    return lines.map((l) => l.replace(/\r$/, "")).filter((l) => l !== "");
  }

  /** What is left once the stream has ended (a last line without its newline). */
  end(): string[] {
    const last = this.rest.replace(/\r$/, "");
    this.rest = "";
    return last === "" ? [] : [last];
  }
}

/** One packet as tcpdump (-n) printed it, cut into the columns of the view. */
export interface PacketLine {
  /** the time as tcpdump printed it (the daemon host's clock), e.g. 12:34:56.789012 */
  time: string;
  proto: string;
  src: string;
  dst: string;
  /** the length tcpdump gives last on the line, null when it gives none */
  length: number | null;
  /** the rest of the line: what tcpdump decoded */
  info: string;
  /** the line as it came */
  line: string;
}

/** 10.0.0.5.53 (tcpdump's address.port) → 10.0.0.5:53; anything else stays as printed. */
function endpoint(s: string): string {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\.(\d+|[a-z][\w-]*)$/.exec(s);
  return m ? `${m[1]}:${m[2]}` : s;
}

function port(s: string): string | null {
  return /[.:](\d+)$/.exec(endpoint(s))?.[1] ?? null;
}

/** The protocol a packet's decoded text names, for the protocol column. */
function protoOf(family: string, src: string, dst: string, info: string): string {
  if (/^ICMP6\b/.test(info)) return "ICMPv6";
  if (/^ICMP\b/.test(info)) return "ICMP";
  if (/^BOOTP\/DHCP\b/.test(info)) return "DHCP";
  if (/^dhcp6\b/i.test(info)) return "DHCPv6";
  if (/^igmp\b/i.test(info)) return "IGMP";
  if (port(src) === "53" || port(dst) === "53") return "DNS";
  if (/^Flags \[/.test(info)) return "TCP";
  if (/^UDP\b/.test(info)) return "UDP";
  const word = /^([A-Za-z][\w/-]*)/.exec(info)?.[1];
  return word && word.length <= 12 ? word : family;
}

function lengthOf(text: string): number | null {
  const all = [...text.matchAll(/\blength:? (\d+)/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : null;
}

/**
 * Cuts one line of `tcpdump -n` into columns. A line that starts without a time stamp (a
 * continuation, or a note of tcpdump's) returns null: the caller adds it to the packet before.
 */
export function parseTcpdumpLine(line: string): PacketLine | null {
  const m = /^(\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)\s+(.*)$/.exec(line);
  if (!m) return null;
  const time = m[1] ?? "";
  const rest = m[2] ?? "";
  const ip = /^(IP6?) (\S+) > (\S+?): (.*)$/.exec(rest);
  if (ip) {
    const [, family = "IP", src = "", dst = "", info = ""] = ip;
    return { time, proto: protoOf(family === "IP6" ? "IPv6" : "IPv4", src, dst, info), src: endpoint(src), dst: endpoint(dst), length: lengthOf(info), info, line };
  }
  const arp = /^ARP, (.*)$/.exec(rest);
  if (arp) {
    const info = arp[1] ?? "";
    const who = /who-has (\S+) tell (\S+?),?(?:\s|$)/.exec(info);
    const reply = /Reply (\S+) is-at (\S+?),?(?:\s|$)/.exec(info);
    const src = who?.[2] ?? reply?.[1] ?? "";
    const dst = who?.[1] ?? "";
    return { time, proto: "ARP", src, dst, length: lengthOf(info), info, line };
  }
  // Other link-layer protocols (LLDP, STP, …): the name tcpdump gives first.
  const name = /^([^,\s]+),?\s*(.*)$/.exec(rest);
  return { time, proto: name?.[1] ?? "", src: "", dst: "", length: lengthOf(rest), info: name?.[2] ?? rest, line };
}

const PCAP_HEADER = 24;
const RECORD_HEADER = 16;

/**
 * Records a pcap stream (tcpdump -w -) as it arrives. `file()` is the global header and every
 * packet received whole so far: a valid pcap file whenever the recording is stopped, even when
 * the last chunk ended in the middle of a packet.
 */
export class PcapRecorder {
  private buf = new Uint8Array(64 * 1024);
  private size = 0;
  /** end of the last whole packet (0 until the global header has come) */
  private whole = 0;
  private little = true;
  /** whole packets recorded */
  packets = 0;
  /** true once the recording reached `maxBytes` and stopped taking packets */
  full = false;
  /** set when the stream does not start like a pcap file */
  invalid = false;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  push(chunk: Uint8Array): void {
    if (this.full || this.invalid) return;
    if (this.size + chunk.length > this.maxBytes) {
      // Keep what was whole; a cut packet would make the file invalid.
      this.full = true;
      this.size = this.whole;
      return;
    }
    if (this.size + chunk.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.size + chunk.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.size));
      this.buf = next;
    }
    this.buf.set(chunk, this.size);
    this.size += chunk.length;
    this.scan();
  }

  private scan(): void {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset, this.size);
    if (this.whole === 0) {
      if (this.size < PCAP_HEADER) return;
      const magic = v.getUint32(0, true);
      // Microsecond or nanosecond stamps, in either byte order.
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.little = true;
      else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.little = false;
      else {
        this.invalid = true;
        return;
      }
      this.whole = PCAP_HEADER;
    }
    while (this.whole + RECORD_HEADER <= this.size) {
      const caplen = v.getUint32(this.whole + 8, this.little);
      const end = this.whole + RECORD_HEADER + caplen;
      if (end > this.size) break;
      this.whole = end;
      this.packets++;
    }
  }

  /** The pcap file of the whole packets so far (null before the global header came). */
  file(): Uint8Array | null {
    return this.whole === 0 ? null : this.buf.slice(0, this.whole);
  }
}
