/**
 * Host changes as data. A plan is a list of steps; its undo is derived from the steps, so
 * a half-applied plan can always be rolled back exactly. Pure.
 */

export type HostStep =
  | { kind: "bridge.add"; name: string }
  | { kind: "bridge.del"; name: string }
  | { kind: "addr.add"; dev: string; cidr: string }
  | { kind: "link.up"; dev: string }
  | { kind: "tap.add"; name: string; master: string }
  | { kind: "tap.del"; name: string }
  | { kind: "file.write"; path: string; content: string }
  | { kind: "file.remove"; path: string }
  | { kind: "dnsmasq.start"; network: string; confFile: string; pidFile: string }
  | { kind: "dnsmasq.stop"; network: string; pidFile: string; confFile: string }
  | { kind: "qemu.start"; vm: string; argv: string[]; pidFile: string }
  | { kind: "qemu.stop"; vm: string; pidFile: string }
  /** a new qcow2 image; `prealloc: "full"` writes every byte now (the seed's "allocate entire disk now") */
  | { kind: "disk.create"; path: string; sizeBytes: number; prealloc: "off" | "full" }
  /** a qcow2 copy of an existing image (any format qemu-img reads) */
  | { kind: "disk.copy"; path: string; source: string; sourceFormat: string }
  /** a qcow2 overlay on a read-only base image: a linked disk */
  | { kind: "disk.overlay"; path: string; backing: string; backingFormat: string }
  | { kind: "disk.remove"; path: string };

export type StepKind = HostStep["kind"];

/** The step that undoes `step`, or null when undoing it is implied by an earlier undo or needs nothing. */
export function undoOf(step: HostStep): HostStep | null {
  switch (step.kind) {
    case "bridge.add":
      return { kind: "bridge.del", name: step.name };
    case "tap.add":
      return { kind: "tap.del", name: step.name };
    case "file.write":
      return { kind: "file.remove", path: step.path };
    case "dnsmasq.start":
      return { kind: "dnsmasq.stop", network: step.network, pidFile: step.pidFile, confFile: step.confFile };
    case "qemu.start":
      return { kind: "qemu.stop", vm: step.vm, pidFile: step.pidFile };
    case "disk.create":
    case "disk.copy":
    case "disk.overlay":
      return { kind: "disk.remove", path: step.path };
    // Addresses and link state vanish with their link.
    case "addr.add":
    case "link.up":
      return null;
    case "bridge.del":
    case "tap.del":
    case "file.remove":
    case "dnsmasq.stop":
    case "qemu.stop":
    case "disk.remove":
      return null;
  }
}

/** Undo of the first `applied` steps of a plan, in reverse order. */
export function planUndo(steps: readonly HostStep[], applied = steps.length): HostStep[] {
  const out: HostStep[] = [];
  for (let i = applied - 1; i >= 0; i--) {
    const u = undoOf(steps[i] as HostStep);
    if (u) out.push(u);
  }
  return out;
}
