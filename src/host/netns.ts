/**
 * The managed host: either a lab (network namespaces kvmgr creates, reproducing the seed's
 * topology) or the real host. Every host command goes through `HostNs.argv`.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { populateTestGuestTftpRoot } from "./pxe.js";
import { isOurProcessAlive, readPidFile, waitFor } from "./proc.js";
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
  /** the LAN's deployment server (DHCP + TFTP) serves bridge-mode VMs from this pool */
  lanDhcpFirst: "172.16.100.10",
  lanDhcpLast: "172.16.100.200",
} as const;

/** Where a lab's LAN-side files live (the deployment server's config, leases, TFTP root). */
export function labRunDir(lab: string): string {
  return `/run/kvmgr/labs/${lab}`;
}

/** dnsmasq of the lab's LAN: DHCP for 172.16.100.10-200 and TFTP of the test guest's PXE recipe. */
export function renderLanDnsmasqConf(dir: string, tftp: boolean): string {
  return [
    "# kvmgr lab: the LAN's deployment server (DHCP + TFTP), as in the seed's S2",
    `interface=${LAB.lanIf}`,
    "bind-interfaces",
    "except-interface=lo",
    "port=0",
    `pid-file=${dir}/dnsmasq.pid`,
    `dhcp-leasefile=${dir}/dnsmasq.leases`,
    `dhcp-range=${LAB.lanDhcpFirst},${LAB.lanDhcpLast},255.255.0.0,1h`,
    `dhcp-option=option:router,${LAB.router}`,
    "dhcp-authoritative",
    "no-ping",
    ...(tftp ? ["enable-tftp", `tftp-root=${dir}/tftp`, "dhcp-boot=test-guest.ipxe"] : []),
    "",
  ].join("\n");
}

export function lanNs(lab: string): string {
  return `${lab}-lan`;
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** Creates the lab's namespaces and wiring where missing; leaves a complete lab as it is. */
export async function ensureLab(run: Runner, lab: string, opts: { testGuestDir?: string } = {}): Promise<void> {
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
  await ensureLanServer(run, lab, opts.testGuestDir ?? null);
}

/** Starts the LAN's deployment server unless it runs. */
async function ensureLanServer(run: Runner, lab: string, testGuestDir: string | null): Promise<void> {
  const dir = labRunDir(lab);
  const conf = `${dir}/dnsmasq.conf`;
  const pid = readPidFile(`${dir}/dnsmasq.pid`);
  if (pid !== null && isOurProcessAlive(pid, conf)) return;
  // dnsmasq reads the TFTP root after dropping root: the path must be world-traversable.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let tftp = false;
  if (testGuestDir !== null && existsSync(`${testGuestDir}/vmlinuz`)) {
    populateTestGuestTftpRoot(`${dir}/tftp`, testGuestDir);
    tftp = true;
  }
  writeFileSync(conf, renderLanDnsmasqConf(dir, tftp), { mode: 0o644 });
  rmSync(`${dir}/dnsmasq.pid`, { force: true });
  await run.run(["ip", "netns", "exec", lanNs(lab), "dnsmasq", `--conf-file=${conf}`]);
  const ok = await waitFor(() => {
    const p = readPidFile(`${dir}/dnsmasq.pid`);
    return p !== null && isOurProcessAlive(p, conf);
  }, 5000);
  if (!ok) throw new Error(`the lab's LAN dnsmasq did not stay up (${conf})`);
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
