/**
 * Test helpers for networks in a lab: what the lab host has (links, nft, processes), a
 * VM's address as kvmgr reports it, and reachability seen from inside a guest.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import type { Vm } from "../api/vm.js";
import { KVMGR_BIN, until, type LabDaemon } from "./lab.js";
import type { SerialConsole } from "./serial.js";

export interface LabLink {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export function labLinks(ns: string): LabLink[] {
  const r = spawnSync("ip", ["-n", ns, "-j", "-d", "addr", "show"], { encoding: "utf8" });
  return JSON.parse(r.stdout || "[]") as LabLink[];
}

export function labRoutes(ns: string): string {
  return spawnSync("ip", ["-n", ns, "-4", "route", "show"], { encoding: "utf8" }).stdout;
}

export function nftRuleset(ns: string): string {
  return spawnSync("ip", ["netns", "exec", ns, "nft", "list", "ruleset"], { encoding: "utf8" }).stdout;
}

export function nft(ns: string, script: string): void {
  const r = spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: script, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`nft failed: ${r.stderr}`);
}

export function sysctl(ns: string, key: string): string {
  return spawnSync("ip", ["netns", "exec", ns, "sysctl", "-n", key], { encoding: "utf8" }).stdout.trim();
}

/** Waits until kvmgr reports an address of the VM's first NIC matching `re`; returns it. */
export function vmAddress(d: LabDaemon, vm: string, re: RegExp, timeoutMs = 90000): Promise<string> {
  return until(`an address of ${vm} matching ${String(re)}`, timeoutMs, async () => {
    const ip = (await d.json<Vm>("vm", "show", vm)).nics[0]?.ips.find((a) => re.test(a));
    return ip;
  }, 250);
}

/** Waits until the guest itself has `ip` on eth0 (kvmgr's lease view may run ahead of the guest). */
export async function guestHas(con: SerialConsole, ip: string, timeoutMs = 30000): Promise<void> {
  await until(`the guest to configure ${ip}`, timeoutMs, async () => ((await con.run("ip -4 addr show dev eth0")).output.includes(`inet ${ip}/`) ? true : undefined), 300);
}

/** One ping from the guest: true when answered (-c2: the first may wait for ARP). */
export async function pings(con: SerialConsole, ip: string): Promise<boolean> {
  return (await con.run(`ping -c2 -W1 ${ip} >/dev/null 2>&1`, 15000)).code === 0;
}

/** A TCP connection from the guest that gets `banner` back. */
export async function tcpReaches(con: SerialConsole, ip: string, port: number, banner: string): Promise<boolean> {
  const r = await con.run(`nc -w 2 ${ip} ${port} </dev/null 2>/dev/null`, 15000);
  return r.output.includes(banner);
}

/** A command in the lab's LAN namespace (the router 172.16.0.1). */
export function inLan(lab: string, argv: readonly string[]): { code: number; out: string } {
  const r = spawnSync("ip", ["netns", "exec", `${lab}-lan`, ...argv], { encoding: "utf8", timeout: 20000 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** A TCP server in a namespace answering every connection with `banner` (busybox nc); kill() ends it. */
export function tcpServer(ns: string, port: number, banner: string): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, "busybox", "nc", "-ll", "-p", String(port), "-e", "echo", banner], { stdio: "ignore" });
}

/** Starts `kvmgr net capture ...` and resolves once it listens; `done` gives its output. */
export async function startCapture(d: LabDaemon, args: string[]): Promise<{ done: Promise<string>; stop: () => void }> {
  const child = spawn(KVMGR_BIN, ["net", "capture", ...args], {
    env: { ...process.env, KVMGR_STATE_DIR: d.stateDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
  const done = new Promise<string>((resolve) => child.once("close", () => resolve(out)));
  await until("the capture to listen", 15000, () => (/capturing on/.test(err) ? true : child.exitCode !== null ? Promise.reject(new Error(err)) : undefined), 50);
  return { done, stop: () => child.kill("SIGINT") };
}
