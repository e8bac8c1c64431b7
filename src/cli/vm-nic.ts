/** kvmgr vm nic … : a VM's NICs. */
import { Command } from "commander";
import { clientOf, wantsJson } from "./context.js";
import { printJson } from "./format.js";

export function vmNicCommand(): Command {
  const nic = new Command("nic").description("a VM's network interfaces");
  nic
    .command("move <vm>")
    .description("move a NIC to another network (live on a running VM: the guest's link flaps and it renews DHCP there)")
    .requiredOption("--mac <mac>", "the NIC's MAC address")
    .requiredOption("--network <net>", "the network to move it to")
    .option("--json", "print JSON")
    .action(async (vm: string, o: { mac: string; network: string }, cmd: Command) => {
      const v = await clientOf(cmd).moveNic(vm, o.mac, o.network);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`NIC ${o.mac} of VM ${vm} is now on network ${o.network}${v.state === "running" ? " (moved live)" : ""}.\n`);
    });
  return nic;
}
