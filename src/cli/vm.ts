/** kvmgr vm … */
import { Command } from "commander";
import { invalid } from "../api/errors.js";
import type { BootDevice, DiskCreate, NicSpec, Vm, VmCreate } from "../api/vm.js";
import { formatSize, parseMemoryMiB, parseSize } from "../core/model/size.js";
import { clientOf, wantsJson } from "./context.js";
import { printFields, printJson, printTable } from "./format.js";
import { vmNicCommand } from "./vm-nic.js";
import { addVmIoCommands, agentShutdownAndWait } from "./vm-io.js";

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


/** `[SIZE][,alloc=sparse|full][,bus=virtio|sata|ide]`; without SIZE the OS's recommended size. */
export function parseDisk(s: string, prev: DiskCreate[] = []): DiskCreate[] {
  const disk: DiskCreate = {};
  for (const [i, part] of s.split(",").entries()) {
    const eq = part.indexOf("=");
    if (eq < 0 && i === 0) {
      if (part.trim() !== "") disk.sizeBytes = parseSize(part, "disks.sizeBytes");
      continue;
    }
    const key = part.slice(0, eq < 0 ? undefined : eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    if (key === "alloc") disk.alloc = value as DiskCreate["alloc"] & string;
    else if (key === "bus") disk.bus = value as DiskCreate["bus"] & string;
    else if (key === "size") disk.sizeBytes = parseSize(value, "disks.sizeBytes");
    else throw invalid("disks", `--disk '${s}': unknown option '${key}' (use SIZE, alloc=sparse|full or bus=virtio|sata|ide).`);
  }
  return [...prev, disk];
}

function parseBoot(s: string): BootDevice[] {
  return s.split(",").map((x) => x.trim()) as BootDevice[];
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** The fields create and edit share, from commander's options. */
function commonBody(o: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (typeof o.memory === "string") body.memoryMiB = parseMemoryMiB(o.memory);
  if (o.vcpus !== undefined) body.vcpus = o.vcpus;
  if (o.network !== undefined) body.nics = o.network;
  for (const k of ["image", "kernel", "initrd", "cmdline", "os"] as const) if (o[k] !== undefined) body[k] = o[k];
  const disks: DiskCreate[] = [];
  if (typeof o.import === "string") disks.push({ import: o.import, ...(o.copy === true ? { copy: true } : {}), ...(o.linked === true ? { linked: true } : {}) });
  else if (o.copy === true || o.linked === true) throw invalid("disks", "--copy and --linked go with --import PATH.");
  disks.push(...((o.disk as DiskCreate[] | undefined) ?? []));
  if (disks.length > 0) body.disks = disks;
  if (typeof o.cdrom === "string") body.cdrom = o.cdrom;
  if (o.boot !== undefined) body.bootOrder = o.boot;
  if (o.autostart !== undefined) body.autostart = o.autostart;
  if (o.force === true) body.force = true;
  return body;
}

function addDefinitionOptions(c: Command): Command {
  return c
    .option("--memory <MiB>", "memory in MiB, or with a unit: 2G, 512M (default: the OS's recommendation, else 256)")
    .option("--vcpus <n>", "virtual CPUs (default: the OS's recommendation, else 1)", intOrRaw)
    .option("--os <osid>", "OS id from osinfo-db ('kvmgr os list'): sets default memory, vCPUs, disk size, NIC model and disk bus")
    .option("--network <net[,mac=MAC][,model=M]>", "a NIC on a network (repeatable; order = NIC order)", parseNic)
    .option("--disk <[size][,alloc=sparse|full][,bus=B]>", "a new qcow2 disk, e.g. 10G or 512M,alloc=full (repeatable; no size: the OS's)", parseDisk)
    .option("--import <path>", "an existing disk image: used in place, or with --copy / --linked")
    .option("--copy", "with --import: copy the image under the state directory")
    .option("--linked", "with --import: a new qcow2 overlay on the image, which stays untouched")
    .option("--cdrom <path>", "an ISO image as CD-ROM (install media)")
    .option("--boot <order>", "firmware boot order, e.g. cdrom,disk or network,disk", parseBoot)
    .option("--image <image>", "boot a built image: test-guest")
    .option("--kernel <path>", "direct kernel boot")
    .option("--initrd <path>", "initrd for --kernel")
    .option("--cmdline <text>", "kernel command line")
    .option("--force", "create disks even when they are larger than the free space")
    .option("--json", "print JSON");
}

function showVm(v: Vm): void {
  printFields({
    name: v.name,
    state: v.state,
    os: v.os,
    vcpus: v.vcpus,
    memory: `${v.memoryMiB} MiB`,
    accel: v.accel ? `${v.accel} (${v.accelReason ?? ""})` : null,
    pid: v.pid,
    boot: v.image ?? v.kernel ?? v.bootOrder.join(","),
    cdrom: v.cdrom,
    autostart: v.autostart ? "yes" : "no",
    serial: v.consoles.serial,
  });
  if (v.nics.length > 0) {
    process.stdout.write("nics:\n");
    printTable(["  NETWORK", "MAC", "MODEL", "TAP", "IP"], v.nics.map((n) => [`  ${n.network}`, n.mac, n.model, n.tap ?? "-", n.addresses.map((a) => `${a.ip} (${a.sources.join("+")})`).join(", ") || "-"]));
  }
  if (v.disks.length > 0) {
    process.stdout.write("disks:\n");
    printTable(
      ["  #", "PATH", "FORMAT", "BUS", "SIZE", "ALLOCATED", "BASE"],
      v.disks.map((d, i) => [`  ${i}`, d.path, d.format, d.bus, formatSize(d.virtualSizeBytes), formatSize(d.allocatedBytes), d.backing ?? "-"]),
    );
  }
  if (v.pending) {
    process.stdout.write(`pending (changes apply at next start): ${Object.keys(v.pending).join(", ")}\n`);
  }
}

/** --timeout of the commands that wait for the guest (the daemon waits 60 s without it). */
const TIMEOUT_HELP = "how long to wait, in seconds (default 60; 0: send the request and do not wait)";
function timeoutOf(o: { timeout?: number | string }): number | undefined {
  if (o.timeout !== undefined && typeof o.timeout !== "number") throw invalid("timeout", `--timeout '${o.timeout}' must be a whole number of seconds.`);
  return o.timeout;
}

export function vmCommand(): Command {
  const vm = new Command("vm").description("virtual machines");

  addDefinitionOptions(vm.command("create <name>").description("define a VM (and start it with --start)"))
    .option("--pxe", "boot from the network")
    .option("--autostart", "start with the daemon")
    .option("--start", "start it at once")
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      if (o.autostart === false) delete o.autostart;
      const body: Record<string, unknown> = { name, ...commonBody(o) };
      if (o.pxe === true) body.pxe = true;
      if (o.start === true) body.start = true;
      const v = await clientOf(cmd).createVm(body as VmCreate);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${v.name} defined${v.state === "running" ? " and started" : ""}.\n`);
    });

  addDefinitionOptions(vm.command("edit <name>").description("change a VM's definition (a running VM takes it at its next start)"))
    .option("--remove-disk <index>", "detach disk INDEX (from 0; its file stays) (repeatable)", collect)
    .option("--no-cdrom", "remove the CD-ROM")
    .option("--autostart", "start with the daemon")
    .option("--no-autostart", "do not start with the daemon")
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const body = commonBody(o);
      if (o.cdrom === false) body.cdrom = null;
      if (o.removeDisk !== undefined) body.removeDisks = (o.removeDisk as string[]).map(intOrRaw);
      if (Object.keys(body).filter((k) => k !== "force").length === 0) throw invalid("body", "Nothing to change: give at least one option (see 'kvmgr vm edit --help').");
      const v = await clientOf(cmd).editVm(name, body);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(v.pending ? `VM ${name} changed; the changes apply at its next start (${Object.keys(v.pending).join(", ")}).\n` : `VM ${name} changed.\n`);
    });

  vm.command("autostart <name> <on|off>")
    .description("start the VM with the daemon, or not")
    .action(async (name: string, onOff: string, _o: unknown, cmd: Command) => {
      if (onOff !== "on" && onOff !== "off") throw invalid("autostart", `Autostart is 'on' or 'off', not '${onOff}'.`);
      await clientOf(cmd).editVm(name, { autostart: onOff === "on" });
      process.stdout.write(`VM ${name}: autostart ${onOff}.\n`);
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

  vm.command("shutdown <name>")
    .description("ACPI power-down: ask the guest to power off, and wait until it has")
    .option("--timeout <seconds>", TIMEOUT_HELP, intOrRaw)
    .option("--agent", "ask the guest agent instead of pressing the ACPI power button")
    .option("--json", "print JSON")
    .action(async (name: string, o: { timeout?: number | string; agent?: boolean }, cmd: Command) => {
      const timeoutS = timeoutOf(o);
      const v = o.agent ? await agentShutdownAndWait(clientOf(cmd), name, timeoutS ?? 60) : await clientOf(cmd).shutdownVm(name, timeoutS);
      if (wantsJson(cmd)) printJson(v);
      else if (timeoutS === 0) process.stdout.write(`VM ${name}: asked to power off (${o.agent ? "by its guest agent" : "ACPI power button"}), not waiting.\n`);
      else process.stdout.write(`VM ${name} is off.\n`);
    });

  vm.command("reboot <name>")
    .description("ACPI reboot: the guest powers off and restarts in the same QEMU; waits until it has")
    .option("--timeout <seconds>", TIMEOUT_HELP, intOrRaw)
    .option("--force", "hard reset instead: the guest restarts at once, whatever it is doing")
    .option("--json", "print JSON")
    .action(async (name: string, o: { timeout?: number | string; force?: boolean }, cmd: Command) => {
      const timeoutS = timeoutOf(o);
      const v = await clientOf(cmd).rebootVm(name, { ...(o.force ? { force: true } : {}), ...(timeoutS === undefined ? {} : { timeoutS }) });
      if (wantsJson(cmd)) printJson(v);
      else if (o.force) process.stdout.write(`VM ${name} reset.\n`);
      else if (timeoutS === 0) process.stdout.write(`VM ${name}: asked to reboot (ACPI power button), not waiting; it restarts when its guest has powered off.\n`);
      else process.stdout.write(`VM ${name} rebooted.\n`);
    });

  for (const [verb, desc, done] of [
    ["pause", "pause the vCPUs", "paused"],
    ["resume", "resume a paused VM", "resumed"],
  ] as const) {
    vm.command(`${verb} <name>`)
      .description(desc)
      .option("--json", "print JSON")
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const c = clientOf(cmd);
        const v = await (verb === "pause" ? c.pauseVm(name) : c.resumeVm(name));
        if (wantsJson(cmd)) printJson(v);
        else process.stdout.write(`VM ${name} ${done}.\n`);
      });
  }

  vm.command("delete <name>")
    .description("remove a VM and the disks kvmgr made for it (refuses a running one without --force)")
    .option("--force", "stop it first if running")
    .option("--keep-disks", "keep every disk file")
    .action(async (name: string, o: { force?: boolean; keepDisks?: boolean }, cmd: Command) => {
      await clientOf(cmd).deleteVm(name, o.force === true, o.keepDisks === true);
      process.stdout.write(`VM ${name} deleted${o.keepDisks ? " (disks kept)" : ""}.\n`);
    });

  vm.command("rename <name> <new-name>")
    .description("give a VM that is shut off another name (its disks keep their files)")
    .option("--json", "print JSON")
    .action(async (name: string, newName: string, _o: unknown, cmd: Command) => {
      const v = await clientOf(cmd).renameVm(name, newName);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${name} renamed to ${newName}.\n`);
    });

  vm.command("clone <source> <name>")
    .description("a new VM with the source's hardware, new MACs and copies of its disks (the source must be off)")
    .option("--linked", "qcow2 overlays on the source's disks instead of copies (the source may then not start while the clone exists)")
    .option("--force", "even when the copies are larger than the free space")
    .option("--json", "print JSON")
    .action(async (source: string, name: string, o: { linked?: boolean; force?: boolean }, cmd: Command) => {
      const v = await clientOf(cmd).cloneVm(source, { name, ...(o.linked ? { linked: true } : {}), ...(o.force ? { force: true } : {}) });
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${name} cloned from ${source}${o.linked ? " (linked)" : ""}.\n`);
    });

  const disk = vm.command("disk").description("a VM's disks");
  disk
    .command("resize <name> <size>")
    .description("grow a disk (live on a running VM); shrinking is refused")
    .option("--index <n>", "which disk, from 0", intOrRaw, 0)
    .option("--force", "even when it is larger than the free space")
    .option("--json", "print JSON")
    .action(async (name: string, size: string, o: { index: number | string; force?: boolean }, cmd: Command) => {
      if (typeof o.index !== "number") throw invalid("index", `--index '${o.index}' must be a whole number from 0.`);
      const v = await clientOf(cmd).resizeDisk(name, o.index, parseSize(size, "sizeBytes"), o.force === true);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`Disk ${o.index} of VM ${name} is now ${formatSize(v.disks[o.index]?.virtualSizeBytes ?? 0)}.\n`);
    });

  const snap = vm.command("snapshot").description("snapshots of a VM's disks (and memory, when taken while it runs)");
  snap
    .command("create <name> <snapshot>")
    .description("take a snapshot (with the memory state when the VM runs)")
    .option("--json", "print JSON")
    .action(async (name: string, s: string, _o: unknown, cmd: Command) => {
      const r = await clientOf(cmd).createSnapshot(name, s);
      if (wantsJson(cmd)) printJson(r);
      else process.stdout.write(`Snapshot ${s} of VM ${name} taken${r.vmStateBytes > 0 ? " (with memory)" : ""}.\n`);
    });
  snap
    .command("list <name>")
    .description("list snapshots")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const list = await clientOf(cmd).listSnapshots(name);
      if (wantsJson(cmd)) return printJson(list);
      printTable(["NAME", "TAKEN", "MEMORY"], list.map((s) => [s.name, new Date(s.createdMs).toISOString(), s.vmStateBytes > 0 ? formatSize(s.vmStateBytes) : "-"]));
    });
  snap
    .command("revert <name> <snapshot>")
    .description("return the disks (and a running VM's memory) to a snapshot")
    .option("--json", "print JSON")
    .action(async (name: string, s: string, _o: unknown, cmd: Command) => {
      const v = await clientOf(cmd).revertSnapshot(name, s);
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`VM ${name} reverted to ${s}.\n`);
    });
  snap
    .command("delete <name> <snapshot>")
    .description("delete a snapshot")
    .action(async (name: string, s: string, _o: unknown, cmd: Command) => {
      await clientOf(cmd).deleteSnapshot(name, s);
      process.stdout.write(`Snapshot ${s} of VM ${name} deleted.\n`);
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

  addVmIoCommands(vm);
  return vm;
}
