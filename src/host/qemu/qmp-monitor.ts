/**
 * A QMP client over QEMU's unix monitor socket.
 *
 * Commands carry a unique id and replies are matched by it, so callers may
 * issue commands concurrently; events are delivered through listeners. The
 * socket can die at any time (QEMU exits, is killed, or is restarted), so every
 * waiting caller is rejected on disconnect, and with `reconnect` the monitor
 * redoes the greeting and capabilities handshake with backoff.
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import {
  JsonLineFramer,
  QmpCommandError,
  QmpProtocolError,
  decodeMessage,
  encodeCommand,
  formatSeconds,
  type QmpEvent,
  type QmpGreeting,
  type QmpMessage,
} from "./qmp-protocol.js";

/** Backoff for automatic reconnection. Delay doubles per failed attempt up to `maxDelayMs`. */
export interface QmpReconnectOptions {
  /** Delay before the first attempt (default 100 ms). */
  initialDelayMs?: number;
  /** Ceiling for the doubling delay (default 5000 ms). */
  maxDelayMs?: number;
  /** Give up after this many failed attempts (default: never; call `close()` when the VM is gone). */
  maxAttempts?: number;
}

/** Options for {@link QmpMonitor}. */
export interface QmpMonitorOptions {
  /** Budget for socket connect + greeting + `qmp_capabilities` (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Default per-command timeout (default 30000 ms). */
  commandTimeoutMs?: number;
  /** Re-establish the session after an unexpected disconnect. */
  reconnect?: boolean | QmpReconnectOptions;
  /** Protect against a peer that never sends a newline (default 16 MiB). */
  maxLineBytes?: number;
}

/** Per-call options for {@link QmpMonitor.execute}. */
export interface QmpExecuteOptions {
  timeoutMs?: number;
}

/** Payload of the `disconnect` notification. */
export interface QmpDisconnectInfo {
  /** Socket error that caused the disconnect, if any (a clean EOF has none). */
  error: Error | undefined;
  /** True when the disconnect came from {@link QmpMonitor.close}. */
  requested: boolean;
  /** True when a reconnect attempt has been scheduled. */
  willReconnect: boolean;
}

/**
 * Lifecycle: `idle` (never connected, or disconnected without reconnect —
 * `connect()` may be called again), `connecting`, `ready`, `reconnecting`,
 * and terminal `closed`.
 */
export type QmpMonitorState = "idle" | "connecting" | "ready" | "reconnecting" | "closed";

/** QMP event names are upper case (`SHUTDOWN`, `DEVICE_DELETED`, ...). */
export type QmpEventName = Uppercase<string>;

/** A command (or the handshake, or an awaited event) got no answer in time. */
export class QmpTimeoutError extends Error {
  readonly command: string;
  readonly timeoutMs: number;

