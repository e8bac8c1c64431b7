/**
 * QEMU guest agent (qemu-ga) client over the host end of its virtio-serial
 * port (`org.qemu.guest_agent.0`, exposed by a `-chardev socket`).
 *
 * Unlike QMP there is no greeting, and the host socket stays open whether or
 * not an agent runs in the guest, so a missing agent only shows up as silence:
 * every request has a timeout. The stream may hold stale output from an
 * earlier client (or from a request we gave up on), so the client
 * resynchronises with `guest-sync-delimited` on connect and after any timeout,
 * dropping everything before the 0xFF sentinel that precedes the sync reply.
 * The agent handles one request at a time, so requests are serialised.
 */
import { randomInt } from "node:crypto";
import * as net from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import {
  JsonLineFramer,
  QGA_SENTINEL,
  QmpCommandError,
  QmpProtocolError,
  decodeMessage,
  encodeCommand,
  formatSeconds,
  type QmpMessage,
} from "./qmp-protocol.js";

/** Options for {@link GuestAgentClient}. */
export interface GuestAgentOptions {
  /** Per-request timeout, including the sync (default 5000 ms). */
  timeoutMs?: number;
  /** Overall budget for {@link GuestAgentClient.exec} (default 60000 ms). */
  execTimeoutMs?: number;
  /** First `guest-exec-status` poll interval; doubles up to 1 s (default 50 ms). */
  execPollIntervalMs?: number;
  /** Protect against a runaway peer (default 16 MiB). */
  maxLineBytes?: number;
}

/** Per-call timeout override. */
export interface GuestRequestOptions {
  timeoutMs?: number;
}

/** Options for {@link GuestAgentClient.exec}. */
export interface GuestExecOptions {
  /** Overall budget for the command to finish (default: client `execTimeoutMs`). */
  timeoutMs?: number;
  /** Environment, as `NAME=value` strings. */
  env?: string[];
  /** Data fed to the command's stdin. */
  input?: string | Uint8Array;
}

/** Outcome of {@link GuestAgentClient.exec}. */
export interface GuestExecResult {
  /** Exit status, or null when the process was killed by a signal. */
  exitCode: number | null;
  /** Terminating signal number, or null. */
  signal: number | null;
  stdout: string;
  stderr: string;
  /** The agent cut stdout or stderr short (it caps captured output). */
  truncated: boolean;
}

/** One address of a guest interface. */
export interface GuestIpAddress {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** One guest network interface from `guest-network-get-interfaces`. */
export interface GuestInterface {
  name: string;
  /** Lower-case MAC, or null for interfaces without one (e.g. some tunnels). */
  mac: string | null;
  ips: GuestIpAddress[];
}

/** `guest-shutdown` modes. */
export type GuestShutdownMode = "powerdown" | "reboot" | "halt";

/** The agent did not answer in time; usually it is not running in the guest. */
export class QgaTimeoutError extends Error {
  readonly command: string;
  readonly timeoutMs: number;

  constructor(command: string, timeoutMs: number) {
    super(`guest agent did not answer within ${formatSeconds(timeoutMs)} (${command})`);
    this.name = "QgaTimeoutError";
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/** The socket is not open or closed while waiting. */
export class QgaDisconnectedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "QgaDisconnectedError";
  }
}

/** A `guest-exec` process was still running when the budget ran out; it keeps running in the guest. */
export class QgaExecTimeoutError extends Error {
  readonly pid: number;
  readonly timeoutMs: number;

