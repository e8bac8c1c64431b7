/** Bounded buffers. Pure. */

/** The last `capacity` items, oldest first. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("ring capacity must be a positive integer");
    this.items = new Array<T | undefined>(capacity);
  }
  get length(): number {
    return this.count;
  }
  push(item: T): void {
    const end = (this.start + this.count) % this.capacity;
    this.items[end] = item;
    if (this.count < this.capacity) this.count++;
    else this.start = (this.start + 1) % this.capacity;
  }
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }
  last(): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.start + this.count - 1) % this.capacity];
  }
  clear(): void {
    this.items.fill(undefined);
    this.start = 0;
    this.count = 0;
  }
}

/** The last `capacity` bytes written, e.g. a console's scrollback. */
export class ByteRing {
  private readonly buf: Buffer;
  private end = 0;
  private full = false;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("ring capacity must be a positive integer");
    this.buf = Buffer.alloc(capacity);
  }
  get length(): number {
    return this.full ? this.capacity : this.end;
  }
  write(data: Uint8Array): void {
    if (data.length >= this.capacity) {
      this.buf.set(data.subarray(data.length - this.capacity));
      this.end = 0;
      this.full = true;
      return;
    }
    const first = Math.min(data.length, this.capacity - this.end);
    this.buf.set(data.subarray(0, first), this.end);
    if (first < data.length) {
      this.buf.set(data.subarray(first), 0);
      this.full = true;
    }
    const next = this.end + data.length;
    if (next >= this.capacity) this.full = true;
    this.end = next % this.capacity;
  }
  /** Everything kept, oldest first (a copy). */
  read(): Buffer {
    if (!this.full) return Buffer.from(this.buf.subarray(0, this.end));
    return Buffer.concat([this.buf.subarray(this.end), this.buf.subarray(0, this.end)]);
  }
  clear(): void {
    this.end = 0;
    this.full = false;
  }
}
