/**
 * IPv4 forwarding, per interface (net.ipv4.conf.IF.forwarding): a packet is forwarded when
 * both the interface it comes in on and the one it leaves by forward, so a nat/routed
 * network needs its bridge and its uplink. The value each key had before kvmgr first set it
 * is saved in the store and put back when the last network that needs it stops.
 */
import { forwardingKey, readSysctl, writeSysctl } from "../../host/sysctl.js";
import type { DaemonContext } from "../context.js";

export class Forwarding {
  constructor(private readonly ctx: DaemonContext) {}

  /** Turns forwarding on for `ifaces`, saving first-time previous values. */
  async enable(ifaces: readonly string[]): Promise<void> {
    const saved = new Set(this.ctx.store.listSysctlSaves().map((s) => s.key));
    for (const iface of ifaces) {
      const key = forwardingKey(iface);
      if (!saved.has(key)) {
        const prev = await readSysctl(this.ctx.run, this.ctx.ns, key);
        if (prev === null) throw new Error(`cannot read ${key}`);
        this.ctx.store.putSysctlSave(key, prev);
        saved.add(key);
      }
      await writeSysctl(this.ctx.run, this.ctx.ns, key, "1");
    }
  }

  /**
   * `ifaces` are no longer needed by the network that stops; those that no other active
   * network needs get their saved value back (an interface that is gone needs nothing).
   */
  async release(ifaces: readonly string[], stillNeeded: ReadonlySet<string>): Promise<void> {
    const saves = new Map(this.ctx.store.listSysctlSaves().map((s) => [s.key, s.previous]));
    for (const iface of ifaces) {
      if (stillNeeded.has(iface)) continue;
      const key = forwardingKey(iface);
      const prev = saves.get(key);
      if (prev === undefined) continue;
      if ((await readSysctl(this.ctx.run, this.ctx.ns, key)) !== null) await writeSysctl(this.ctx.run, this.ctx.ns, key, prev);
      this.ctx.store.deleteSysctlSave(key);
    }
  }

  /** Interfaces with forwarding on, of those kvmgr manages or saved. */
  async state(ifaces: readonly string[]): Promise<{ iface: string; forwarding: boolean; savedPrevious: string | null }[]> {
    const saves = new Map(this.ctx.store.listSysctlSaves().map((s) => [s.key, s.previous]));
    const out = [];
    for (const iface of ifaces) {
      const v = await readSysctl(this.ctx.run, this.ctx.ns, forwardingKey(iface));
      out.push({ iface, forwarding: v === "1", savedPrevious: saves.get(forwardingKey(iface)) ?? null });
    }
    return out;
  }
}
