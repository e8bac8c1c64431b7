/** What links and addresses the managed namespace has, read through `ip -j`. */
import type { AddrSpec, RouteSpec } from "../../core/plan/host-step.js";
import type { UplinkState } from "../../core/plan/network-plan.js";
import type { HostNs } from "../netns.js";
import type { Runner } from "../runner.js";

export interface LinkInfo {
  name: string;
  kind: string | null;
  master: string | null;
  up: boolean;
  mac: string | null;
  addresses: string[];
  rxBytes: number | null;
  txBytes: number | null;
}

interface IpJsonLink {
  ifname?: string;
  master?: string;
  flags?: string[];
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number; broadcast?: string; scope?: string }[];
  stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } };
}

/** Parses `ip -j -d -s addr show` output. Pure. */
export function parseIpLinks(json: string): LinkInfo[] {
  const data = JSON.parse(json || "[]") as IpJsonLink[];
  return data.map((l) => ({
    name: l.ifname ?? "",
    kind: l.linkinfo?.info_kind ?? null,
    master: l.master ?? null,
    up: (l.flags ?? []).includes("UP"),
    mac: l.address ?? null,
    addresses: (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
    rxBytes: l.stats64?.rx?.bytes ?? null,
    txBytes: l.stats64?.tx?.bytes ?? null,
  }));
}

export async function observeLinks(run: Runner, ns: HostNs): Promise<LinkInfo[]> {
  const r = await run.run(ns.ip(["-j", "-d", "-s", "addr", "show"]));
  return parseIpLinks(r.stdout);
}

/** Connected subnets and routes of the namespace, to refuse overlapping networks. */
export async function observeRoutes(run: Runner, ns: HostNs): Promise<{ dst: string; dev: string | null }[]> {
  const r = await run.run(ns.ip(["-j", "-4", "route", "show"]), { allowFail: true });
  const data = JSON.parse(r.stdout || "[]") as { dst?: string; dev?: string }[];
  return data.filter((d) => d.dst && d.dst !== "default").map((d) => ({ dst: d.dst ?? "", dev: d.dev ?? null }));
}

interface IpJsonRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
}

/** Routes of `ip -j -4 route show dev DEV` that an address does not bring back by itself. Pure. */
export function parseMovableRoutes(json: string): RouteSpec[] {
  const data = JSON.parse(json || "[]") as IpJsonRoute[];
  return data
    .filter((r) => r.dst !== undefined && r.protocol !== "kernel")
    .map((r) => {
      const out: RouteSpec = { dst: r.dst ?? "" };
      if (r.gateway !== undefined) out.gateway = r.gateway;
      if (r.metric !== undefined) out.metric = r.metric;
      if (r.protocol !== undefined) out.protocol = r.protocol;
      if (r.scope !== undefined) out.scope = r.scope;
      if (r.prefsrc !== undefined) out.prefsrc = r.prefsrc;
      if (r.flags?.includes("onlink")) out.onlink = true;
      return out;
    });
}

/** IPv4 addresses of one link from `ip -j addr show dev DEV`. Pure. */
export function parseAddrSpecs(json: string): { mac: string | null; addresses: AddrSpec[] } {
  const data = JSON.parse(json || "[]") as IpJsonLink[];
  const l = data[0];
  return {
    mac: l?.address ?? null,
    addresses: (l?.addr_info ?? [])
      .filter((a) => a.family === "inet" && a.local !== undefined && a.prefixlen !== undefined)
      .map((a) => (a.broadcast ? { local: a.local ?? "", prefixlen: a.prefixlen ?? 32, broadcast: a.broadcast } : { local: a.local ?? "", prefixlen: a.prefixlen ?? 32 })),
  };
}

/** The NIC a bridge-mode network is about to enslave: its MAC, addresses and routes. */
export async function observeUplink(run: Runner, ns: HostNs, dev: string): Promise<UplinkState | null> {
  const a = await run.run(ns.ip(["-j", "addr", "show", "dev", dev]), { allowFail: true });
  if (a.code !== 0) return null;
  const { mac, addresses } = parseAddrSpecs(a.stdout);
  const r = await run.run(ns.ip(["-j", "-4", "route", "show", "dev", dev]), { allowFail: true });
  return { mac: mac ?? "", addresses, routes: parseMovableRoutes(r.stdout) };
}

/** The interface of the default route, if any. */
export async function observeDefaultRouteDev(run: Runner, ns: HostNs): Promise<string | null> {
  const r = await run.run(ns.ip(["-j", "-4", "route", "show", "default"]), { allowFail: true });
  const data = JSON.parse(r.stdout || "[]") as IpJsonRoute[];
  return data.find((d) => d.dev !== undefined)?.dev ?? null;
}