  constructor(command: string, timeoutMs: number) {
    super(`QMP '${command}' got no answer within ${formatSeconds(timeoutMs)}`);
    this.name = "QmpTimeoutError";
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/** The monitor is not connected, or the connection dropped before the reply arrived. */
export class QmpDisconnectedError extends Error {
  /** The command affected, if any. */
  readonly command: string | undefined;
  /** True when the command had been sent, so QEMU may or may not have run it. */
  readonly inFlight: boolean;

  constructor(message: string, options: { command?: string; inFlight?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "QmpDisconnectedError";
    this.command = options.command;
    this.inFlight = options.inFlight ?? false;
  }
}

// Payloads are checked by the typed overloads; the emitter itself is untyped.
type Listener = (payload: unknown) => void;

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface GreetingWaiter {
  resolve: (greeting: QmpGreeting) => void;
  reject: (err: Error) => void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/**
 * QMP session over a unix socket.
 *
 * @example
 * const mon = new QmpMonitor("/run/kvmgr/vm1/qmp.sock", { reconnect: true });
 * await mon.connect();
 * mon.on("SHUTDOWN", (e) => log(e.data));
 * const status = await mon.execute<{ status: string }>("query-status");
 */
export class QmpMonitor {
  readonly socketPath: string;
  readonly #connectTimeoutMs: number;
  readonly #commandTimeoutMs: number;
  readonly #maxLineBytes: number | undefined;
  readonly #reconnect: Required<QmpReconnectOptions> | undefined;
  readonly #emitter = new EventEmitter();

  #state: QmpMonitorState = "idle";
  #socket: net.Socket | undefined;
  #greeting: QmpGreeting | undefined;
  #greetingWaiter: GreetingWaiter | undefined;
  // The greeting may in principle arrive before anyone waits for it.
  #earlyGreeting: QmpGreeting | undefined;
  #connecting: Promise<QmpGreeting> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #pending = new Map<string, Pending>();
  #nextId = 0;
  // Distinguishes this monitor's ids from any other client's in QEMU logs.
  readonly #idPrefix = `kvmgr-${process.pid}-${Math.floor(Math.random() * 0xffff).toString(16)}`;

  constructor(socketPath: string, options: QmpMonitorOptions = {}) {
    this.socketPath = socketPath;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#maxLineBytes = options.maxLineBytes;
    // Each waitForEvent() holds a listener; many concurrent waiters are legitimate, not a leak.
    this.#emitter.setMaxListeners(0);
    const rc = options.reconnect;
    if (rc) {
      const o = rc === true ? {} : rc;
      this.#reconnect = {
        initialDelayMs: o.initialDelayMs ?? 100,
        maxDelayMs: o.maxDelayMs ?? 5_000,
        maxAttempts: o.maxAttempts ?? Number.POSITIVE_INFINITY,
      };
    }
  }

  /** Current lifecycle state. */
  get state(): QmpMonitorState {
    return this.#state;
  }

  /** The greeting of the current (or last) session. */
  get greeting(): QmpGreeting | undefined {
    return this.#greeting;
  }

  /** Number of commands awaiting a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Connect, read the greeting and negotiate capabilities. Idempotent while
   * connecting or connected; while `reconnecting` it makes an immediate attempt.
   * @throws QmpTimeoutError, QmpDisconnectedError, or the socket error (e.g. ENOENT).
   */
  connect(): Promise<QmpGreeting> {
    if (this.#state === "closed") return Promise.reject(new QmpDisconnectedError("QMP monitor is closed"));
    if (this.#state === "ready" && this.#greeting) return Promise.resolve(this.#greeting);
    if (this.#connecting) return this.#connecting;
    if (this.#state === "reconnecting") {
      // Try now instead of waiting for the backoff; on failure the loop carries on.
      if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = undefined;
      return this.#reconnectAttempt(0);
    }
    this.#state = "connecting";
    return this.#startSession().catch((err: unknown) => {
      if (this.#state === "connecting") this.#state = "idle";
      throw err;
    });
  }

  /**
   * Run a command and resolve with its `return` value.
   *
   * `T` is trusted, not checked; the typed wrappers in `qmp-commands.ts` validate shapes.
   * @throws QmpCommandError on an error reply, QmpTimeoutError, QmpDisconnectedError.
   */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: QmpExecuteOptions = {},
  ): Promise<T> {
    if (this.#state !== "ready") {
      return Promise.reject(
        new QmpDisconnectedError(
          `QMP monitor is not connected (state: ${this.#state}); cannot run '${command}'`,
          { command },
        ),
      );
    }
    return this.#send(command, args, options.timeoutMs ?? this.#commandTimeoutMs) as Promise<T>;
  }

  /** Every QMP event. */
  on(type: "event", listener: (event: QmpEvent) => void): this;
  /** The socket closed; pending commands have already been rejected. */
  on(type: "disconnect", listener: (info: QmpDisconnectInfo) => void): this;
  /** A reconnect completed its handshake; commands may be sent again. */
  on(type: "reconnect", listener: (greeting: QmpGreeting) => void): this;
  /** Reconnection gave up after `maxAttempts`; the monitor is now `idle`. */
  on(type: "reconnect-failed", listener: (lastError: Error) => void): this;
  /** A message matching no pending command, or unparseable input; useful for logging. */
  on(type: "stray", listener: (message: QmpMessage) => void): this;
  /** One specific QMP event, e.g. `SHUTDOWN`. */
  on(type: QmpEventName, listener: (event: QmpEvent) => void): this;
  on(type: string, listener: (payload: never) => void): this {
    this.#emitter.on(type, listener as Listener);
    return this;
  }

  /** One-shot variant of {@link QmpMonitor.on}. */
  once(type: "event", listener: (event: QmpEvent) => void): this;
  once(type: "disconnect", listener: (info: QmpDisconnectInfo) => void): this;
  once(type: "reconnect", listener: (greeting: QmpGreeting) => void): this;
  once(type: "reconnect-failed", listener: (lastError: Error) => void): this;
  once(type: "stray", listener: (message: QmpMessage) => void): this;
  once(type: QmpEventName, listener: (event: QmpEvent) => void): this;
  once(type: string, listener: (payload: never) => void): this {
    this.#emitter.once(type, listener as Listener);
    return this;
  }

  /** Remove a listener added with `on` or `once`. */
  off(type: string, listener: (payload: never) => void): this {
    this.#emitter.off(type, listener as Listener);
    return this;
  }

  /**
   * Resolve with the next event named `name` (optionally matching `predicate`).
   * Register before triggering the action that raises it.
   * @throws QmpTimeoutError, or QmpDisconnectedError if the session ends for good first.
   */
  waitForEvent(
    name: QmpEventName,
    options: { timeoutMs?: number; predicate?: (event: QmpEvent) => boolean } = {},
  ): Promise<QmpEvent> {
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return new Promise<QmpEvent>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#emitter.off(name, onEvent);
        this.#emitter.off("disconnect", onDisconnect);
      };
      const onEvent = (event: QmpEvent): void => {
        if (options.predicate && !options.predicate(event)) return;
        cleanup();
        resolve(event);
      };
      const onDisconnect = (info: QmpDisconnectInfo): void => {
        if (info.willReconnect) return;
        cleanup();
        reject(
          new QmpDisconnectedError(`QMP connection closed while waiting for event ${name}`, {
            cause: info.error,
          }),
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new QmpTimeoutError(`event ${name}`, timeoutMs));
      }, timeoutMs);
      // Left referenced: a caller awaiting an event on an otherwise idle loop must still get its timeout.
      this.#emitter.on(name, onEvent);
      this.#emitter.on("disconnect", onDisconnect);
    });
  }

