/** Host steps to start a VM: its taps on their bridges, then QEMU. Pure. */
import { renderQemuArgv, type QemuArgvInput, type VmRunPaths } from "../render/qemu-argv.js";
import { planUndo, type HostStep } from "./host-step.js";

export function vmRunPaths(runDir: string, name: string): VmRunPaths & { dir: string } {
  const dir = `${runDir}/vms/${name}`;
  return {
    dir,
    qmp: `${dir}/qmp.sock`,
    serial: `${dir}/serial.sock`,
    serialLog: `${dir}/serial.log`,
    vnc: `${dir}/vnc.sock`,
    qga: `${dir}/qga.sock`,
    pidFile: `${dir}/qemu.pid`,
    log: `${dir}/qemu.log`,
  };
}

/** The lowest `vnetN` names not in `used`, one per NIC (the seed's vnet1, vnet2...). */
export function pickTapNames(count: number, used: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let n = 0; out.length < count; n++) if (!used.has(`vnet${n}`)) out.push(`vnet${n}`);
  return out;
}

export function planVmStart(input: QemuArgvInput & { bridges: readonly string[] }): HostStep[] {
  const steps: HostStep[] = input.taps.map((tap, i) => ({ kind: "tap.add", name: tap, master: input.bridges[i] ?? "" }));
  steps.push({ kind: "qemu.start", vm: input.spec.name, argv: renderQemuArgv(input), pidFile: input.paths.pidFile });
  return steps;
}

export function planVmCleanup(taps: readonly string[], vm: string, pidFile: string): HostStep[] {
  return planUndo([...taps.map((t): HostStep => ({ kind: "tap.add", name: t, master: "" })), { kind: "qemu.start", vm, argv: [], pidFile }]);
}
