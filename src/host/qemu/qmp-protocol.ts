/**
 * QMP wire protocol: framing and message classification, no I/O.
 *
 * QMP (and the guest agent, which speaks the same dialect) sends one compact
 * JSON document per line. A socket read may end mid-message or carry several
 * messages, so framing works on bytes and only decodes complete lines; this
 * also keeps multi-byte UTF-8 sequences split across reads intact.
 *
 * @see https://www.qemu.org/docs/master/interop/qmp-spec.html
 */

/** Byte the guest agent puts before a `guest-sync-delimited` reply; never valid inside UTF-8. */
export const QGA_SENTINEL = 0xff;

/** A command id. The spec allows any JSON value; we only ever send strings and numbers. */
export type QmpId = string | number;

/** Version block of the greeting. */
export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

/** The banner QEMU sends on connect, before capabilities negotiation. */
export interface QmpGreeting {
  QMP: { version: QmpVersion; capabilities: string[] };
}

/** When QEMU raised an event (host clock, split like `struct timeval`). */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** An asynchronous event such as `SHUTDOWN` or `STOP`. `data` is `{}` when QEMU sends none. */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: QmpTimestamp;
}

/** The `error` member of a failed command reply. */
export interface QmpError {
  class: string;
  desc: string;
}

/** A command as sent on the wire. */
export interface QmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: QmpId;
}

/** One decoded server message. `invalid` covers both bad JSON and JSON of no known shape. */
export type QmpMessage =
  | { kind: "greeting"; greeting: QmpGreeting }
  | { kind: "return"; id: QmpId | undefined; value: unknown }
  | { kind: "error"; id: QmpId | undefined; error: QmpError }
  | { kind: "event"; event: QmpEvent }
  | { kind: "invalid"; reason: string; line: string };

/** A command reply carrying an `error` member. */
export class QmpCommandError extends Error {
  /** QMP error class, e.g. `GenericError`, `CommandNotFound`, `DeviceNotFound`. */
  readonly class: string;
  /** Human-readable description from QEMU. */
  readonly desc: string;
  /** The command that failed. */
  readonly command: string;

  constructor(command: string, error: QmpError) {
    super(`QMP command '${command}' failed: ${error.class}: ${error.desc}`);
    this.name = "QmpCommandError";
    this.command = command;
    this.class = error.class;
    this.desc = error.desc;
  }
}

/** The peer broke the protocol (oversized line, malformed greeting or reply shape). */
export class QmpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QmpProtocolError";
  }
}

/** Options for {@link JsonLineFramer}. */
export interface JsonLineFramerOptions {
  /**
   * A byte that resets the framer: any partial line before it is dropped.
   * The guest agent uses 0xFF so a client can resynchronise after stale output.
   */
  sentinel?: number;
  /** Refuse lines longer than this so a peer that never sends a newline cannot exhaust memory. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;
const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into lines. Blank lines are skipped and a trailing
 * `\r` is dropped (QEMU's monitor writes `\r\n`).
 */
export class JsonLineFramer {
  readonly #sentinel: number | undefined;
  readonly #maxLineBytes: number;
  #partial: Uint8Array[] = [];
  #partialBytes = 0;
  #discarding = false;
  readonly #decoder = new TextDecoder("utf-8");

