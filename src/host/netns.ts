/**
 * The managed host: either a lab (network namespaces kvmgr creates, reproducing the seed's
 * topology) or the real host. Every host command goes through `HostNs.argv`.
 */
import { existsSync } from "node:fs";
import type { Runner } from "./runner.js";

export interface HostNs {
  /** the namespace name, or null for the real host */
  readonly netns: string | null;
  /** argv run inside the managed namespace */
  argv(argv: readonly string[]): string[];
  /** `ip` with -n: no extra process for entering the namespace */
  ip(args: readonly string[]): string[];
}

export function hostNs(netns: string | null): HostNs {
  return {
    netns,
    argv: (argv) => (netns ? ["ip", "netns", "exec", netns, ...argv] : [...argv]),
    ip: (args) => (netns ? ["ip", "-n", netns, ...args] : ["ip", ...args]),
  };
}

/** Addresses of the lab, as in product.md. */
export const LAB = {
  hostAddr: "172.16.31.7/16",
  routerAddr: "172.16.0.1/16",
  router: "172.16.0.1",
  uplink: "eth0",
  lanIf: "lan0",
} as const;

export function lanNs(lab: string): string {
  return `${lab}-lan`;
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** Creates the lab's namespaces and wiring where missing; leaves a complete lab as it is. */
export async function ensureLab(run: Runner, lab: string): Promise<void> {
  const lan = lanNs(lab);
  for (const ns of [lab, lan]) {
    if (!netnsExists(ns)) await run.run(["ip", "netns", "add", ns]);
  }
  const hasUplink = (await run.run(["ip", "-n", lab, "link", "show", LAB.uplink], { allowFail: true })).code === 0;
  if (!hasUplink) {
    // A half-made lab may hold the LAN end alone.
    await run.run(["ip", "-n", lan, "link", "del", LAB.lanIf], { allowFail: true });
    await run.run(["ip", "link", "add", LAB.uplink, "netns", lab, "type", "veth", "peer", "name", LAB.lanIf, "netns", lan]);
  }
  await run.run(["ip", "-n", lab, "-b", "-"], {
    stdin: [
      "link set lo up",
      `addr replace ${LAB.hostAddr} dev ${LAB.uplink}`,
      `link set ${LAB.uplink} up`,
      `route replace default via ${LAB.router}`,
    ].join("\n") + "\n",
  });
  await run.run(["ip", "-n", lan, "-b", "-"], {
    stdin: ["link set lo up", `addr replace ${LAB.routerAddr} dev ${LAB.lanIf}`, `link set ${LAB.lanIf} up`].join("\n") + "\n",
  });
}

/** PIDs of processes living in a namespace. */
export async function pidsInNs(run: Runner, ns: string): Promise<number[]> {
  if (!netnsExists(ns)) return [];
  const r = await run.run(["ip", "netns", "pids", ns], { allowFail: true });
  return r.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

export async function deleteNs(run: Runner, ns: string): Promise<void> {
  if (netnsExists(ns)) await run.run(["ip", "netns", "del", ns]);
}