  /** Disconnect for good: cancels reconnection and rejects pending commands. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === "closed" && !this.#socket) return;
    this.#state = "closed";
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#rejectAll(new QmpDisconnectedError("QMP monitor closed"));
    const socket = this.#socket;
    if (socket && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.destroy();
      await closed;
    }
  }

  #startSession(): Promise<QmpGreeting> {
    const attempt = this.#establish().finally(() => {
      this.#connecting = undefined;
    });
    this.#connecting = attempt;
    return attempt;
  }

  async #establish(): Promise<QmpGreeting> {
    const deadline = Date.now() + this.#connectTimeoutMs;
    const socket = await this.#openSocket(deadline);
    try {
      const greeting = await this.#awaitGreeting(deadline);
      await this.#send("qmp_capabilities", undefined, Math.max(1, deadline - Date.now()));
      if (this.#socket !== socket || socket.destroyed)
        throw new QmpDisconnectedError("QMP connection closed during handshake");
      if (this.#state === "closed") throw new QmpDisconnectedError("QMP monitor closed during handshake");
      this.#greeting = greeting;
      this.#state = "ready";
      return greeting;
    } catch (err) {
      // A half-open session is useless; the close handler sees a non-ready state and stays quiet.
      socket.destroy();
      throw err;
    }
  }

  #openSocket(deadline: number): Promise<net.Socket> {
    return new Promise<net.Socket>((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const framer = new JsonLineFramer(
        this.#maxLineBytes === undefined ? {} : { maxLineBytes: this.#maxLineBytes },
      );
      let lastError: Error | undefined;
      const timer = setTimeout(
        () => {
          socket.destroy();
          reject(new QmpTimeoutError("connect", this.#connectTimeoutMs));
        },
        Math.max(1, deadline - Date.now()),
      );
      timer.unref();
      const onConnectError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once("error", onConnectError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onConnectError);
        if (this.#state === "closed") {
          socket.destroy();
          reject(new QmpDisconnectedError("QMP monitor closed while connecting"));
          return;
        }
        this.#socket = socket;
        this.#earlyGreeting = undefined;
        resolve(socket);
      });
      socket.on("error", (err: Error) => {
        lastError = err;
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
        for (const line of lines) this.#dispatch(decodeMessage(line));
      });
      socket.on("close", () => this.#onClose(socket, lastError));
    });
  }

  #awaitGreeting(deadline: number): Promise<QmpGreeting> {
    const early = this.#earlyGreeting;
    this.#earlyGreeting = undefined;
    if (early) return Promise.resolve(early);
    return new Promise<QmpGreeting>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#greetingWaiter = undefined;
          reject(new QmpTimeoutError("greeting", this.#connectTimeoutMs));
        },
        Math.max(1, deadline - Date.now()),
      );
      timer.unref();
      this.#greetingWaiter = {
        resolve: (g) => {
          clearTimeout(timer);
          resolve(g);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  #send(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
    const socket = this.#socket;
    if (!socket || socket.destroyed) {
      return Promise.reject(
        new QmpDisconnectedError(`QMP monitor is not connected; cannot run '${command}'`, { command }),
      );
    }
    const id = `${this.#idPrefix}-${++this.#nextId}`;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late reply is dropped by #dispatch because the id is gone.
        this.#pending.delete(id);
        reject(new QmpTimeoutError(command, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { command, resolve, reject, timer });
      socket.write(
        encodeCommand(
          args === undefined ? { execute: command, id } : { execute: command, arguments: args, id },
        ),
      );
    });
  }

  #dispatch(message: QmpMessage): void {
    switch (message.kind) {
      case "greeting": {
        const waiter = this.#greetingWaiter;
        this.#greetingWaiter = undefined;
        if (waiter) waiter.resolve(message.greeting);
        else if (this.#state === "connecting" || this.#state === "reconnecting")
          this.#earlyGreeting = message.greeting;
        else this.#emit("stray", message);
        return;
      }
      case "return":
      case "error": {
        const pending = typeof message.id === "string" ? this.#pending.get(message.id) : undefined;
        if (!pending || typeof message.id !== "string") {
          this.#emit("stray", message);
          return;
        }
        this.#pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.kind === "return") pending.resolve(message.value);
        else pending.reject(new QmpCommandError(pending.command, message.error));
        return;
      }
      case "event":
        this.#emit("event", message.event);
        this.#emit(message.event.event, message.event);
        return;
      case "invalid":
        this.#emit("stray", message);
        return;
    }
  }

  #emit(type: string, payload: unknown): void {
    try {
      this.#emitter.emit(type, payload);
    } catch (err) {
      // A throwing listener must not abort dispatch of the rest of the chunk;
      // rethrow outside our stack so it still surfaces as an uncaught error.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #rejectAll(err: QmpDisconnectedError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(
        new QmpDisconnectedError(`${err.message} while waiting for reply to '${p.command}'`, {
          command: p.command,
          inFlight: true,
          cause: err.cause,
        }),
      );
    }
    const waiter = this.#greetingWaiter;
    this.#greetingWaiter = undefined;
    waiter?.reject(err);
  }

  #onClose(socket: net.Socket, error: Error | undefined): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    const wasReady = this.#state === "ready";
    const requested = this.#state === "closed";
    this.#rejectAll(
      new QmpDisconnectedError(requested ? "QMP monitor closed" : "QMP connection closed", { cause: error }),
    );
    // Handshake failures are reported by connect()/the reconnect loop, not as a disconnect.
    if (!wasReady && !requested) return;
    const willReconnect = !requested && this.#reconnect !== undefined;
    if (!requested) this.#state = willReconnect ? "reconnecting" : "idle";
    this.#emit("disconnect", { error, requested, willReconnect } satisfies QmpDisconnectInfo);
    if (willReconnect) this.#scheduleReconnect(0, error);
  }

  #scheduleReconnect(attempt: number, lastError: Error | undefined): void {
    const rc = this.#reconnect;
    if (!rc || this.#state !== "reconnecting") return;
    if (attempt >= rc.maxAttempts) {
      this.#state = "idle";
      this.#emit("reconnect-failed", lastError ?? new QmpDisconnectedError("QMP reconnect failed"));
      return;
    }
    const delay = Math.min(rc.initialDelayMs * 2 ** attempt, rc.maxDelayMs);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state !== "reconnecting") return;
      // Failures are handled inside; this promise only reports them to connect() callers.
      this.#reconnectAttempt(attempt).catch(() => undefined);
    }, delay);
    // Referenced on purpose: reconnecting is work the owner asked for; close() clears it.
  }

  #reconnectAttempt(attempt: number): Promise<QmpGreeting> {
    return this.#startSession().then(
      (greeting) => {
        this.#emit("reconnect", greeting);
        return greeting;
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        if (this.#state !== "closed") {
          this.#state = "reconnecting";
          this.#scheduleReconnect(attempt + 1, error);
        }
        throw error;
      },
    );
  }
}
