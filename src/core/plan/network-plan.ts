/** What the host must look like for a network to be up, as steps. Pure. */
import { parseCidr } from "../model/ipv4.js";
import { renderDnsmasqConf, type DnsmasqOptions } from "../render/dnsmasq-conf.js";
import type { NetworkSpec } from "../validate/network.js";
import { planUndo, type HostStep } from "./host-step.js";

export interface NetworkRunPaths {
  dir: string;
  confFile: string;
  pidFile: string;
  leaseFile: string;
}

export function networkRunPaths(runDir: string, name: string): NetworkRunPaths {
  const dir = `${runDir}/networks/${name}`;
  return { dir, confFile: `${dir}/dnsmasq.conf`, pidFile: `${dir}/dnsmasq.pid`, leaseFile: `${dir}/dnsmasq.leases` };
}

export function needsDnsmasq(spec: NetworkSpec): boolean {
  return spec.dhcp !== null && spec.gateway !== null;
}

export function planNetworkStart(spec: NetworkSpec, paths: NetworkRunPaths, dns: DnsmasqOptions): HostStep[] {
  const steps: HostStep[] = [];
  switch (spec.mode) {
    case "bridge":
      // Joining an existing bridge, or enslaving the uplink, arrives with the Networks issue.
      throw new Error("bridge mode is not implemented yet");
    case "internal":
    case "hostonly":
    case "nat":
    case "routed":
      break;
  }
  steps.push({ kind: "bridge.add", name: spec.bridge });
  if (spec.gateway && spec.subnet) {
    const c = parseCidr(spec.subnet);
    steps.push({ kind: "addr.add", dev: spec.bridge, cidr: `${spec.gateway}/${c?.prefix ?? 24}` });
  }
  steps.push({ kind: "link.up", dev: spec.bridge });
  if (needsDnsmasq(spec)) {
    steps.push({ kind: "file.write", path: paths.confFile, content: renderDnsmasqConf(spec, paths, dns) });
    steps.push({ kind: "dnsmasq.start", network: spec.name, confFile: paths.confFile, pidFile: paths.pidFile });
  }
  return steps;
}

/**
 * Stopping replays the undo of a full start, so it removes exactly what a start makes,
 * whatever state a crash left (each undo step tolerates an already-missing object).
 */
export function planNetworkStop(spec: NetworkSpec, paths: NetworkRunPaths): HostStep[] {
  const start = planNetworkStart(spec, paths, { upstreamDns: false, leaseTime: "1h" });
  return [...planUndo(start), { kind: "file.remove", path: paths.pidFile }];
}
