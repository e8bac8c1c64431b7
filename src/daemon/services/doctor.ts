/**
 * `host doctor`: what on this host stops kvmgr's networks from working, and the fix.
 * Checks, for every network kvmgr keeps up: other programs' firewall chains that drop its
 * traffic; the network itself half gone (bridge, dnsmasq or chains missing); forwarding
 * turned off under a nat/routed network. `--fix` applies what kvmgr can fix.
 */
import type { DoctorFinding, DoctorReport } from "../../api/host.js";
import { analyzeForeignFirewall, commentOf } from "../../core/plan/firewall-doctor.js";
import { observeRuleset } from "../../host/nft/nft.js";
import { observeForwarding } from "../../host/sysctl.js";
import type { DaemonContext } from "../context.js";
import type { Mutex } from "../util/mutex.js";
import type { NetworksService } from "./networks.js";

export class DoctorService {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly lock: Mutex,
    private readonly networks: NetworksService,
  ) {}

  async run(fix: boolean): Promise<DoctorReport> {
    const findings: DoctorFinding[] = [];
    const stored = this.ctx.store.listNetworks().filter((n) => n.active);
    const views = await this.networks.list();

    // The networks themselves: kvmgr keeps them up, the host has lost part of one.
    for (const n of stored) {
      const v = views.find((x) => x.name === n.spec.name);
      if (!v || v.active) continue;
      const f: DoctorFinding = {
        network: n.spec.name,
        problem: `Network ${n.spec.name} should be up, but part of it is missing on the host (bridge ${n.spec.bridge}, its dnsmasq or its firewall chains).`,
        fix: `kvmgr net start ${n.spec.name} (puts back what is missing)`,
        status: "open",
        applied: false,
      };
      if (fix) {
        try {
          await this.networks.start(n.spec.name);
          f.status = "fixed";
          f.applied = true;
        } catch (err) {
          f.problem += ` Restarting it failed: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      findings.push(f);
    }

    // Forwarding under nat/routed networks.
    const fwd = await observeForwarding(this.ctx.run, this.ctx.ns);
    for (const n of stored) {
      const off = (n.runtime?.forwarding ?? []).filter((i) => fwd[i] === false);
      if (off.length === 0) continue;
      const f: DoctorFinding = {
        network: n.spec.name,
        problem: `IPv4 forwarding is off on ${off.join(", ")}: network ${n.spec.name} (${n.spec.mode}) cannot reach beyond the host.`,
        fix: `sysctl -w ${off.map((i) => `net.ipv4.conf.${i}.forwarding=1`).join(" ")}`,
        status: "open",
        applied: false,
      };
      if (fix) {
        await this.lock.run(() => this.networks.forwarding.enable(off));
        f.status = "fixed";
        f.applied = true;
      }
      findings.push(f);
    }

    // Other programs' firewalls.
    const rs = await observeRuleset(this.ctx.run, this.ctx.ns);
    for (const n of this.ctx.store.listNetworks().filter((x) => x.active)) {
      const found = analyzeForeignFirewall(rs, [this.networks.doctorView(n.spec)]);
      let applied = false;
      if (fix && found.some((x) => x.fixable && !x.fixed)) {
        const foreign = await this.lock.run(() => this.networks.letThroughForeign(n.spec));
        this.networks.recordForeign(n.spec.name, foreign);
        applied = true;
      }
      for (const x of found) {
        const rules = x.rules.map((r) => `nft insert rule ${x.family} ${x.table} ${x.chain} ${r} comment '"${commentOf(n.spec.name)}"'`).join("; ");
        findings.push({
          network: n.spec.name,
          problem: x.problem,
          fix: x.fixable ? `accept it first in that chain: ${rules}` : `let bridge ${n.spec.bridge} through chain ${x.family} ${x.table} ${x.chain} (kvmgr writes no ${x.family} rules)`,
          status: !x.fixable ? "manual" : x.fixed || applied ? "fixed" : "open",
          applied: applied && x.fixable && !x.fixed,
        });
      }
    }
    return { findings, healthy: findings.every((f) => f.status === "fixed") };
  }
}
