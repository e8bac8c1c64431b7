/** Typed client of the kvmgr API, over the daemon's unix socket or HTTP with a token. */
import { request, type IncomingMessage } from "node:http";
import { KvmgrError, isErrorCode, type ApiErrorBody } from "../api/errors.js";
import type { DoctorReport, HostInfo, HostStorage } from "../api/host.js";
import type { Lease, Network, NetworkCreate, NetworkEdit, PortForwardCreate, PortForwardView } from "../api/network.js";
import type { OsInfo, Snapshot, Vm, VmClone, VmCreate, VmEdit, VmRename } from "../api/vm.js";
import type { VmStats } from "../api/stats.js";
import type { AgentShutdownRequest, ExecRequest, ExecResult } from "../api/vm-io.js";
import type WebSocket from "ws";
import { EventStream, eventsPath, openWebSocket, type EventFilterOptions } from "./ws.js";

export interface ClientOptions {
  socketPath?: string;
  baseUrl?: string;
  token?: string;
}

/** The KvmgrError an API error response carries. */
function errorOf(status: number, text: string): KvmgrError {
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    return new KvmgrError("KVMGR_ERR_INTERNAL", `The daemon sent a response that is not JSON (HTTP ${status}).`);
  }
  const e = (data as Partial<ApiErrorBody> | null)?.error;
  const code = isErrorCode(e?.code) ? e.code : "KVMGR_ERR_INTERNAL";
  return new KvmgrError(code, e?.message ?? `HTTP ${status}`, {
    ...(e?.field !== undefined ? { field: e.field } : {}),
    ...(e?.details !== undefined ? { details: e.details } : {}),
  });
}

