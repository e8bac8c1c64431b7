/** kvmgr os … */
import { Command } from "commander";
import { clientOf, wantsJson } from "./context.js";
import { printJson, printTable } from "./format.js";
import { formatSize } from "../core/model/size.js";

export function osCommand(): Command {
  const os = new Command("os").description("operating systems known to osinfo-db (for vm create --os)");
  os.command("list")
    .description("list OS ids with their recommended resources")
    .option("--search <text>", "only OSes whose id, name or vendor contains every word")
    .option("--json", "print JSON")
    .action(async (o: { search?: string }, cmd: Command) => {
      const list = await clientOf(cmd).listOs(o.search);
      if (wantsJson(cmd)) return printJson(list);
      printTable(
        ["ID", "NAME", "MEMORY", "VCPUS", "DISK", "NIC", "BUS"],
        list.map((x) => [
          x.id,
          x.name + (x.eol ? " (EOL)" : ""),
          x.recommended.memoryMiB === null ? "-" : `${x.recommended.memoryMiB} MiB`,
          x.recommended.vcpus === null ? "-" : String(x.recommended.vcpus),
          x.recommended.diskBytes === null ? "-" : formatSize(x.recommended.diskBytes),
          x.nicModel,
          x.diskBus,
        ]),
      );
    });
  return os;
}
