/**
 * In-process stand-ins for QEMU's QMP monitor and for qemu-ga, listening on
 * unix sockets, so the clients in host/qemu can be tested without a VM.
 *
 * They mimic the behaviour clients depend on: QMP's greeting and mandatory
 * capabilities negotiation (with QEMU's error classes and texts), events only
 * after negotiation, `\r\n` line endings; qemu-ga's silent start, 0xFF-framed
 * `guest-sync-delimited` and the `guest-exec` / `guest-exec-status` pair.
 * Hooks let tests reorder or withhold replies, inject garbage, and drop
 * connections.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { JsonLineFramer, QGA_SENTINEL, type QmpGreeting } from "../host/qemu/qmp-protocol.js";
import { untilTrue } from "./until.js";

/** Return this from a handler to send no reply at all (e.g. to provoke a client timeout). */
export const NO_REPLY: unique symbol = Symbol("NO_REPLY");

/** Throw from a handler to answer with `{"error": {class, desc}}`. */
export class FakeQmpError extends Error {
  readonly errorClass: string;
  readonly desc: string;

  constructor(errorClass: string, desc: string) {
    super(`${errorClass}: ${desc}`);
    this.name = "FakeQmpError";
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

/** A command as the fake received it. */
export interface ReceivedCommand {
  execute: string;
  arguments: Record<string, unknown> | undefined;
  id: unknown;
  /** Which accepted connection it came on (1-based, in accept order). */
  connectionId: number;
}

/** One client connection, as seen by handlers. */
export interface FakeConnection {
  readonly id: number;
  /** Write bytes verbatim (to test framing or garbage). */
  sendRaw(data: string | Uint8Array): void;
  /** Close from the server side, flushing what was written. */
  end(): void;
  /** Close abruptly. */
  destroy(): void;
}

/** What a QMP handler gets. */
export interface FakeQmpCall {
  command: string;
  args: Record<string, unknown>;
  id: unknown;
  connection: FakeConnection;
  server: FakeQmpServer;
  /** Run `fn` right after the reply has been written (e.g. `quit` emitting SHUTDOWN, then hanging up). */
  afterReply: (fn: () => void) => void;
}

/**
 * Produces the `return` value (or a promise of it, so replies can be made to
 * arrive out of order), `NO_REPLY`, or throws {@link FakeQmpError}.
 */
export type FakeQmpHandler = (call: FakeQmpCall) => unknown;

/** Options for {@link FakeQmpServer.start}. */
export interface FakeQmpServerOptions {
  socketPath: string;
  greeting?: QmpGreeting;
  /** Override or add command handlers. */
  handlers?: Record<string, FakeQmpHandler>;
  /** Initial `query-status` state (default `prelaunch`, as with `-S`). */
  status?: string;
}


function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function now(): { seconds: number; microseconds: number } {
  const ms = Date.now();
  return { seconds: Math.floor(ms / 1000), microseconds: (ms % 1000) * 1000 };
}

const DEFAULT_GREETING: QmpGreeting = {
  QMP: { version: { qemu: { major: 8, minor: 2, micro: 2 }, package: "fake" }, capabilities: ["oob"] },
};

/** Shared socket plumbing of both fakes. */
abstract class FakeSocketServer {
  readonly socketPath: string;
  /** Every command received, in arrival order, including pre-negotiation ones. */
  readonly received: ReceivedCommand[] = [];
  protected readonly server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #accepted = 0;

  protected constructor(socketPath: string) {
    this.socketPath = socketPath;
    this.server = net.createServer((socket) => {
      const id = ++this.#accepted;
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      // Clients may vanish mid-write; that is their business, not a test failure.
      socket.on("error", () => undefined);
      this.onConnection(socket, this.#wrap(socket, id));
    });
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Connections accepted since start. */
  get acceptedCount(): number {
    return this.#accepted;
  }

  protected abstract onConnection(socket: net.Socket, connection: FakeConnection): void;

  protected async listen(): Promise<void> {
    fs.rmSync(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  protected sockets(): net.Socket[] {
    return [...this.#sockets];
  }

  /** Write bytes verbatim to every open connection. */
  sendRaw(data: string | Uint8Array): void {
    for (const s of this.#sockets) s.write(data);
  }

  /** Abruptly close every client connection (the listener stays up). */
  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  /** Resolve once `count` commands named `execute` have been received. */
  async waitForCommand(
    execute: string,
    options: { count?: number; timeoutMs?: number } = {},
  ): Promise<ReceivedCommand> {
    const count = options.count ?? 1;
    const matching = (): ReceivedCommand[] => this.received.filter((c) => c.execute === execute);
    await untilTrue(`the fake server to receive '${execute}' x${count}`, options.timeoutMs ?? 2_000, () => matching().length >= count);
    const hit = matching()[count - 1];
    if (!hit) throw new Error("unreachable");
    return hit;
  }

  /** Stop listening, drop clients, remove the socket file. */
  async close(): Promise<void> {
    this.dropConnections();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  #wrap(socket: net.Socket, id: number): FakeConnection {
    return {
      id,
      sendRaw: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
      end: () => socket.end(),
      destroy: () => socket.destroy(),
    };
  }
}

/** Fake QMP monitor. Default handlers model a tiny VM state machine. */
export class FakeQmpServer extends FakeSocketServer {
  /** Run state reported by `query-status`; default handlers update it. */
  status: string;
  readonly #greeting: QmpGreeting;
  readonly #handlers = new Map<string, FakeQmpHandler>();
  readonly #negotiated = new Set<net.Socket>();

  private constructor(options: FakeQmpServerOptions) {
    super(options.socketPath);
    this.#greeting = options.greeting ?? DEFAULT_GREETING;
    this.status = options.status ?? "prelaunch";
    this.#installDefaults();
    for (const [name, h] of Object.entries(options.handlers ?? {})) this.#handlers.set(name, h);
  }

  /** Create and start listening. */
  static async start(options: FakeQmpServerOptions): Promise<FakeQmpServer> {
    const server = new FakeQmpServer(options);
    await server.listen();
    return server;
  }

  /** Set (or replace) the handler for `command`. */
  handle(command: string, handler: FakeQmpHandler): this {
    this.#handlers.set(command, handler);
    return this;
  }

  /** Send an event to every negotiated connection, as QEMU does. */
  emitEvent(event: string, data?: Record<string, unknown>): void {
    const msg: Record<string, unknown> = { event, timestamp: now() };
    if (data !== undefined) msg["data"] = data;
    const line = `${JSON.stringify(msg)}\r\n`;
    for (const s of this.sockets()) if (this.#negotiated.has(s) && !s.destroyed) s.write(line);
  }

  protected onConnection(socket: net.Socket, connection: FakeConnection): void {
    socket.on("close", () => this.#negotiated.delete(socket));
    socket.write(`${JSON.stringify(this.#greeting)}\r\n`);
    const framer = new JsonLineFramer();
    socket.on("data", (chunk: Buffer) => {
      for (const line of framer.push(chunk)) this.#onLine(socket, connection, line);
    });
  }

  #reply(socket: net.Socket, id: unknown, body: Record<string, unknown>): void {
    if (socket.destroyed) return;
    const msg = id === undefined ? body : { ...body, id };
    socket.write(`${JSON.stringify(msg)}\r\n`);
  }

  #error(socket: net.Socket, id: unknown, errorClass: string, desc: string): void {
    this.#reply(socket, id, { error: { class: errorClass, desc } });
  }

  #onLine(socket: net.Socket, connection: FakeConnection, line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.#error(socket, undefined, "GenericError", "JSON parse error, invalid input");
      return;
    }
    if (!isRecord(value)) {
      this.#error(socket, undefined, "GenericError", "QMP input must be a JSON object");
      return;
    }
    const id = value["id"];
    const execute = value["execute"];
    if (typeof execute !== "string") {
      this.#error(socket, id, "GenericError", "QMP input lacks member 'execute'");
      return;
    }
    const rawArgs = value["arguments"];
    const args = isRecord(rawArgs) ? rawArgs : undefined;
    this.received.push({ execute, arguments: args, id, connectionId: connection.id });

    if (!this.#negotiated.has(socket)) {
      if (execute === "qmp_capabilities") {
        this.#negotiated.add(socket);
        this.#reply(socket, id, { return: {} });
      } else {
        this.#error(
          socket,
          id,
          "CommandNotFound",
          "Expecting capabilities negotiation with 'qmp_capabilities'",
        );
      }
      return;
    }
    if (execute === "qmp_capabilities") {
      this.#error(
        socket,
        id,
        "CommandNotFound",
        "Capabilities negotiation is already complete, command ignored",
      );
      return;
    }
    const handler = this.#handlers.get(execute);
    if (!handler) {
      this.#error(socket, id, "CommandNotFound", `The command ${execute} has not been found`);
      return;
    }
    const after: (() => void)[] = [];
    const call: FakeQmpCall = {
      command: execute,
      args: args ?? {},
      id,
      connection,
      server: this,
      afterReply: (fn) => after.push(fn),
    };
    Promise.resolve()
      .then(() => handler(call))
      .then(
        (result) => {
          if (result === NO_REPLY) return;
          this.#reply(socket, id, { return: result ?? {} });
        },
        (err: unknown) => {
          if (err instanceof FakeQmpError) this.#error(socket, id, err.errorClass, err.desc);
          else this.#error(socket, id, "GenericError", err instanceof Error ? err.message : String(err));
        },
      )
      .then(() => {
        for (const fn of after) fn();
      })
      .catch(() => undefined);
  }

  #installDefaults(): void {
    this.#handlers.set("query-status", () => ({
      status: this.status,
      singlestep: false,
      running: this.status === "running",
    }));
    // QEMU raises STOP/RESUME before answering, so clients see the event first.
    this.#handlers.set("stop", ({ server }) => {
      if (server.status === "running") {
        server.status = "paused";
        server.emitEvent("STOP");
      }
      return {};
    });
    this.#handlers.set("cont", ({ server }) => {
      if (server.status !== "running") {
        server.status = "running";
        server.emitEvent("RESUME");
      }
      return {};
    });
    this.#handlers.set("system_reset", ({ server }) => {
      server.emitEvent("RESET", { guest: false, reason: "host-qmp-system-reset" });
      return {};
    });
    this.#handlers.set("system_powerdown", ({ server }) => {
      server.emitEvent("POWERDOWN");
      return {};
    });
    // QEMU answers quit, announces SHUTDOWN, then exits: every client sees EOF.
    this.#handlers.set("quit", ({ server, afterReply }) => {
      afterReply(() => {
        server.status = "shutdown";
        server.emitEvent("SHUTDOWN", { guest: false, reason: "host-qmp-quit" });
        for (const s of server.sockets()) s.end();
      });
      return {};
    });
  }
}

