/**
 * Host changes as data. A plan is a list of steps; its undo is derived from the steps, so
 * a half-applied plan can always be rolled back exactly. Pure.
 */

/** An IPv4 address of an interface, as `ip -j addr` shows it. */
export interface AddrSpec {
  local: string;
  prefixlen: number;
  broadcast?: string;
}

/** An IPv4 route of the main table, as `ip -j route show dev DEV` shows it. */
export interface RouteSpec {
  dst: string;
  gateway?: string;
  metric?: number;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  onlink?: boolean;
}

/** What a bridge-mode network moved from a NIC onto its bridge, to put back at stop. */
export interface UplinkMove {
  dev: string;
  bridge: string;
  addresses: AddrSpec[];
  routes: RouteSpec[];
}

export type HostStep =
  | { kind: "bridge.add"; name: string; mac?: string }
  | { kind: "bridge.del"; name: string }
  | { kind: "addr.add"; dev: string; cidr: string }
  | { kind: "link.up"; dev: string }
  | { kind: "tap.add"; name: string; master: string }
  | { kind: "tap.del"; name: string }
  /** enslave a NIC to a bridge and move its addresses and routes onto the bridge */
  | ({ kind: "uplink.enslave" } & UplinkMove)
  /** the reverse: the NIC leaves the bridge and gets its addresses and routes back */
  | ({ kind: "uplink.release" } & UplinkMove)
  /** one atomic `nft -f -` transaction that makes a network's chains what `text` says */
  | { kind: "nft.apply"; network: string; text: string }
  /** one atomic transaction that removes every chain of a network */
  | { kind: "nft.remove"; network: string }
  /** `mode` defaults to 0600 */
  | { kind: "file.write"; path: string; content: string; mode?: number }
  | { kind: "file.remove"; path: string }
  | { kind: "dnsmasq.start"; network: string; confFile: string; pidFile: string }
  | { kind: "dnsmasq.stop"; network: string; pidFile: string; confFile: string }
  /** SIGHUP: dnsmasq re-reads its hosts file */
  | { kind: "dnsmasq.reload"; network: string; pidFile: string; confFile: string }
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
    case "uplink.enslave":
      return { kind: "uplink.release", dev: step.dev, bridge: step.bridge, addresses: step.addresses, routes: step.routes };
    case "nft.apply":
      return { kind: "nft.remove", network: step.network };
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
    case "dnsmasq.reload":
    case "bridge.del":
    case "tap.del":
    case "uplink.release":
    case "nft.remove":
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
