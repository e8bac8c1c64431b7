/**
 * Lays out the host's picture: the uplink on top, one bridge per network (and host bridges
 * kvmgr does not own) in the middle, VMs at the bottom with a line per NIC. Pure, so the
 * geometry is unit-testable; the component only draws it.
 */
import type { HostInfo } from "../../../api/host.js";
import type { Network, NetworkMode } from "../../../api/network.js";
import type { Vm, VmState } from "../../../api/vm.js";

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface BridgeNode extends Box {
  id: string;
  bridge: string;
  network: string | null;
  mode: NetworkMode | null;
  active: boolean;
  subnet: string | null;
  gateway: string | null;
}
export interface VmNode extends Box {
  name: string;
  state: VmState;
}
export interface NicEdge {
  vm: string;
  mac: string;
  tap: string | null;
  ips: string[];
  from: { x: number; y: number };
  to: { x: number; y: number } | null;
  live: boolean;
}
/** How a bridge reaches the uplink: masquerade (nat), routed, or enslaving it (bridge mode). */
export interface UplinkEdge {
  bridge: string;
  kind: "nat" | "routed" | "bridge";
  from: { x: number; y: number };
  to: { x: number; y: number };
}
export interface Topology {
  width: number;
  height: number;
  uplink: Box & { name: string; addresses: string[] };
  bridges: BridgeNode[];
  vms: VmNode[];
  nics: NicEdge[];
  uplinks: UplinkEdge[];
}

const COL = 200;
const BR_W = 170;
const BR_H = 64;
const VM_W = 150;
const VM_H = 52;
const Y_UPLINK = 20;
const Y_BRIDGE = 170;
const Y_VM = 340;

/** The host's uplink: the networks' named uplink, else eth0, else the first addressed non-bridge link. */
export function pickUplink(host: HostInfo | undefined, nets: readonly Network[]): { name: string; addresses: string[] } {
  const links = (host as (HostInfo & { links?: { name: string; kind: string | null; master: string | null; addresses: string[] }[] }) | undefined)?.links ?? [];
  const named = nets.find((n) => n.uplink)?.uplink;
  const pick = (named && links.find((l) => l.name === named)) || links.find((l) => l.name === "eth0") || links.find((l) => l.name !== "lo" && l.kind !== "bridge" && l.kind !== "tun" && l.addresses.length > 0);
  return pick ? { name: pick.name, addresses: pick.addresses } : { name: named ?? "eth0", addresses: [] };
}

export function layoutTopology(host: HostInfo | undefined, nets: readonly Network[], vms: readonly Vm[]): Topology {
  const netBridges = new Set(nets.map((n) => n.bridge));
  const foreign = (host?.bridges ?? []).filter((b) => !netBridges.has(b.name));
  const cols = Math.max(1, nets.length + foreign.length, vms.length);
  const width = Math.max(640, cols * COL + 40);
  const center = (i: number, n: number, w: number) => width / 2 + (i - (n - 1) / 2) * COL - w / 2;

  const up = pickUplink(host, nets);
  const uplink = { ...up, x: width / 2 - 110, y: Y_UPLINK, w: 220, h: 60 };

  const nBr = nets.length + foreign.length;
  const bridges: BridgeNode[] = [
    ...nets.map((n, i) => ({
      id: `net:${n.name}`,
      bridge: n.bridge,
      network: n.name,
      mode: n.mode,
      active: n.active,
      subnet: n.subnet,
      gateway: n.gateway,
      x: center(i, nBr, BR_W),
      y: Y_BRIDGE,
      w: BR_W,
      h: BR_H,
    })),
    ...foreign.map((b, j) => ({
      id: `br:${b.name}`,
      bridge: b.name,
      network: null,
      mode: null,
      active: b.up,
      subnet: null,
      gateway: b.addresses[0] ?? null,
      x: center(nets.length + j, nBr, BR_W),
      y: Y_BRIDGE,
      w: BR_W,
      h: BR_H,
    })),
  ];
  const byNet = new Map(bridges.filter((b) => b.network).map((b) => [b.network!, b]));

  const vmNodes: VmNode[] = vms.map((v, i) => ({ name: v.name, state: v.state, x: center(i, vms.length, VM_W), y: Y_VM, w: VM_W, h: VM_H }));
  const nics: NicEdge[] = vms.flatMap((v, i) => {
    const node = vmNodes[i]!;
    return v.nics.map((n, k) => {
      const br = byNet.get(n.network);
      const spread = v.nics.length > 1 ? (k - (v.nics.length - 1) / 2) * 24 : 0;
      return {
        vm: v.name,
        mac: n.mac,
        tap: n.tap,
        ips: n.ips,
        from: { x: node.x + node.w / 2 + spread, y: node.y },
        to: br ? { x: br.x + br.w / 2 + spread / 2, y: br.y + br.h } : null,
        live: n.tap !== null,
      };
    });
  });

  const uplinks: UplinkEdge[] = bridges.flatMap((b) => {
    if (!b.active || (b.mode !== "nat" && b.mode !== "routed" && b.mode !== "bridge")) return [];
    return [{ bridge: b.bridge, kind: b.mode, from: { x: b.x + b.w / 2, y: b.y }, to: { x: uplink.x + uplink.w / 2, y: uplink.y + uplink.h } }];
  });

  return { width, height: Y_VM + VM_H + 40, uplink, bridges, vms: vmNodes, nics, uplinks };
}
