/**
 * Other DHCP servers on the managed host (the seed's stray libvirt dnsmasq, S14): sockets on
 * udp port 67, seen with `ss`. kvmgr never stops them; it refuses to start beside them.
 */
import type { HostNs } from "./netns.js";
import type { Runner } from "./runner.js";

export interface DhcpListener {
  address: string;
  /** SO_BINDTODEVICE interface (`0.0.0.0%kvbr0:67`), or null when it hears every interface */
  device: string | null;
  process: string | null;
  pid: number | null;
}

/** Parses `ss -H -u -a -n -p 'sport = :67'`. Pure. */
export function parseDhcpListeners(text: string): DhcpListener[] {
  const out: DhcpListener[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    const local = f[3];
    if (!local) continue;
    const m = /^(.*?)(?:%([^:\]]+))?:67$/.exec(local);
    if (!m) continue;
    const users = /users:\(\("([^"]*)",pid=(\d+)/.exec(line);
    out.push({
      address: (m[1] ?? "").replace(/^\[|\]$/g, ""),
      device: m[2] ?? null,
      process: users?.[1] ?? null,
      pid: users ? Number(users[2]) : null,
    });
  }
  return out;
}

export async function observeDhcpListeners(run: Runner, ns: HostNs): Promise<DhcpListener[]> {
  const r = await run.run(ns.argv(["ss", "-H", "-u", "-a", "-n", "-p", "sport = :67"]), { allowFail: true });
  return r.code === 0 ? parseDhcpListeners(r.stdout) : [];
}

/** A listener that would hear DHCP requests on `bridge`: bound to it, or to every interface. */
export function servesBridge(l: DhcpListener, bridge: string): boolean {
  if (l.device !== null) return l.device === bridge;
  return l.address === "0.0.0.0" || l.address === "*" || l.address === "::";
}