  constructor(options: JsonLineFramerOptions = {}) {
    this.#sentinel = options.sentinel;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Bytes held back waiting for the end of their line. */
  get bufferedBytes(): number {
    return this.#partialBytes;
  }

  /** True while input is being dropped until the next sentinel byte. */
  get discarding(): boolean {
    return this.#discarding;
  }

  /**
   * Drop everything up to and including the next sentinel byte, including what
   * is buffered now. Used right after sending `guest-sync-delimited`.
   */
  discardUntilSentinel(): void {
    if (this.#sentinel === undefined) throw new Error("framer has no sentinel byte configured");
    this.#dropPartial();
    this.#discarding = true;
  }

  /** Forget buffered input (e.g. after a reconnect). */
  reset(): void {
    this.#dropPartial();
    this.#discarding = false;
  }

  /**
   * Feed one chunk; returns the complete, non-blank lines it finished.
   * @throws QmpProtocolError when a line exceeds `maxLineBytes` (the partial line is dropped).
   */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    // Cached so a chunk with many lines is not rescanned for the sentinel per line.
    let sentinel = this.#sentinel === undefined ? -1 : chunk.indexOf(this.#sentinel);
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (sentinel !== -1 && sentinel < start && this.#sentinel !== undefined)
        sentinel = chunk.indexOf(this.#sentinel, start);
      if (sentinel !== -1 && (nl === -1 || sentinel < nl)) {
        // Whatever preceded the sentinel is stale by definition.
        this.#dropPartial();
        this.#discarding = false;
        start = sentinel + 1;
        continue;
      }
      if (this.#discarding) {
        if (nl === -1) break;
        start = nl + 1;
        continue;
      }
      if (nl === -1) {
        this.#append(chunk.subarray(start));
        break;
      }
      this.#append(chunk.subarray(start, nl));
      const line = this.#takeLine();
      if (line.trim() !== "") lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      start = nl + 1;
    }
    return lines;
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#partialBytes + bytes.length > this.#maxLineBytes) {
      this.#dropPartial();
      throw new QmpProtocolError(`message exceeds ${this.#maxLineBytes} bytes without a newline`);
    }
    // Copy: callers may reuse their buffers after push() returns.
    this.#partial.push(bytes.slice());
    this.#partialBytes += bytes.length;
  }

  #takeLine(): string {
    const parts = this.#partial;
    let joined: Uint8Array;
    if (parts.length === 1 && parts[0] !== undefined) {
      joined = parts[0];
    } else {
      joined = new Uint8Array(this.#partialBytes);
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
    }
    this.#dropPartial();
    return this.#decoder.decode(joined);
  }

  #dropPartial(): void {
    this.#partial = [];
    this.#partialBytes = 0;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asId(value: unknown): QmpId | undefined {
  return typeof value === "string" || typeof value === "number" ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function parseGreeting(qmp: unknown): QmpGreeting | undefined {
  if (!isRecord(qmp)) return undefined;
  const version = qmp["version"];
  const capabilities = qmp["capabilities"];
  if (!isRecord(version) || !Array.isArray(capabilities)) return undefined;
  const qemu = version["qemu"];
  if (!isRecord(qemu)) return undefined;
  const major = asNumber(qemu["major"]);
  const minor = asNumber(qemu["minor"]);
  const micro = asNumber(qemu["micro"]);
  if (major === undefined || minor === undefined || micro === undefined) return undefined;
  const pkg = version["package"];
  return {
    QMP: {
      version: { qemu: { major, minor, micro }, package: typeof pkg === "string" ? pkg : "" },
      capabilities: capabilities.filter((c): c is string => typeof c === "string"),
    },
  };
}

function parseEvent(value: Record<string, unknown>, name: string): QmpEvent {
  const data = value["data"];
  const ts = value["timestamp"];
  const timestamp: QmpTimestamp = isRecord(ts)
    ? { seconds: asNumber(ts["seconds"]) ?? 0, microseconds: asNumber(ts["microseconds"]) ?? 0 }
    : { seconds: 0, microseconds: 0 };
  return { event: name, data: isRecord(data) ? data : {}, timestamp };
}

/**
 * Classify an already-parsed JSON value.
 *
 * Precedence follows the spec: a greeting has `QMP`, an event has `event`, a
 * reply has `return` or `error`. Anything else is `invalid` so callers can log
 * it rather than guess.
 */
export function classifyMessage(value: unknown, line = ""): QmpMessage {
  if (!isRecord(value)) return { kind: "invalid", reason: "message is not a JSON object", line };
  if ("QMP" in value) {
    const greeting = parseGreeting(value["QMP"]);
    return greeting
      ? { kind: "greeting", greeting }
      : { kind: "invalid", reason: "malformed greeting", line };
  }
  const event = value["event"];
  if (typeof event === "string") return { kind: "event", event: parseEvent(value, event) };
  const id = asId(value["id"]);
  if ("error" in value) {
    const err = value["error"];
    if (!isRecord(err)) return { kind: "invalid", reason: "malformed error member", line };
    const cls = err["class"];
    const desc = err["desc"];
    return {
      kind: "error",
      id,
      error: {
        class: typeof cls === "string" ? cls : "GenericError",
        desc: typeof desc === "string" ? desc : "",
      },
    };
  }
  if ("return" in value) return { kind: "return", id, value: value["return"] };
  return { kind: "invalid", reason: "not a greeting, event or reply", line };
}

/** Parse and classify one line produced by {@link JsonLineFramer}. Never throws. */
export function decodeMessage(line: string): QmpMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return {
      kind: "invalid",
      reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}`,
      line,
    };
  }
  return classifyMessage(value, line);
}

/** Serialise a command, newline-terminated so line-based peers can frame it. */
export function encodeCommand(command: QmpCommand): string {
  const wire: Record<string, unknown> = { execute: command.execute };
  if (command.arguments !== undefined) wire["arguments"] = command.arguments;
  if (command.id !== undefined) wire["id"] = command.id;
  return `${JSON.stringify(wire)}\n`;
}

/** Render a timeout for error messages: 5000 → "5s", 250 → "0.25s". */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
