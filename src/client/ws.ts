/** WebSocket side of the API client: the event stream and the console bridges. */
import type WebSocket from "ws";
import { KvmgrError, isErrorCode, type ApiErrorBody } from "../api/errors.js";
import type { KvmgrEventType, Stamped } from "../api/event.js";
import type { ClientOptions } from "./client.js";

/**
 * Opens a WebSocket to an API path; an HTTP refusal (401, 404, 409…) becomes the KvmgrError it
 * carries. It resolves PAUSED: a server may send at once (a console's scrollback), and a
 * message event before the caller's listener is attached would be lost. Attach, then `resume()`
 * (ws's `createWebSocketStream` resumes by itself when read).
 */
export async function openWebSocket(opts: ClientOptions, path: string, protocols: string[] = []): Promise<WebSocket> {
  // Loaded on use: most CLI calls are plain HTTP, and every module loaded is start-up time.
  const { default: WebSocketImpl } = await import("ws");
  let url: string;
  if (opts.baseUrl) {
    const u = new URL(path, opts.baseUrl);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    url = u.href;
  } else {
    url = `ws+unix://${opts.socketPath ?? ""}:${path}`;
  }
  const ws = new WebSocketImpl(url, protocols, {
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.pause();
      ws.off("error", onError);
      resolve(ws);
    });
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
        const where = opts.socketPath ?? opts.baseUrl ?? "";
        reject(new KvmgrError("KVMGR_ERR_DAEMON_UNREACHABLE", `No kvmgr daemon answers on ${where}; start one with 'kvmgr daemon'.`));
      } else reject(e);
    };
    ws.once("error", onError);
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        ws.off("error", onError);
        ws.on("error", () => undefined);
        ws.terminate();
        let body: Partial<ApiErrorBody> = {};
        try {
          body = JSON.parse(text) as Partial<ApiErrorBody>;
        } catch {
          /* not ours */
        }
        const e = body.error;
        reject(new KvmgrError(isErrorCode(e?.code) ? e.code : "KVMGR_ERR_INTERNAL", e?.message ?? `The daemon refused the WebSocket (HTTP ${res.statusCode ?? "?"}).`));
      });
    });
  });
}

export interface EventFilterOptions {
  types?: (KvmgrEventType | `${string}.*`)[];
  vm?: string[];
  network?: string[];
}

export function eventsPath(f: EventFilterOptions = {}): string {
  const q = new URLSearchParams();
  if (f.types?.length) q.set("types", f.types.join(","));
  if (f.vm?.length) q.set("vm", f.vm.join(","));
  if (f.network?.length) q.set("network", f.network.join(","));
  const qs = q.toString();
  return `/v1/events${qs ? `?${qs}` : ""}`;
}

/** A live subscription: iterate it (`for await`), or `next()`; `close()` ends it. */
export class EventStream implements AsyncIterable<Stamped> {
  private readonly queue: Stamped[] = [];
  private waiting: ((r: IteratorResult<Stamped>) => void) | null = null;
  private ended = false;

  constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      let e: unknown;
      try {
        e = JSON.parse(data.toString("utf8"));
      } catch {
        return;
      }
      // An error frame (a refused filter change) has no type; it is not an event.
      if (typeof e !== "object" || e === null || !("type" in e)) return;
      this.push(e as Stamped);
    });
    socket.on("close", () => this.finish());
    socket.on("error", () => this.finish());
    socket.resume();
  }

  private push(e: Stamped): void {
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w({ value: e, done: false });
    } else this.queue.push(e);
  }

  private finish(): void {
    this.ended = true;
    const w = this.waiting;
    this.waiting = null;
    w?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<Stamped>> {
    const e = this.queue.shift();
    if (e) return Promise.resolve({ value: e, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The next event that satisfies `pred`, or an error after `timeoutMs`. */
  async waitFor<E extends Stamped>(pred: (e: Stamped) => e is E, timeoutMs: number): Promise<E>;
  async waitFor(pred: (e: Stamped) => boolean, timeoutMs: number): Promise<Stamped>;
  async waitFor(pred: (e: Stamped) => boolean, timeoutMs: number): Promise<Stamped> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        this.next(),
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), left);
        }),
      ]);
      clearTimeout(timer);
      if (r === "timeout") {
        // The pending next() must not swallow a later event.
        if (this.waiting) this.waiting = null;
        throw new Error(`no matching event within ${timeoutMs} ms`);
      }
      if (r.done) throw new Error("the event stream ended");
      if (pred(r.value)) return r.value;
    }
  }

  /** Changes the filter of this subscription. */
  setFilter(f: EventFilterOptions): void {
    this.socket.send(JSON.stringify(f));
  }

  close(): void {
    this.socket.close();
    this.finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<Stamped> {
    return { next: () => this.next(), return: () => (this.close(), Promise.resolve({ value: undefined, done: true })) };
  }
}
