/**
 * Enough of RFB (the VNC protocol, RFC 6143) to prove a VNC bridge works: the version and
 * security handshake (type None), ClientInit/ServerInit, and one raw framebuffer update.
 * The parsers are pure (unit-tested); `RfbSession` drives them over any byte stream.
 */
import type { Duplex } from "node:stream";

export interface RfbVersion {
  major: number;
  minor: number;
}

/** "RFB 003.008\n" */
export function parseVersion(b: Buffer): RfbVersion {
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(b.toString("latin1"));
  if (!m) throw new Error(`not an RFB version string: ${JSON.stringify(b.toString("latin1"))}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
}

export interface ServerInit {
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  name: string;
}

/** The fixed 24 bytes of ServerInit (the name follows; its length is the last u32). */
export function parseServerInitHead(b: Buffer): Omit<ServerInit, "name"> & { nameLength: number } {
  if (b.length < 24) throw new Error("ServerInit is 24 bytes before the name");
  return {
    width: b.readUInt16BE(0),
    height: b.readUInt16BE(2),
    pixelFormat: { bitsPerPixel: b.readUInt8(4), depth: b.readUInt8(5), bigEndian: b.readUInt8(6) !== 0, trueColour: b.readUInt8(7) !== 0 },
    nameLength: b.readUInt32BE(20),
  };
}

export function framebufferUpdateRequest(incremental: boolean, x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt8(3, 0);
  b.writeUInt8(incremental ? 1 : 0, 1);
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
}

export interface RectHeader {
  x: number;
  y: number;
  w: number;
  h: number;
  encoding: number;
}

export function parseRectHeader(b: Buffer): RectHeader {
  return { x: b.readUInt16BE(0), y: b.readUInt16BE(2), w: b.readUInt16BE(4), h: b.readUInt16BE(6), encoding: b.readInt32BE(8) };
}

/** Reads exact byte counts from a stream. */
export class ByteReader {
  private buf = Buffer.alloc(0);
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(stream: Duplex) {
    stream.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.serve();
    });
    const end = (e?: Error) => {
      this.ended = e ?? new Error("the stream ended");
      this.serve();
    };
    stream.on("end", () => end());
    stream.on("close", () => end());
    stream.on("error", (e) => end(e));
  }

  private serve(): void {
    const w = this.want;
    if (!w) return;
    if (this.buf.length >= w.n) {
      this.want = null;
      const out = this.buf.subarray(0, w.n);
      this.buf = this.buf.subarray(w.n);
      w.resolve(Buffer.from(out));
    } else if (this.ended) {
      this.want = null;
      w.reject(this.ended);
    }
  }

  read(n: number, timeoutMs = 20_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.want = null;
        reject(new Error(`RFB: ${n} bytes did not come within ${timeoutMs} ms`));
      }, timeoutMs);
      this.want = {
        n,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.serve();
    });
  }
}

/** A minimal RFB 3.8 client: handshake with security None, then raw framebuffer updates. */
export class RfbSession {
  private readonly r: ByteReader;
  version: RfbVersion | null = null;
  securityTypes: number[] = [];
  init: ServerInit | null = null;

  constructor(private readonly stream: Duplex) {
    this.r = new ByteReader(stream);
  }

  async handshake(): Promise<ServerInit> {
    this.version = parseVersion(await this.r.read(12));
    this.stream.write("RFB 003.008\n");
    const count = (await this.r.read(1)).readUInt8(0);
    if (count === 0) {
      const len = (await this.r.read(4)).readUInt32BE(0);
      throw new Error(`RFB server refused: ${(await this.r.read(len)).toString("utf8")}`);
    }
    this.securityTypes = [...(await this.r.read(count))];
    if (!this.securityTypes.includes(1)) throw new Error(`RFB server offers no security type None: ${this.securityTypes.join(",")}`);
    this.stream.write(Buffer.from([1]));
    const result = (await this.r.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`RFB security handshake failed (${result})`);
    this.stream.write(Buffer.from([1])); // ClientInit: shared
    const head = parseServerInitHead(await this.r.read(24));
    const name = (await this.r.read(head.nameLength)).toString("utf8");
    this.init = { width: head.width, height: head.height, pixelFormat: head.pixelFormat, name };
    return this.init;
  }

  /** Requests the whole screen and returns its raw pixels (we never ask for other encodings). */
  async frame(): Promise<Buffer> {
    const init = this.init;
    if (!init) throw new Error("handshake first");
    this.stream.write(framebufferUpdateRequest(false, 0, 0, init.width, init.height));
    const bpp = init.pixelFormat.bitsPerPixel / 8;
    const pixels = Buffer.alloc(init.width * init.height * bpp);
    for (;;) {
      const type = (await this.r.read(1)).readUInt8(0);
      if (type === 0) break; // FramebufferUpdate
      if (type === 2) continue; // Bell
      if (type === 1) {
        // SetColourMapEntries: pad, first, count, then 6 bytes a colour
        const h = await this.r.read(5);
        await this.r.read(h.readUInt16BE(3) * 6);
        continue;
      }
      if (type === 3) {
        const h = await this.r.read(7);
        await this.r.read(h.readUInt32BE(3));
        continue;
      }
      throw new Error(`RFB: unexpected server message type ${type}`);
    }
    const rects = (await this.r.read(3)).readUInt16BE(1);
    for (let i = 0; i < rects; i++) {
      const rect = parseRectHeader(await this.r.read(12));
      if (rect.encoding !== 0) throw new Error(`RFB: unexpected encoding ${rect.encoding}`);
      const data = await this.r.read(rect.w * rect.h * bpp);
      for (let row = 0; row < rect.h; row++) {
        data.copy(pixels, ((rect.y + row) * init.width + rect.x) * bpp, row * rect.w * bpp, (row + 1) * rect.w * bpp);
      }
    }
    return pixels;
  }
}
