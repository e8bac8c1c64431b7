/** The network form's fields and the request body they make (pure: unit-tested). */
import type { NetworkCreate, NetworkMode } from "../../../api/network.js";

export interface Form {
  name: string;
  mode: NetworkMode;
  subnet: string;
  gateway: string;
  dhcp: boolean;
  rangeStart: string;
  rangeEnd: string;
  bridge: string;
  uplink: string;
  tftpRoot: string;
  bootFile: string;
  autostart: boolean;
  start: boolean;
  hosts: { mac: string; ip: string; hostname: string }[];
}

export const has = {
  subnet: (m: NetworkMode) => m !== "bridge",
  gateway: (m: NetworkMode) => m === "nat" || m === "routed" || m === "hostonly",
  dhcp: (m: NetworkMode) => m === "nat" || m === "routed" || m === "hostonly",
  uplink: (m: NetworkMode) => m === "nat" || m === "routed" || m === "bridge",
};

/** The request body: empty fields are left out, so the daemon picks its defaults. */
export function toBody(f: Form): NetworkCreate {
  const b: Record<string, unknown> = { name: f.name.trim(), mode: f.mode };
  const opt = (k: string, v: string) => {
    if (v.trim() !== "") b[k] = v.trim();
  };
  opt("bridge", f.bridge);
  if (has.subnet(f.mode)) opt("subnet", f.subnet);
  if (has.gateway(f.mode)) opt("gateway", f.gateway);
  if (has.uplink(f.mode)) opt("uplink", f.uplink);
  if (has.dhcp(f.mode)) {
    if (!f.dhcp) b.dhcp = false;
    else {
      if (f.rangeStart.trim() || f.rangeEnd.trim()) b.dhcpRange = { start: f.rangeStart.trim(), end: f.rangeEnd.trim() };
      opt("tftpRoot", f.tftpRoot);
      opt("bootFile", f.bootFile);
      const hosts = f.hosts.filter((h) => h.mac.trim() || h.ip.trim());
      if (hosts.length) b.dhcpHosts = hosts.map((h) => ({ mac: h.mac.trim(), ip: h.ip.trim(), ...(h.hostname.trim() ? { hostname: h.hostname.trim() } : {}) }));
    }
  }
  if (f.autostart) b.autostart = true;
  return b as NetworkCreate;
}
