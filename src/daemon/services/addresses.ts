/**
 * Where a VM's addresses come from: our DHCP leases (read fresh), the guest agent and the
 * host's neighbour table (both polled in the background every few seconds, so that showing
 * a VM never waits on a guest). Works as well for NICs on bridges whose DHCP is not ours.
 */
import type { NicAddress } from "../../api/vm-io.js";
import { mergeNicAddresses, type AgentAddress, type NeighEntry } from "../../core/model/addresses.js";
import { readNeighbours } from "../../host/iproute/neigh.js";
import type { DaemonContext } from "../context.js";
import type { GuestAgents } from "./agent.js";
import type { VmRuntime } from "./vm-runtime.js";

const REFRESH_MS = 3000;
const AGENT_TIMEOUT_MS = 2000;
/** A guest whose agent stayed silent this often is asked only every BACKOFF_MS. */
const SILENT_LIMIT = 5;
const BACKOFF_MS = 30_000;

export class AddressBook {
  private neigh: NeighEntry[] = [];
  private readonly agent = new Map<string, AgentAddress[]>();
  /** per VM: agent polls that failed in a row, and when the last was tried */
  private readonly silent = new Map<string, { failures: number; lastTry: number }>();
  private readonly timer: NodeJS.Timeout;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly rt: VmRuntime,
    private readonly agents: GuestAgents,
  ) {
    ctx.events.subscribe((e) => {
      if ((e.type === "vm.state" && (e.state === "shutoff" || e.state === "crashed")) || e.type === "vm.deleted") {
        this.agent.delete(e.vm);
        this.silent.delete(e.vm);
      }
    });
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  /** A running VM's NIC: its addresses from every witness (leases are the caller's, read fresh). */
  nicAddresses(vm: string, mac: string, leaseIps: readonly string[], link: string | null): NicAddress[] {
    return mergeNicAddresses(mac, { leases: leaseIps, agent: this.agent.get(vm) ?? [], neigh: this.neigh, ...(link !== null ? { link } : {}) });
  }

  /** Polls the neighbour table and every running VM's agent; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const running = this.rt.allRunning();
    if (running.length === 0) {
      this.neigh = [];
      return;
    }
    const [neigh] = await Promise.all([
      readNeighbours(this.ctx.run, this.ctx.ns).catch(() => this.neigh),
      ...running.map(async (r) => {
        const quiet = this.silent.get(r.name);
        const now = Date.now();
        // A guest without an agent (yet, or at all) must not keep its agent connection busy.
        if (quiet && quiet.failures >= SILENT_LIMIT && now - quiet.lastTry < BACKOFF_MS) return;
        try {
          const ifaces = await this.agents.interfaces(r.name, AGENT_TIMEOUT_MS);
          this.silent.delete(r.name);
          this.agent.set(
            r.name,
            ifaces.flatMap((i) => i.ips.map((a) => ({ mac: i.mac, address: a.address, prefix: a.prefix, family: a.family }))),
          );
        } catch {
          // No agent (yet): what it said last stays until the VM stops.
          this.silent.set(r.name, { failures: (quiet?.failures ?? 0) + 1, lastTry: now });
        }
      }),
    ]);
    this.neigh = neigh;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
