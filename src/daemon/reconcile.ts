/**
 * Start-up adoption: what runs is kept as it is (found by pid file and /proc), what died is
 * recorded and cleaned, networks that should be up and are not are brought up.
 */
import type { DaemonContext } from "./context.js";
import type { Services } from "./services/index.js";
import { recoverOperations } from "./services/recovery.js";

export async function reconcile(ctx: DaemonContext, s: Services): Promise<void> {
  // Operations a killed daemon left half-done come first: they decide what is ours.
  await recoverOperations(s.vms);
  const nets = await s.networks.list();
  for (const n of nets) {
    const stored = ctx.store.getNetwork(n.name);
    if (!stored) continue;
    if ((stored.active || stored.spec.autostart) && !n.active) {
      try {
        await s.networks.start(n.name);
        ctx.log.info({ network: n.name }, stored.active ? "network restored" : "network autostarted");
      } catch (err) {
        ctx.log.error({ err, network: n.name }, "network could not be started at daemon start");
      }
    } else if (n.active) {
      ctx.log.info({ network: n.name, dnsmasqPid: n.dnsmasqPid }, "network adopted");
    }
  }
  const dead = await s.vms.reapDead();
  await s.vms.adoptRunning();
  for (const name of dead) ctx.log.warn({ vm: name }, "vm found dead at daemon start");
  for (const v of s.vms.list()) {
    if (v.state === "running") ctx.log.info({ vm: v.name, pid: v.pid }, "vm adopted");
    else if (v.autostart && v.state === "shutoff") {
      try {
        await s.vms.start(v.name);
      } catch (err) {
        ctx.log.error({ err, vm: v.name }, "vm autostart failed");
      }
    }
  }
}
