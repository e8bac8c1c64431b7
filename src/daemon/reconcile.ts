/**
 * Start-up adoption: what runs is kept as it is (found by pid file and /proc), what died is
 * recorded and cleaned, networks that should be up and are not are brought up.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { readBootId } from "../host/proc.js";
import type { DaemonContext } from "./context.js";
import type { Services } from "./services/index.js";
import { recoverOperations } from "./services/recovery.js";

/** Where the boot id of the last autostart pass is kept: autostart happens once per host boot. */
export function autostartMarker(runDir: string): string {
  return `${runDir}/autostart.boot-id`;
}

function firstStartThisBoot(runDir: string): boolean {
  try {
    return readFileSync(autostartMarker(runDir), "utf8").trim() !== readBootId();
  } catch {
    return true;
  }
}

export async function reconcile(ctx: DaemonContext, s: Services): Promise<void> {
  // Like libvirt: a daemon restart must not start again what a user stopped since the host booted.
  const autostart = firstStartThisBoot(ctx.runDir);
  // Operations a killed daemon left half-done come first: they decide what is ours.
  await recoverOperations(s.vms);
  const nets = await s.networks.list();
  for (const n of nets) {
    const stored = ctx.store.getNetwork(n.name);
    if (!stored) continue;
    if ((stored.active || (autostart && stored.spec.autostart)) && !n.active) {
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
    else if (autostart && v.autostart && v.state === "shutoff") {
      try {
        await s.vms.start(v.name);
      } catch (err) {
        ctx.log.error({ err, vm: v.name }, "vm autostart failed");
      }
    }
  }
  writeFileSync(autostartMarker(ctx.runDir), readBootId() + "\n");
}
