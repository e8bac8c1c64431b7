/**
 * Typed client of the kvmgr REST API for the browser: the pattern of src/client/client.ts
 * over fetch, with the daemon's token as a Bearer header. Wire types come from src/api.
 */
import type { ApiErrorBody } from "../../api/errors.js";
import type { HostInfo, HostStorage } from "../../api/host.js";
import type { Lease, Network, NetworkCreate, NetworkEdit } from "../../api/network.js";
import type { Vm } from "../../api/vm.js";
import type { OsInfo, PortForward, PortForwardCreate, VmCreateFull, VmEdit, VmStats } from "./extra-types.js";

/** An API error: the daemon's code, one-sentence message and the field it concerns. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ApiOptions {
  token: string;
  /** called on HTTP 401 (the token is wrong or was rotated): the app logs out */
  onUnauthorized?: () => void;
  baseUrl?: string;
}

const n = encodeURIComponent;

export class Api {
  constructor(readonly opts: ApiOptions) {}

  get token(): string {
    return this.opts.token;
  }

  /** A URL of this daemon, with ws: or wss: for WebSocket paths; the token goes in the query. */
  wsUrl(path: string): string {
    const base = new URL(this.opts.baseUrl ?? window.location.href);
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    const u = new URL(path, base);
    u.searchParams.set("token", this.opts.token);
    return u.toString();
  }

  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      return await fetch(new URL(path, this.opts.baseUrl ?? window.location.href), {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError(0, "KVMGR_ERR_DAEMON_UNREACHABLE", "The kvmgr daemon does not answer.");
    }
  }

  /** The ApiError of an error response (its JSON body: code, sentence, field). */
  private async errorOf(res: Response): Promise<ApiError> {
    const text = await res.text();
    let data: unknown = undefined;
    try {
      data = text === "" ? undefined : JSON.parse(text);
    } catch {
      return new ApiError(res.status, "KVMGR_ERR_INTERNAL", `The daemon sent a response that is not JSON (HTTP ${res.status}).`);
    }
    const e = (data as Partial<ApiErrorBody> | undefined)?.error;
    if (res.status === 401) this.opts.onUnauthorized?.();
    return new ApiError(res.status, e?.code ?? "KVMGR_ERR_INTERNAL", e?.message ?? `HTTP ${res.status}`, e?.field ?? null);
  }

  async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.send(method, path, body, signal);
    if (res.status >= 400) throw await this.errorOf(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return (text === "" ? undefined : JSON.parse(text)) as T;
    } catch {
      throw new ApiError(res.status, "KVMGR_ERR_INTERNAL", `The daemon sent a response that is not JSON (HTTP ${res.status}).`);
    }
  }

  /**
   * A streaming GET: resolves once the headers are in, with the body still coming (read it
   * from `res.body`); aborting `signal` ends the request, and the daemon ends what it streams.
   */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    const res = await this.send("GET", path, undefined, signal);
    if (res.status >= 400) throw await this.errorOf(res);
    return res;
  }

  listNetworks = () => this.call<Network[]>("GET", "/v1/networks");
  showNetwork = (name: string) => this.call<Network>("GET", `/v1/networks/${n(name)}`);
  createNetwork = (body: NetworkCreate) => this.call<Network>("POST", "/v1/networks", body);
  startNetwork = (name: string) => this.call<Network>("POST", `/v1/networks/${n(name)}/start`);
  stopNetwork = (name: string) => this.call<Network>("POST", `/v1/networks/${n(name)}/stop`);
  deleteNetwork = (name: string) => this.call<void>("DELETE", `/v1/networks/${n(name)}`);
  /** Packets on a network's bridge (or a VM's NIC on it, or its uplink) as they pass: tcpdump's lines, or a pcap file. */
  capture = (name: string, o: { vm?: string; uplink?: boolean; filter?: string; format: "text" | "pcap" }, signal: AbortSignal) => {
    const q = new URLSearchParams({ format: o.format });
    if (o.vm) q.set("vm", o.vm);
    if (o.uplink) q.set("uplink", "true");
    if (o.filter) q.set("filter", o.filter);
    return this.stream(`/v1/networks/${n(name)}/capture?${q.toString()}`, signal);
  };
  leases = (name: string) => this.call<Lease[]>("GET", `/v1/networks/${n(name)}/leases`);
  listForwards = (name: string) => this.call<PortForward[]>("GET", `/v1/networks/${n(name)}/forwards`);
  editNetwork = (name: string, body: NetworkEdit) => this.call<Network>("PATCH", `/v1/networks/${n(name)}`, body);
  addForward = (name: string, body: PortForwardCreate) => this.call<Network>("POST", `/v1/networks/${n(name)}/forwards`, body);
  removeForward = (name: string, proto: string, hostPort: number) => this.call<Network>("DELETE", `/v1/networks/${n(name)}/forwards/${n(proto)}/${hostPort}`);

  listVms = () => this.call<Vm[]>("GET", "/v1/vms");
  showVm = (name: string) => this.call<Vm>("GET", `/v1/vms/${n(name)}`);
  createVm = (body: VmCreateFull) => this.call<Vm>("POST", "/v1/vms", body);
  editVm = (name: string, body: VmEdit) => this.call<Vm>("PATCH", `/v1/vms/${n(name)}`, body);
  renameVm = (name: string, newName: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/rename`, { name: newName });
  startVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/start`);
  /** The serial log of the VM's last run, as text (bytes that are not UTF-8 shown as �). */
  serialLog = async (name: string): Promise<string> => {
    const res = await this.send("GET", `/v1/vms/${n(name)}/serial/log`, undefined, undefined);
    if (res.status >= 400) throw await this.errorOf(res);
    return await res.text();
  };
  /** ACPI power button: the guest shuts itself down */
  shutdownVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/shutdown`);
  /** forced power-off */
  stopVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/stop`);
  deleteVm = (name: string, force = false, keepDisks = false) => {
    const q = [force ? "force=true" : "", keepDisks ? "keepDisks=true" : ""].filter((x) => x !== "").join("&");
    return this.call<void>("DELETE", `/v1/vms/${n(name)}${q ? `?${q}` : ""}`);
  };
  /** ACPI reboot: the guest powers off and the same QEMU starts it again (waited for) */
  rebootVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/reboot`);
  pauseVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/pause`);
  resumeVm = (name: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/resume`);
  /** live on a running VM: the tap moves to the other bridge (the seed's brctl delif/addif) */
  moveNic = (name: string, mac: string, network: string) => this.call<Vm>("POST", `/v1/vms/${n(name)}/nics/move`, { mac, network });
  vmStats = (name: string) => this.call<VmStats>("GET", `/v1/vms/${n(name)}/stats`);

  osList = (search: string) => this.call<OsInfo[]>("GET", `/v1/os${search ? `?search=${n(search)}` : ""}`);
  host = () => this.call<HostInfo>("GET", "/v1/host");
  hostStorage = () => this.call<HostStorage>("GET", "/v1/host/storage");
}