/** How a fake `guest-exec` process behaves. */
export interface FakeGuestExecSpec {
  exitCode?: number;
  /** Killed by this signal instead of exiting (exitCode is then omitted). */
  signal?: number;
  stdout?: string | Uint8Array;
  stderr?: string | Uint8Array;
  /** How many `guest-exec-status` polls answer `exited: false` first (default 0). */
  pollsBeforeExit?: number;
  truncated?: boolean;
}

/** Decides what a `guest-exec` does; `input` is the decoded stdin, if any. */
export type FakeGuestExecHandler = (
  path: string,
  args: string[],
  input: Buffer | undefined,
) => FakeGuestExecSpec;

/** A qemu-ga handler: return the `return` value, `NO_REPLY`, or throw {@link FakeQmpError}. */
export type FakeGuestAgentHandler = (args: Record<string, unknown>) => unknown;

/** Options for {@link FakeGuestAgentServer.start}. */
export interface FakeGuestAgentOptions {
  socketPath: string;
  exec?: FakeGuestExecHandler;
  /** Raw `guest-network-get-interfaces` return value (qemu-ga's shape). */
  interfaces?: unknown[];
  /** Written as soon as a client connects, like output left over from an earlier client. */
  staleOnConnect?: string | Uint8Array;
  /** Written just before the 0xFF of every sync reply. */
  beforeSyncReply?: string | Uint8Array;
  /** Start as an absent agent: read everything, answer nothing. */
  silent?: boolean;
}

