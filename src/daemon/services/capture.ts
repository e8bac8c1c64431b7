/**
 * Packet capture on a network (its bridge), on one VM's NIC (its tap), or on the network's
 * uplink: the seed's `tcpdump -i isolationbr` / `tcpdump -i eth0` (S12). The result is a
 * stream, so the HTTP API streams it and a WebSocket can relay it the same way.
 */
import { KvmgrError, invalid, notFound } from "../../api/errors.js";
import { observeDefaultRouteDev } from "../../host/iproute/links.js";
import { startCapture, type RunningCapture } from "../../host/tcpdump.js";
import type { DaemonContext } from "../context.js";
import type { VmsService } from "./vms.js";

export interface CaptureRequest {
  network: string;
  vm?: string | undefined;
  /** capture on the network's uplink instead of its bridge */
  uplink?: boolean | undefined;
  count?: number | undefined;
  filter?: string | undefined;
  format: "pcap" | "text";
}

export const MAX_CAPTURE_COUNT = 1_000_000;

export class CaptureService {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly vms: VmsService,
  ) {}

  /** Which interface a request captures on. */
  private async ifaceOf(req: CaptureRequest): Promise<string> {
    const n = this.ctx.store.getNetwork(req.network);
    if (!n) throw notFound("Network", req.network);
    if (req.vm !== undefined && req.uplink === true) throw invalid("vm", "--vm and --uplink capture on different interfaces: give one.");
    if (req.vm !== undefined) {
      const v = this.ctx.store.getVm(req.vm);
      if (!v) throw notFound("VM", req.vm);
      const i = v.spec.nics.findIndex((nic) => nic.network === req.network);
      if (i < 0) throw invalid("vm", `VM '${req.vm}' has no NIC on network '${req.network}'.`);
      const tap = this.vms.isAlive(v) ? v.runtime?.taps[i] : undefined;
      if (tap === undefined) throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${req.vm}' is not running: its NIC has no tap to capture on.`);
      return tap;
    }
    if (req.uplink === true) {
      const spec = n.spec;
      const up = spec.mode === "bridge" ? spec.uplink : spec.mode === "nat" || spec.mode === "routed" ? (spec.uplink ?? (await observeDefaultRouteDev(this.ctx.run, this.ctx.ns))) : null;
      if (up === null) throw invalid("uplink", `Network '${req.network}' (${spec.mode}) has no uplink to capture on.`);
      return up;
    }
    return n.spec.bridge;
  }

  async start(req: CaptureRequest): Promise<RunningCapture & { iface: string }> {
    if (req.count !== undefined && (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_CAPTURE_COUNT)) {
      throw invalid("count", `--count must be a whole number between 1 and ${MAX_CAPTURE_COUNT}.`);
    }
    if (req.filter !== undefined && (req.filter.length > 2048 || /[\0\n]/.test(req.filter))) {
      throw invalid("filter", "A capture filter must be one line of at most 2048 characters.");
    }
    const iface = await this.ifaceOf(req);
    const cap = await startCapture(this.ctx.ns, { iface, count: req.count ?? null, filter: req.filter ?? null, format: req.format });
    this.ctx.log.info({ network: req.network, iface, filter: req.filter, format: req.format }, "capture started");
    return { ...cap, iface };
  }
}
