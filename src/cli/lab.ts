/** kvmgr lab … : remove a lab's namespaces (works with or without a daemon). */
import { Command } from "commander";
import { KvmgrError } from "../api/errors.js";
import { rmSync } from "node:fs";
import { deleteNs, labRunDir, lanNs, netnsExists, pidsInNs } from "../host/netns.js";
import { isProcessAlive, readProc, waitFor } from "../host/proc.js";
import { processRunner } from "../host/runner.js";

export async function deleteLab(name: string, force: boolean): Promise<void> {
  const run = processRunner;
  const spaces = [name, lanNs(name)];
  if (!spaces.some(netnsExists)) throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `There is no lab named '${name}'.`);
  const pids = (await Promise.all(spaces.map((ns) => pidsInNs(run, ns)))).flat();
  const vms = pids.filter((p) => readProc(p)?.cmdline[0]?.includes("qemu-system") ?? false);
  if (vms.length > 0 && !force) {
    throw new KvmgrError("KVMGR_ERR_VM_RUNNING", `Lab '${name}' has ${vms.length} running VM(s); stop them or use --force.`);
  }
  // Everything in a lab's namespaces was started for the lab: end it by pid, or the namespace outlives its name.
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  await waitFor(() => pids.every((p) => !isProcessAlive(p)), 5000);
  for (const ns of spaces) await deleteNs(run, ns);
  rmSync(labRunDir(name), { recursive: true, force: true });
}

export function labCommand(): Command {
  const lab = new Command("lab").description("labs: network namespaces that stand in for a host and its LAN");
  lab
    .command("delete <name>")
    .description("remove a lab (refuses while VMs run, unless --force)")
    .option("--force", "end its VMs too")
    .action(async (name: string, o: { force?: boolean }) => {
      await deleteLab(name, o.force === true);
      process.stdout.write(`Lab ${name} deleted.\n`);
    });
  return lab;
}