/** Fake qemu-ga. */
export class FakeGuestAgentServer extends FakeSocketServer {
  /** While true, requests are recorded but never answered (no agent in the guest). */
  silent: boolean;
  /** See {@link FakeGuestAgentOptions.beforeSyncReply}. */
  beforeSyncReply: string | Uint8Array | undefined;
  readonly #staleOnConnect: string | Uint8Array | undefined;
  readonly #handlers = new Map<string, FakeGuestAgentHandler>();
  readonly #procs = new Map<number, { spec: FakeGuestExecSpec; polls: number }>();
  #nextPid = 1000;
  #execHandler: FakeGuestExecHandler;
  #interfaces: unknown[];

  private constructor(options: FakeGuestAgentOptions) {
    super(options.socketPath);
    this.silent = options.silent ?? false;
    this.beforeSyncReply = options.beforeSyncReply;
    this.#staleOnConnect = options.staleOnConnect;
    this.#execHandler = options.exec ?? (() => ({ exitCode: 0 }));
    this.#interfaces = options.interfaces ?? [];
    this.#installDefaults();
  }

  /** Create and start listening. */
  static async start(options: FakeGuestAgentOptions): Promise<FakeGuestAgentServer> {
    const server = new FakeGuestAgentServer(options);
    await server.listen();
    return server;
  }