  constructor(path: string, pid: number, timeoutMs: number) {
    super(`guest command '${path}' (pid ${pid}) did not finish within ${formatSeconds(timeoutMs)}`);
    this.name = "QgaExecTimeoutError";
    this.pid = pid;
    this.timeoutMs = timeoutMs;
  }
}

interface ReplyWaiter {
  /** When set, only `{"return": syncId}` completes the wait; everything else is stale. */
  syncId: number | undefined;
  resolve: (message: QmpMessage) => void;
  reject: (err: Error) => void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function decodeBase64(value: unknown): string {
  return typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : "";
}

function unexpected(command: string, what: string): never {
  throw new QmpProtocolError(`unexpected reply to '${command}': ${what}`);
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const DEFAULT_POLL_MS = 50;
const MAX_POLL_MS = 1_000;

/**
 * Guest agent session.
 *
 * @example
 * const ga = new GuestAgentClient("/run/kvmgr/vm1/qga.sock", { timeoutMs: 3000 });
 * await ga.connect();
 * const { exitCode, stdout } = await ga.exec("/bin/uname", ["-a"]);
 */
export class GuestAgentClient {
  readonly socketPath: string;
  readonly #timeoutMs: number;
  readonly #execTimeoutMs: number;
  readonly #pollMs: number;
  readonly #maxLineBytes: number | undefined;

  #socket: net.Socket | undefined;
  #framer: JsonLineFramer | undefined;
  #waiter: ReplyWaiter | undefined;
  #needsSync = true;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  // Cancels exec polling delays so close() leaves no timers behind.
  readonly #abort = new AbortController();

  constructor(socketPath: string, options: GuestAgentOptions = {}) {
    this.socketPath = socketPath;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#execTimeoutMs = options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.#pollMs = options.execPollIntervalMs ?? DEFAULT_POLL_MS;
    this.#maxLineBytes = options.maxLineBytes;
  }

  /** True while the socket is open. */
  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /**
   * Open the socket and synchronise with the agent.
   * @throws QgaTimeoutError when no agent answers, or the socket error (e.g. ENOENT).
   */
  async connect(options: GuestRequestOptions = {}): Promise<void> {
    if (this.#closed) throw new QgaDisconnectedError("guest agent client is closed");
    if (!this.connected) await this.#open(options.timeoutMs ?? this.#timeoutMs);
    await this.sync(options);
  }

  /** Force a `guest-sync-delimited` round trip (also done automatically when needed). */
  sync(options: GuestRequestOptions = {}): Promise<void> {
    return this.#serialised(() => this.#sync(options.timeoutMs ?? this.#timeoutMs));
  }

  /** `guest-ping`: resolves when the agent is responsive. */
  async ping(options: GuestRequestOptions = {}): Promise<void> {
    await this.execute("guest-ping", undefined, options);
  }

  /**
   * Run a raw agent command and return its `return` value.
   * @throws QmpCommandError on an error reply, QgaTimeoutError, QgaDisconnectedError.
   */
  execute(
    command: string,
    args?: Record<string, unknown>,
    options: GuestRequestOptions = {},
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return this.#serialised(() => this.#request(command, args, timeoutMs, true));
  }

  /**
   * Run a program in the guest (`guest-exec` with captured output), polling
   * `guest-exec-status` until it exits.
   * @throws QgaExecTimeoutError if it outlives the budget.
   */
  async exec(path: string, args: string[] = [], options: GuestExecOptions = {}): Promise<GuestExecResult> {
    const budget = options.timeoutMs ?? this.#execTimeoutMs;
    const deadline = Date.now() + budget;
    const execArgs: Record<string, unknown> = { path, arg: args, "capture-output": true };
    if (options.env) execArgs["env"] = options.env;
    if (options.input !== undefined) {
      const input =
        typeof options.input === "string" ? Buffer.from(options.input, "utf8") : Buffer.from(options.input);
      execArgs["input-data"] = input.toString("base64");
    }
    const started = await this.execute("guest-exec", execArgs);
    if (!isRecord(started) || typeof started["pid"] !== "number") unexpected("guest-exec", "no pid");
    const pid = started["pid"];

    let interval = this.#pollMs;
    for (;;) {
      const status = await this.execute("guest-exec-status", { pid });
      if (!isRecord(status) || typeof status["exited"] !== "boolean")
        unexpected("guest-exec-status", "no 'exited' flag");
      if (status["exited"]) {
        const code = status["exitcode"];
        const signal = status["signal"];
        return {
          exitCode: typeof code === "number" ? code : null,
          signal: typeof signal === "number" ? signal : null,
          stdout: decodeBase64(status["out-data"]),
          stderr: decodeBase64(status["err-data"]),
          truncated: status["out-truncated"] === true || status["err-truncated"] === true,
        };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new QgaExecTimeoutError(path, pid, budget);
      try {
        await delay(Math.min(interval, remaining), undefined, { signal: this.#abort.signal });
      } catch {
        throw new QgaDisconnectedError("guest agent client closed while waiting for a guest command");
      }
      interval = Math.min(interval * 2, MAX_POLL_MS);
    }
  }

  /** `guest-network-get-interfaces`, normalised. */
  async networkGetInterfaces(options: GuestRequestOptions = {}): Promise<GuestInterface[]> {
    const c = "guest-network-get-interfaces";
    const r = await this.execute(c, undefined, options);
    if (!Array.isArray(r)) unexpected(c, "expected an array");
    return r.map((iface): GuestInterface => {
      if (!isRecord(iface) || typeof iface["name"] !== "string") unexpected(c, "interface without a name");
      const mac = iface["hardware-address"];
      const addrs = iface["ip-addresses"];
      const ips: GuestIpAddress[] = [];
      for (const a of Array.isArray(addrs) ? addrs : []) {
        if (!isRecord(a)) continue;
        const family = a["ip-address-type"];
        const address = a["ip-address"];
        const prefix = a["prefix"];
        if (
          (family === "ipv4" || family === "ipv6") &&
          typeof address === "string" &&
          typeof prefix === "number"
        ) {
          ips.push({ address, prefix, family });
        }
      }
      return { name: iface["name"], mac: typeof mac === "string" ? mac.toLowerCase() : null, ips };
    });
  }

  /**
   * `guest-shutdown`. On success the agent sends no reply (the guest is going
   * down), so this resolves once the request is written, after a sync proves
   * an agent is listening. A later error reply, if any, is discarded by the
   * next sync.
   */
  shutdown(mode: GuestShutdownMode = "powerdown", options: GuestRequestOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return this.#serialised(async () => {
      await this.#request("guest-shutdown", { mode }, timeoutMs, false);
    });
  }

  /** Close the socket; pending and future requests fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    const socket = this.#socket;
    this.#failWaiter(new QgaDisconnectedError("guest agent client closed"));
    if (socket && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.destroy();
      await closed;
    }
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    // The queue only orders work; each caller sees its own outcome.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const framer = new JsonLineFramer(
        this.#maxLineBytes === undefined
          ? { sentinel: QGA_SENTINEL }
          : { sentinel: QGA_SENTINEL, maxLineBytes: this.#maxLineBytes },
      );
      let lastError: Error | undefined;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new QgaTimeoutError("connect", timeoutMs));
      }, timeoutMs);
      timer.unref();
      const onConnectError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once("error", onConnectError);
      socket.on("error", (err: Error) => {
        lastError = err;
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onConnectError);
        if (this.#closed) {
          socket.destroy();
          reject(new QgaDisconnectedError("guest agent client closed while connecting"));
          return;
        }
        this.#socket = socket;
        this.#framer = framer;
        this.#needsSync = true;
        resolve();
      });
      socket.on("data", (chunk: Buffer) => {
        if (this.#socket !== socket) return;
        let lines: string[];
        try {
          lines = framer.push(chunk);
        } catch (err) {
          socket.destroy(err instanceof Error ? err : new QmpProtocolError(String(err)));
          return;
        }
        for (const line of lines) this.#onMessage(decodeMessage(line));
      });
      socket.on("close", () => {
        if (this.#socket !== socket) return;
        this.#socket = undefined;
        this.#framer = undefined;
        this.#failWaiter(new QgaDisconnectedError("guest agent connection closed", { cause: lastError }));
      });
    });
  }

  #onMessage(message: QmpMessage): void {
    const waiter = this.#waiter;
    // No one waiting: a late reply to a request we gave up on. The next sync discards its kind.
    if (!waiter) return;
    if (waiter.syncId !== undefined) {
      if (message.kind === "return" && message.value === waiter.syncId) waiter.resolve(message);
      return;
    }
    if (message.kind === "return" || message.kind === "error") waiter.resolve(message);
  }

  #failWaiter(err: Error): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(err);
  }

  #write(data: string | Uint8Array): net.Socket {
    const socket = this.#socket;
    if (this.#closed) throw new QgaDisconnectedError("guest agent client is closed");
    if (!socket || socket.destroyed) throw new QgaDisconnectedError("guest agent is not connected");
    socket.write(data);
    return socket;
  }

  #awaitReply(command: string, timeoutMs: number, syncId: number | undefined): Promise<QmpMessage> {
    return new Promise<QmpMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        // The answer may still come; it must not be mistaken for the next reply.
        this.#needsSync = true;
        reject(new QgaTimeoutError(command, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.#waiter = {
        syncId,
        resolve: (m) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.#needsSync = true;
          reject(e);
        },
      };
    });
  }

  async #sync(timeoutMs: number): Promise<void> {
    const framer = this.#framer;
    if (!framer || !this.connected) throw new QgaDisconnectedError("guest agent is not connected");
    const id = randomInt(1, 2 ** 47);
    // Drop what is buffered now: it predates this sync.
    framer.discardUntilSentinel();
    const reply = this.#awaitReply("guest-sync-delimited", timeoutMs, id);
    try {
      // A leading 0xFF makes the agent drop any half-read request from an earlier client.
      this.#write(
        Buffer.concat([
          Buffer.from([QGA_SENTINEL]),
          Buffer.from(encodeCommand({ execute: "guest-sync-delimited", arguments: { id } })),
        ]),
      );
    } catch (err) {
      this.#failWaiter(err instanceof Error ? err : new Error(String(err)));
    }
    await reply;
    this.#needsSync = false;
  }

  async #request(
    command: string,
    args: Record<string, unknown> | undefined,
    timeoutMs: number,
    expectReply: boolean,
  ): Promise<unknown> {
    if (this.#needsSync) await this.#sync(timeoutMs);
    const line = encodeCommand(
      args === undefined ? { execute: command } : { execute: command, arguments: args },
    );
    if (!expectReply) {
      this.#write(line);
      // Should the agent answer after all (e.g. an error), that answer is stale for the next request.
      this.#needsSync = true;
      return undefined;
    }
    const reply = this.#awaitReply(command, timeoutMs, undefined);
    try {
      this.#write(line);
    } catch (err) {
      this.#failWaiter(err instanceof Error ? err : new Error(String(err)));
    }
    const message = await reply;
    if (message.kind === "error") throw new QmpCommandError(command, message.error);
    if (message.kind === "return") return message.value;
    return unexpected(command, message.kind);
  }
}
