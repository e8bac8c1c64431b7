/**
 * KVM or TCG? /dev/kvm can exist while guests hang under it (nested virtualisation gone
 * wrong), so KVM is chosen only after a probe guest really ran: a kernel booted with a
 * missing init panics at once and, with -no-reboot, makes QEMU exit. A hang means TCG.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { spawn } from "node:child_process";
import type { Accel } from "../../core/render/qemu-argv.js";
import { readBootId } from "../proc.js";

export interface AccelChoice {
  accel: Accel;
  reason: string;
}


function probeKernel(kernel: string, timeoutMs: number): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), "kvmgr-accel-"));
  return new Promise((resolve) => {
    const child = spawn(
      "qemu-system-x86_64",
      ["-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "128", "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot", "-kernel", kernel, "-append", "panic=-1 rdinit=/kvmgr-no-such-init init=/kvmgr-no-such-init quiet"],
      { stdio: "ignore", cwd: dir },
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve(signal === null && code === 0);
    });
    child.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Decide once per host boot (cached in `cacheFile`). `KVMGR_ACCEL=tcg|kvm` overrides.
 * `kernel` is any bootable kernel (the test guest's); without one KVM cannot be proven.
 */
export async function chooseAccel(opts: { kernel: string | null; cacheFile: string; forced?: string | undefined }): Promise<AccelChoice> {
  if (opts.forced === "tcg" || opts.forced === "kvm") return { accel: opts.forced, reason: `forced by KVMGR_ACCEL=${opts.forced}` };
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return { accel: "tcg", reason: "no usable /dev/kvm: software emulation (TCG)" };
  }
  const boot = readBootId();
  try {
    const cached = JSON.parse(readFileSync(opts.cacheFile, "utf8")) as { bootId?: string; choice?: AccelChoice };
    if (cached.bootId === boot && cached.choice) return cached.choice;
  } catch {
    /* no cache yet */
  }
  if (!opts.kernel || !existsSync(opts.kernel)) {
    return { accel: "tcg", reason: "/dev/kvm exists but no probe kernel is built yet: software emulation (TCG)" };
  }
  const ok = await probeKernel(opts.kernel, 8000);
  const choice: AccelChoice = ok
    ? { accel: "kvm", reason: "KVM: a probe guest booted under /dev/kvm" }
    : { accel: "tcg", reason: "/dev/kvm exists but a probe guest hung under it: software emulation (TCG)" };
  try {
    mkdirSync(dirname(opts.cacheFile), { recursive: true });
    writeFileSync(opts.cacheFile, JSON.stringify({ bootId: boot, choice }));
  } catch {
    /* cache is an optimisation */
  }
  return choice;
}
