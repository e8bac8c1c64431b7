/** What links and addresses the managed namespace has, read through `ip -j`. */
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
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
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
