/** kvmgr vm … */
import { Command } from "commander";
import { KvmgrError, invalid } from "../api/errors.js";
import type { NicSpec, Vm, VmCreate } from "../api/vm.js";
import { clientOf, wantsJson } from "./context.js";
import { printFields, printJson, printTable } from "./format.js";
import { vmNicCommand } from "./vm-nic.js";

/** NET[,mac=MAC][,model=virtio|e1000] */
export function parseNic(s: string, prev: NicSpec[] = []): NicSpec[] {
  const [network, ...kvs] = s.split(",");
  const nic: Record<string, string> = { network: network ?? "" };
  for (const kv of kvs) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key !== "mac" && key !== "model") throw invalid("nics", `--network '${s}': unknown option '${key}' (use mac=MAC or model=virtio|e1000).`);
    nic[key] = kv.slice(eq + 1);
  }
  return [...prev, nic as unknown as NicSpec];
}

/** Whole numbers stay numbers; anything else goes as typed so the API names what is wrong. */
function intOrRaw(s: string): number | string {
  return /^\d+$/.test(s) ? Number(s) : s;
}

function notYet(flag: string): never {
  throw new KvmgrError("KVMGR_ERR_INPUT_INVALID", `${flag} is not supported yet by this kvmgr; use --image test-guest or --kernel.`);
}

function showVm(v: Vm): void {
  printFields({
    name: v.name,
    state: v.state,
    vcpus: v.vcpus,
    memory: `${v.memoryMiB} MiB`,
    accel: v.accel ? `${v.accel} (${v.accelReason ?? ""})` : null,
    pid: v.pid,
    boot: v.image ?? v.kernel,
    autostart: v.autostart ? "yes" : "no",
    serial: v.consoles.serial,
  });
  if (v.nics.length > 0) {
    process.stdout.write("nics:\n");
    printTable(["  NETWORK", "MAC", "MODEL", "TAP", "IP"], v.nics.map((n) => [`  ${n.network}`, n.mac, n.model, n.tap ?? "-", n.ips.join(",") || "-"]));
  }
}

export function vmCommand(): Command {
  const vm = new Command("vm").description("virtual machines");

  vm.command("create <name>")
    .description("define a VM (and start it with --start)")
    .option("--memory <MiB>", "memory in MiB", intOrRaw)
    .option("--vcpus <n>", "virtual CPUs", intOrRaw)
    .option("--network <net[,mac=MAC][,model=M]>", "a NIC on a network (repeatable; order = NIC order)", parseNic)
    .option("--image <image>", "boot a built image: test-guest")
    .option("--kernel <path>", "direct kernel boot")
    .option("--initrd <path>", "initrd for --kernel")
    .option("--cmdline <text>", "kernel command line")
    .option("--os <osid>", "OS id from osinfo-db")
    .option("--disk <size[,alloc=sparse|full]>", "a new disk")
    .option("--import <path>", "boot an existing disk image")
    .option("--cdrom <path>", "install from an ISO")
    .option("--pxe", "boot from the network")
    .option("--autostart", "start with the daemon")
    .option("--start", "start it at once")
    .option("--json", "print JSON")
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      for (const [k, flag] of [["os", "--os"], ["disk", "--disk"], ["import", "--import"], ["cdrom", "--cdrom"]] as const) {
        if (o[k] !== undefined) notYet(flag);
      }
      const body: Record<string, unknown> = { name };
      if (o.memory !== undefined) body.memoryMiB = o.memory;
      if (o.vcpus !== undefined) body.vcpus = o.vcpus;
      if (o.network !== undefined) body.nics = o.network;
      for (const k of ["image", "kernel", "initrd", "cmdline"] as const) if (o[k] !== undefined) body[k] = o[k];
      if (o.autostart === true) body.autostart = true;
      if (o.pxe === true) body.pxe = true;
      if (o.start === true) body.start = true;
      const v = await clientOf(cmd).createVm(body as VmCreate);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${v.name} defined${v.state === "running" ? " and started" : ""}.\n`);
    });

  vm.command("start <name>")
    .description("start a VM")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const v = await clientOf(cmd).startVm(name);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${name} started (${v.accel ?? "?"}).\n`);
    });

  vm.command("stop <name>")
    .description("forced power-off")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const v = await clientOf(cmd).stopVm(name);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${name} stopped.\n`);
    });

  vm.command("delete <name>")
    .description("remove a VM (refuses a running one without --force)")
    .option("--force", "stop it first if running")
    .action(async (name: string, o: { force?: boolean }, cmd: Command) => {
      await clientOf(cmd).deleteVm(name, o.force === true);
      process.stdout.write(`VM ${name} deleted.\n`);
    });

  vm.command("list")
    .description("list VMs")
    .option("--json", "print JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const list = await clientOf(cmd).listVms();
      if (wantsJson(cmd)) return printJson(list);
      printTable(
        ["NAME", "STATE", "VCPUS", "MEMORY", "IP"],
        list.map((v) => [v.name, v.state, String(v.vcpus), `${v.memoryMiB} MiB`, v.nics.flatMap((n) => n.ips).join(",") || "-"]),
      );
    });

  vm.command("show <name>")
    .description("show a VM")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const v = await clientOf(cmd).showVm(name);
      if (wantsJson(cmd)) printJson(v);
      else showVm(v);
    });

  vm.addCommand(vmNicCommand());

  return vm;
}