export class KvmgrClient {
  constructor(private readonly opts: ClientOptions) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    if (res.status === 204) return undefined as T;
    let data: unknown;
    try {
      data = JSON.parse(res.text);
    } catch {
      throw new KvmgrError("KVMGR_ERR_INTERNAL", `The daemon sent a response that is not JSON (HTTP ${res.status}).`);
    }
    if (res.status >= 400) throw errorOf(res.status, res.text);
    return data as T;
  }

  /** One HTTP exchange: status and body text. */
  async raw(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = this.opts.baseUrl ? new URL(path, this.opts.baseUrl) : null;
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          method,
          path,
          // One request, one connection: a pooled idle connection would hold up a server's close.
          agent: false,
          ...(url ? { host: url.hostname, port: url.port } : { socketPath: this.opts.socketPath ?? "" }),
          headers: {
            ...(payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
            ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
          },
        },
        (r) => {
          let text = "";
          r.setEncoding("utf8");
          r.on("data", (d: string) => (text += d));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
          const where = this.opts.socketPath ?? this.opts.baseUrl ?? "";
          reject(new KvmgrError("KVMGR_ERR_DAEMON_UNREACHABLE", `No kvmgr daemon answers on ${where}; start one with 'kvmgr daemon'.`));
        } else reject(e);
      });
      req.end(payload);
    });
    return res;
  }

  /**
   * A streaming GET: resolves with the response once its headers arrive (status 200), so the
   * caller reads the body as it comes; an error status is thrown as a KvmgrError.
   */
  stream(path: string): Promise<IncomingMessage> {
    const url = this.opts.baseUrl ? new URL(path, this.opts.baseUrl) : null;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          method: "GET",
          path,
          ...(url ? { host: url.hostname, port: url.port } : { socketPath: this.opts.socketPath ?? "" }),
          headers: this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {},
        },
        (res) => {
          if ((res.statusCode ?? 0) < 400) return resolve(res);
          let text = "";
          res.setEncoding("utf8").on("data", (d: string) => (text += d));
          res.on("end", () => reject(errorOf(res.statusCode ?? 0, text)));
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => reject(this.unreachable(e)));
      req.end();
    });
  }

  private unreachable(e: NodeJS.ErrnoException): Error {
    if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
      return new KvmgrError("KVMGR_ERR_DAEMON_UNREACHABLE", `No kvmgr daemon answers on ${this.opts.socketPath ?? this.opts.baseUrl ?? ""}; start one with 'kvmgr daemon'.`);
    }
    return e;
  }

  private n = (name: string) => encodeURIComponent(name);

  /** Packets of a network (or a VM's NIC on it, or its uplink) as they pass. */
  capture = (name: string, o: { vm?: string; uplink?: boolean; count?: number; filter?: string; format: "pcap" | "text" }) => {
    const q = new URLSearchParams({ format: o.format });
    if (o.vm !== undefined) q.set("vm", o.vm);
    if (o.uplink === true) q.set("uplink", "true");
    if (o.count !== undefined) q.set("count", String(o.count));
    if (o.filter !== undefined) q.set("filter", o.filter);
    return this.stream(`/v1/networks/${this.n(name)}/capture?${q.toString()}`);
  };

  listNetworks = () => this.call<Network[]>("GET", "/v1/networks");
  createNetwork = (body: NetworkCreate) => this.call<Network>("POST", "/v1/networks", body);
  editNetwork = (name: string, body: NetworkEdit) => this.call<Network>("PATCH", `/v1/networks/${this.n(name)}`, body);
  showNetwork = (name: string) => this.call<Network>("GET", `/v1/networks/${this.n(name)}`);
  leases = (name: string) => this.call<Lease[]>("GET", `/v1/networks/${this.n(name)}/leases`);
  startNetwork = (name: string) => this.call<Network>("POST", `/v1/networks/${this.n(name)}/start`);
  stopNetwork = (name: string) => this.call<Network>("POST", `/v1/networks/${this.n(name)}/stop`);
  deleteNetwork = (name: string) => this.call<void>("DELETE", `/v1/networks/${this.n(name)}`);
  listForwards = (name: string) => this.call<PortForwardView[]>("GET", `/v1/networks/${this.n(name)}/forwards`);
  addForward = (name: string, body: PortForwardCreate) => this.call<Network>("POST", `/v1/networks/${this.n(name)}/forwards`, body);
  removeForward = (name: string, proto: string, hostPort: number) =>
    this.call<Network>("DELETE", `/v1/networks/${this.n(name)}/forwards/${this.n(proto)}/${hostPort}`);

  listVms = () => this.call<Vm[]>("GET", "/v1/vms");
  createVm = (body: VmCreate) => this.call<Vm>("POST", "/v1/vms", body);
  showVm = (name: string) => this.call<Vm>("GET", `/v1/vms/${this.n(name)}`);
  startVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/start`);
  stopVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/stop`);
  deleteVm = (name: string, force = false, keepDisks = false) => {
    const q = [force ? "force=true" : "", keepDisks ? "keepDisks=true" : ""].filter((x) => x !== "").join("&");
    return this.call<void>("DELETE", `/v1/vms/${this.n(name)}${q ? `?${q}` : ""}`);
  };
  editVm = (name: string, body: VmEdit) => this.call<Vm>("PATCH", `/v1/vms/${this.n(name)}`, body);
  shutdownVm = (name: string, timeoutS?: number) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/shutdown${timeoutS === undefined ? "" : `?timeout=${timeoutS}`}`);
  /** The guest's own reboot (power button, then restart), waited for; `force` is a hard reset. */
  rebootVm = (name: string, opts: { force?: boolean; timeoutS?: number } = {}) => {
    const q = new URLSearchParams({ ...(opts.force ? { force: "true" } : {}), ...(opts.timeoutS === undefined ? {} : { timeout: String(opts.timeoutS) }) }).toString();
    return this.call<Vm>("POST", `/v1/vms/${this.n(name)}/reboot${q ? `?${q}` : ""}`);
  };
  pauseVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/pause`);
  resumeVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/resume`);
  renameVm = (name: string, newName: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/rename`, { name: newName } satisfies VmRename);
  cloneVm = (name: string, body: VmClone) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/clone`, body);
  resizeDisk = (name: string, index: number, sizeBytes: number, force = false) =>
    this.call<Vm>("POST", `/v1/vms/${this.n(name)}/disks/${index}/resize`, { sizeBytes, ...(force ? { force } : {}) });
  listSnapshots = (name: string) => this.call<Snapshot[]>("GET", `/v1/vms/${this.n(name)}/snapshots`);
  createSnapshot = (name: string, snapshot: string) => this.call<Snapshot>("POST", `/v1/vms/${this.n(name)}/snapshots`, { name: snapshot });
  revertSnapshot = (name: string, snapshot: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/snapshots/${this.n(snapshot)}/revert`);
  deleteSnapshot = (name: string, snapshot: string) => this.call<void>("DELETE", `/v1/vms/${this.n(name)}/snapshots/${this.n(snapshot)}`);
  listOs = (search?: string) => this.call<OsInfo[]>("GET", `/v1/os${search ? `?search=${encodeURIComponent(search)}` : ""}`);

  moveNic = (name: string, mac: string, network: string) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/nics/move`, { mac, network });

  host = () => this.call<HostInfo>("GET", "/v1/host");
  hostStorage = () => this.call<HostStorage>("GET", "/v1/host/storage");
  doctor = (fix: boolean) => (fix ? this.call<DoctorReport>("POST", "/v1/host/doctor/fix") : this.call<DoctorReport>("GET", "/v1/host/doctor"));

  /** Runs a command in the guest through its agent. */
  exec = (name: string, body: ExecRequest) => this.call<ExecResult>("POST", `/v1/vms/${this.n(name)}/exec`, body);
  /** Asks the guest agent to power the guest off (reboot, halt); the VM is returned as it is now. */
  agentShutdown = (name: string, body: AgentShutdownRequest = {}) => this.call<Vm>("POST", `/v1/vms/${this.n(name)}/agent/shutdown`, body);
  /** Stats samples newer than `since` (ms since the epoch), oldest first. */
  stats = (name: string, since?: number) => this.call<VmStats>("GET", `/v1/vms/${this.n(name)}/stats${since === undefined ? "" : `?since=${since}`}`);
  /** The Prometheus text of /metrics. */
  metrics = async (): Promise<string> => {
    const r = await this.raw("GET", "/metrics");
    if (r.status !== 200) throw new KvmgrError(r.status === 401 ? "KVMGR_ERR_AUTH" : "KVMGR_ERR_INTERNAL", `GET /metrics answered HTTP ${r.status}.`);
    return r.text;
  };

  /** The live event stream, optionally filtered; resolves once subscribed. */
  events = async (filter: EventFilterOptions = {}): Promise<EventStream> => new EventStream(await openWebSocket(this.opts, eventsPath(filter)));
  /**
   * The serial console: binary frames both ways; the scrollback comes first unless
   * `scrollback: false`. Resolves paused: attach a 'message' listener, then `resume()`.
   */
  serial = (name: string, o: { scrollback?: boolean } = {}): Promise<WebSocket> =>
    openWebSocket(this.opts, `/v1/vms/${this.n(name)}/serial${o.scrollback === false ? "?scrollback=0" : ""}`);
  /**
   * Packets as JSON frames ({type: "packet", time, length, src, dst, proto, info, raw}, after
   * {type: "start", iface}); resolves paused (see `serial`).
   */
  captureSocket = (name: string, o: { vm?: string; uplink?: boolean; count?: number; filter?: string } = {}): Promise<WebSocket> => {
    const q = new URLSearchParams();
    if (o.vm !== undefined) q.set("vm", o.vm);
    if (o.uplink === true) q.set("uplink", "true");
    if (o.count !== undefined) q.set("count", String(o.count));
    if (o.filter !== undefined) q.set("filter", o.filter);
    return openWebSocket(this.opts, `/v1/networks/${this.n(name)}/capture${q.size > 0 ? `?${q.toString()}` : ""}`);
  };
  /** Raw RFB to the VM's VNC server; resolves paused (see `serial`). */
  /** The serial log QEMU wrote for the VM (`previous`: the run before), as a byte stream. */
  serialLog = (name: string, o: { previous?: boolean } = {}): Promise<IncomingMessage> =>
    this.stream(`/v1/vms/${this.n(name)}/serial/log${o.previous ? "?previous=1" : ""}`);
  vnc = (name: string): Promise<WebSocket> => openWebSocket(this.opts, `/v1/vms/${this.n(name)}/vnc`);
}
