/** Kernel parameters of the managed namespace, through `sysctl` run inside it. */
import type { HostNs } from "./netns.js";
import type { Runner } from "./runner.js";

/** `net.ipv4.conf.IF.forwarding` in sysctl's '/' form, which allows '.' in interface names. */
export function forwardingKey(iface: string): string {
  return `net/ipv4/conf/${iface}/forwarding`;
}

export async function readSysctl(run: Runner, ns: HostNs, key: string): Promise<string | null> {
  const r = await run.run(ns.argv(["sysctl", "-n", key]), { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : null;
}

export async function writeSysctl(run: Runner, ns: HostNs, key: string, value: string): Promise<void> {
  await run.run(ns.argv(["sysctl", "-q", "-w", `${key}=${value}`]));
}

/** Parses `sysctl -a --pattern …forwarding` lines into interface → on/off. Pure. */
export function parseForwarding(text: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const line of text.split("\n")) {
    const m = /^net\.ipv4\.conf\.(.+)\.forwarding = (\d+)$/.exec(line.trim());
    if (m) out[(m[1] ?? "").replaceAll("/", ".")] = m[2] === "1";
  }
  return out;
}

/** Forwarding of every interface of the namespace (and `all`, `default`), in one process. */
export async function observeForwarding(run: Runner, ns: HostNs): Promise<Record<string, boolean>> {
  const r = await run.run(ns.argv(["sysctl", "-a", "--pattern", "^net\\.ipv4\\.conf\\..*\\.forwarding$"]), { allowFail: true });
  return parseForwarding(r.stdout);
}
