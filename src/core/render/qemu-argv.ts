/**
 * The QEMU command line of a VM. Pure. Every console is a unix socket under the VM's run
 * directory: nothing listens on TCP. https://www.qemu.org/docs/master/system/invocation.html
 */
import type { VmSpec } from "../validate/vm.js";

export type Accel = "kvm" | "tcg";

export interface VmRunPaths {
  qmp: string;
  serial: string;
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
    "-display", "none",
    "-vga", "std",
    "-vnc", `unix:${e(paths.vnc)}`,
    "-chardev", `socket,id=serial0,path=${e(paths.serial)},server=on,wait=off`,
    "-serial", "chardev:serial0",
    "-chardev", `socket,id=qmp0,path=${e(paths.qmp)},server=on,wait=off`,
    "-mon", "chardev=qmp0,mode=control",
    "-device", "virtio-serial-pci,id=vser0",
    "-chardev", `socket,id=qga0,path=${e(paths.qga)},server=on,wait=off`,
    "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
  ];
  const kernelBoot = boot.kernel !== null;
  spec.nics.forEach((nic, i) => {
    const tap = taps[i];
    if (tap === undefined) throw new Error(`NIC ${i} of ${spec.name} has no tap`);
    argv.push("-netdev", `tap,id=net${i},ifname=${tap},script=no,downscript=no`);
    // Direct kernel boot never PXE-boots: dropping the option ROM saves firmware time.
    // A PXE VM keeps the ROM (iPXE) and boots from its first NIC.
    const rom = kernelBoot ? ",romfile=" : "";
    const boot = spec.pxe === true && i === 0 && !kernelBoot ? ",bootindex=1" : "";
    argv.push("-device", `${NIC_DEVICE[nic.model]},netdev=net${i},id=nic${i},mac=${nic.mac}${rom}${boot}`);
  });
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