  /** Set (or replace) the handler for `command`. */
  handle(command: string, handler: FakeGuestAgentHandler): this {
    this.#handlers.set(command, handler);
    return this;
  }

  /** Replace the `guest-exec` behaviour. */
  setExec(handler: FakeGuestExecHandler): this {
    this.#execHandler = handler;
    return this;
  }

  /** Replace the interface list. */
  setInterfaces(interfaces: unknown[]): this {
    this.#interfaces = interfaces;
    return this;
  }

  protected onConnection(socket: net.Socket, connection: FakeConnection): void {
    if (this.#staleOnConnect !== undefined) socket.write(this.#staleOnConnect);
    // qemu-ga treats 0xFF as "reset the parser", which the sentinel framer does.
    const framer = new JsonLineFramer({ sentinel: QGA_SENTINEL });
    socket.on("data", (chunk: Buffer) => {
      for (const line of framer.push(chunk)) this.#onLine(socket, connection, line);
    });
  }

  #write(socket: net.Socket, body: Record<string, unknown>): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(body)}\n`);
  }

  #onLine(socket: net.Socket, connection: FakeConnection, line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (!this.silent) this.#write(socket, { error: { class: "GenericError", desc: "JSON parse error" } });
      return;
    }
    if (!isRecord(value) || typeof value["execute"] !== "string") return;
    const execute = value["execute"];
    const rawArgs = value["arguments"];
    const args = isRecord(rawArgs) ? rawArgs : {};
    this.received.push({
      execute,
      arguments: isRecord(rawArgs) ? rawArgs : undefined,
      id: value["id"],
      connectionId: connection.id,
    });
    if (this.silent) return;

    if (execute === "guest-sync-delimited") {
      if (this.beforeSyncReply !== undefined) socket.write(this.beforeSyncReply);
      socket.write(
        Buffer.concat([
          Buffer.from([QGA_SENTINEL]),
          Buffer.from(`${JSON.stringify({ return: args["id"] })}\n`),
        ]),
      );
      return;
    }
    const handler = this.#handlers.get(execute);
    if (!handler) {
      this.#write(socket, {
        error: { class: "CommandNotFound", desc: `The command ${execute} has not been found` },
      });
      return;
    }
    try {
      const result = handler(args);
      if (result !== NO_REPLY) this.#write(socket, { return: result ?? {} });
    } catch (err) {
      if (err instanceof FakeQmpError)
        this.#write(socket, { error: { class: err.errorClass, desc: err.desc } });
      else
        this.#write(socket, {
          error: { class: "GenericError", desc: err instanceof Error ? err.message : String(err) },
        });
    }
  }

  #installDefaults(): void {
    this.#handlers.set("guest-ping", () => ({}));
    this.#handlers.set("guest-sync", (args) => args["id"]);
    // Success means the guest is going down: qemu-ga sends nothing back.
    this.#handlers.set("guest-shutdown", () => NO_REPLY);
    this.#handlers.set("guest-network-get-interfaces", () => this.#interfaces);
    this.#handlers.set("guest-exec", (args) => {
      const path = args["path"];
      if (typeof path !== "string") throw new FakeQmpError("GenericError", "Parameter 'path' is missing");
      const argv = Array.isArray(args["arg"])
        ? args["arg"].filter((a): a is string => typeof a === "string")
        : [];
      const inputData = args["input-data"];
      const input = typeof inputData === "string" ? Buffer.from(inputData, "base64") : undefined;
      const spec = this.#execHandler(path, argv, input);
      const pid = this.#nextPid++;
      this.#procs.set(pid, { spec, polls: spec.pollsBeforeExit ?? 0 });
      return { pid };
    });
    this.#handlers.set("guest-exec-status", (args) => {
      const pid = args["pid"];
      const proc = typeof pid === "number" ? this.#procs.get(pid) : undefined;
      if (!proc || typeof pid !== "number") throw new FakeQmpError("GenericError", `Invalid parameter 'pid'`);
      if (proc.polls > 0) {
        proc.polls--;
        return { exited: false };
      }
      this.#procs.delete(pid);
      const { spec } = proc;
      const status: Record<string, unknown> = { exited: true };
      if (spec.signal !== undefined) status["signal"] = spec.signal;
      else status["exitcode"] = spec.exitCode ?? 0;
      if (spec.stdout !== undefined) status["out-data"] = Buffer.from(spec.stdout).toString("base64");
      if (spec.stderr !== undefined) status["err-data"] = Buffer.from(spec.stderr).toString("base64");
      if (spec.truncated) status["out-truncated"] = true;
      return status;
    });
  }
}
