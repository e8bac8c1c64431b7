/**
 * The QEMU command line of a VM. Pure. Every console is a unix socket under the VM's run
 * directory: nothing listens on TCP. https://www.qemu.org/docs/master/system/invocation.html
 */
import type { VmSpec } from "../validate/vm.js";

export type Accel = "kvm" | "tcg";

export interface VmRunPaths {
  qmp: string;
  serial: string;
  /** everything the guest prints on its serial port, written by QEMU whether or not anyone listens */
  serialLog: string;
  vnc: string;
  qga: string;
  pidFile: string;
  log: string;
}

export interface QemuBoot {
  kernel: string | null;
  initrd: string | null;
  cmdline: string | null;
}

export interface QemuArgvInput {
  spec: VmSpec;
  accel: Accel;
  /** tap name of each NIC, in NIC order */
  taps: readonly string[];
  paths: VmRunPaths;
  boot: QemuBoot;
  binary?: string;
}

/** QEMU option values separate keys with ',': a literal comma is written twice. */
export function qemuEscape(value: string): string {
  return value.replaceAll(",", ",,");
}

const NIC_DEVICE = { virtio: "virtio-net-pci", e1000: "e1000" } as const;

/** QMP/-blockdev node name of disk `i`: snapshots and resizes address disks by it. */
export function diskNodeName(i: number): string {
  return `disk${i}`;
}

/**
 * `bootindex` per device from the boot order: each kind in turn, its devices in order
 * (https://www.qemu.org/docs/master/system/bootindex.html). Devices of a kind absent from
 * the order get none: the firmware tries them after the listed ones.
 */
export function bootIndexes(spec: VmSpec): { nic: (number | null)[]; disk: (number | null)[]; cdrom: number | null } {
  const out = { nic: spec.nics.map((): number | null => null), disk: spec.disks.map((): number | null => null), cdrom: null as number | null };
  let next = 1;
  for (const dev of spec.bootOrder) {
    if (dev === "network") out.nic = out.nic.map(() => next++);
    else if (dev === "disk") out.disk = out.disk.map(() => next++);
    else if (spec.cdrom !== null) out.cdrom = next++;
  }
  return out;
}

/** -blockdev in JSON form: a path needs no escaping there. */
function blockdev(node: string, format: string, path: string, readOnly: boolean): string {
  const file = { driver: "file", filename: path, ...(readOnly ? { "read-only": true } : {}) };
  return JSON.stringify({ driver: format, "node-name": node, ...(readOnly ? { "read-only": true } : {}), file });
}

function renderDisks(spec: VmSpec, boot: ReturnType<typeof bootIndexes>): string[] {
  const argv: string[] = [];
  const bi = (n: number | null) => (n === null ? "" : `,bootindex=${n}`);
  if (spec.disks.some((d) => d.bus === "sata")) argv.push("-device", "ahci,id=ahci0");
  // PIIX IDE on the PC machine: ide.0 and ide.1, two units each; the CD-ROM sits on ide.1 unit 0.
  const ideSlots = ["ide.0,unit=0", "ide.0,unit=1", ...(spec.cdrom !== null ? [] : ["ide.1,unit=0"]), "ide.1,unit=1"];
  let sata = 0;
  let ide = 0;
  spec.disks.forEach((d, i) => {
    const node = diskNodeName(i);
    argv.push("-blockdev", blockdev(node, d.format, d.path, false));
    const id = `${node}-dev`;
    switch (d.bus) {
      case "virtio":
        argv.push("-device", `virtio-blk-pci,drive=${node},id=${id}${bi(boot.disk[i] ?? null)}`);
        break;
      case "sata":
        argv.push("-device", `ide-hd,bus=ahci0.${sata++},drive=${node},id=${id}${bi(boot.disk[i] ?? null)}`);
        break;
      case "ide":
        argv.push("-device", `ide-hd,bus=${ideSlots[ide++] ?? "ide.1,unit=1"},drive=${node},id=${id}${bi(boot.disk[i] ?? null)}`);
        break;
    }
  });
  if (spec.cdrom !== null) {
    argv.push("-blockdev", blockdev("cd0", "raw", spec.cdrom, true));
    argv.push("-device", `ide-cd,bus=ide.1,unit=0,drive=cd0,id=cdrom0${bi(boot.cdrom)}`);
  }
  return argv;
}

export function renderQemuArgv(input: QemuArgvInput): string[] {
  const { spec, accel, taps, paths, boot } = input;
  const e = qemuEscape;
  const argv = [
    input.binary ?? "qemu-system-x86_64",
    "-name", `guest=${e(spec.name)},process=kvmgr-${e(spec.name)}`,
    "-machine", `pc,accel=${accel}`,
    ...(accel === "kvm" ? ["-cpu", "host"] : []),
    "-m", String(spec.memoryMiB),
    "-smp", String(spec.vcpus),
    "-nodefaults",
    "-no-user-config",
    // A guest's power-off stops the VM instead of ending QEMU: the daemon sees it (QMP
    // SHUTDOWN, or status "shutdown" when it adopts the VM after being away) and ends QEMU
    // itself, so a guest that powered off while the daemon was down is not taken for a crash.
    "-no-shutdown",
    "-display", "none",
    "-vga", "std",
    "-vnc", `unix:${e(paths.vnc)}`,
    // logappend: O_APPEND, so the daemon can cut the log short while QEMU writes on.
    "-chardev", `socket,id=serial0,path=${e(paths.serial)},server=on,wait=off,logfile=${e(paths.serialLog)},logappend=on`,
    "-serial", "chardev:serial0",
    "-chardev", `socket,id=qmp0,path=${e(paths.qmp)},server=on,wait=off`,
    "-mon", "chardev=qmp0,mode=control",
    "-device", "virtio-serial-pci,id=vser0",
    "-chardev", `socket,id=qga0,path=${e(paths.qga)},server=on,wait=off`,
    "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
  ];
  const kernelBoot = boot.kernel !== null;
  const order = bootIndexes(spec);
  spec.nics.forEach((nic, i) => {
    const tap = taps[i];
    if (tap === undefined) throw new Error(`NIC ${i} of ${spec.name} has no tap`);
    argv.push("-netdev", `tap,id=net${i},ifname=${tap},script=no,downscript=no`);
    // A NIC that never PXE-boots (direct kernel boot, or network not in the boot order)
    // needs no option ROM: dropping it saves firmware time.
    const pxe = !kernelBoot && spec.bootOrder.includes("network");
    const rom = pxe ? "" : ",romfile=";
    const bi = pxe && order.nic[i] !== null ? `,bootindex=${order.nic[i]}` : "";
    argv.push("-device", `${NIC_DEVICE[nic.model]},netdev=net${i},id=nic${i},mac=${nic.mac}${rom}${bi}`);
  });
  argv.push(...renderDisks(spec, order));
  if (boot.kernel !== null) {
    argv.push("-kernel", boot.kernel);
    if (boot.initrd !== null) argv.push("-initrd", boot.initrd);
    if (boot.cmdline !== null) argv.push("-append", boot.cmdline);
  }
  argv.push("-daemonize", "-pidfile", paths.pidFile, "-D", paths.log);
  return argv;
}

/**
 * The kernel command line of the test guest: consoles on serial and VGA, quiet (printk is
 * slow under TCG), no crypto self-tests (0.3 s of boot).
 */
export function testGuestCmdline(vmName: string, extra: string | null): string {
  return ["console=tty0", "console=ttyS0", "quiet", "cryptomgr.notests", `hostname=${vmName}`, ...(extra ? [extra] : [])].join(" ");
}
