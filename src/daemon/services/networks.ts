/** Networks: observe the host, plan, apply with rollback, persist, report the host's truth. */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { chmodSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync } from "node:fs";
import { KvmgrError, notFound } from "../../api/errors.js";
import type { Network, NetworkCreate, NetworkEdit, PortForwardCreate, PortForwardView } from "../../api/network.js";
import { validateForwardAdd, validateForwardRemove } from "../../core/validate/forward.js";
import { planUndo } from "../../core/plan/host-step.js";
import {
  firewallOf,
  joinsHostBridge,
  needsDnsmasq,
  needsForwarding,
  networkRunPaths,
  planDnsmasqHostsUpdate,
  planNetworkStart,
  planNetworkStop,
  uplinkMoveOf,
} from "../../core/plan/network-plan.js";
import { renderDhcpHostsFile, type DnsmasqOptions, type VmHost } from "../../core/render/dnsmasq-conf.js";
import { chainName, hasNftRules, networkChains, networkRules, renderNetworkNft, type ChainRole, type ResolvedForward } from "../../core/render/nft-ruleset.js";
import { validateNetworkCreate, validateNetworkEdit, type NetworkSpec } from "../../core/validate/network.js";
import { routeArgs, applySteps, undoSteps } from "../../host/apply.js";
import { readLeases } from "../../host/dnsmasq/leases.js";
import { observeDhcpListeners, servesBridge } from "../../host/dhcp-listeners.js";
import { observeDefaultRouteDev, observeLinks, observeRoutes, observeUplink, type LinkInfo } from "../../host/iproute/links.js";
import { applyNft, kvmgrChains, observeRuleset, removeTableIfEmpty } from "../../host/nft/nft.js";
import type { NftRuleset } from "../../core/model/nft-json.js";
import { isOurProcessAlive, readPidFile } from "../../host/proc.js";
import { labRunDir } from "../../host/netns.js";
import type { DaemonContext } from "../context.js";
import type { ForeignRule, NetworkRuntime, StoredNetwork } from "../store/store.js";
import { analyzeForeignFirewall, commentOf, renderForeignFix, renderForeignRemoval, type DoctorNetwork } from "../../core/plan/firewall-doctor.js";
import type { Mutex } from "../util/mutex.js";
import { Forwarding } from "./forwarding.js";

/**
 * Where a daemon's networks keep the files their dnsmasq reads unprivileged (one directory
 * per state directory, outside the 0700 state directory). A lab's go inside the lab's run
 * directory, so `kvmgr lab delete` takes them along.
 */
export function dnsmasqPublicDir(stateDir: string, lab: string | null): string {
  const id = createHash("sha256").update(stateDir).digest("hex").slice(0, 16);
  return lab === null ? `/run/kvmgr/dnsmasq/${id}` : `${labRunDir(lab)}/dnsmasq/${id}`;
}

/** What the host looks like now, read once per request. */
interface Observed {
  links: LinkInfo[];
  chains: Set<string>;
  /** the whole ruleset, other programs' tables too */
  ruleset: NftRuleset;
}

/** What networks need to know of VMs (the VM service answers; networks know no VMs). */
export interface VmDirectory {
  /** MACs of a VM's NICs on a network */
  nicMacs(vm: string, network: string): string[];
  /** every VM NIC on a network, to name in DHCP and DNS */
  hostsOn(network: string): VmHost[];
}

export class NetworksService {
  readonly forwarding: Forwarding;
  /** the nft transaction last applied per network, to re-apply only when it changes */
  private readonly appliedNft = new Map<string, string>();
  /** lease file contents seen per network, for `net.lease` events */
  private readonly seenLeases = new Map<string, { mtimeMs: number; byMac: Map<string, string> }>();
  private vms: VmDirectory = { nicMacs: () => [], hostsOn: () => [] };
  /**
   * dnsmasq re-reads its hosts file after dropping root, so that file lives outside the
   * daemon's private state directory: /run/kvmgr/dnsmasq/<id of this state directory>.
   */
  private readonly publicDir: string;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly lock: Mutex,
  ) {
    this.forwarding = new Forwarding(ctx);
    this.publicDir = dnsmasqPublicDir(ctx.stateDir, ctx.lab);
  }

  setVmDirectory(d: VmDirectory): void {
    this.vms = d;
  }

  private dnsOptions(): DnsmasqOptions {
    return { upstreamDns: this.ctx.lab === null, leaseTime: "1h" };
  }

  /**
   * VMs came, went or moved: active networks whose hosts file names a different set of VMs
   * get the new one, and their dnsmasq re-reads it (SIGHUP: no restart, no lost lease).
   */
  refreshVmHosts(): Promise<void> {
    return this.lock.run(async () => {
      for (const n of this.ctx.store.listNetworks()) await this.refreshHostsLocked(n);
    });
  }

  /** The hosts file (reservations, VM names) of an active network as its spec says; dnsmasq re-reads it. */
  private async refreshHostsLocked(n: StoredNetwork): Promise<void> {
    if (!n.active || !needsDnsmasq(n.spec)) return;
    const paths = this.paths(n.spec.name);
    const hosts = this.vms.hostsOn(n.spec.name);
    const want = renderDhcpHostsFile(n.spec, hosts);
    let have = "";
    try {
      have = readFileSync(paths.hostsFile, "utf8");
    } catch {
      /* missing: rewritten below */
    }
    if (have === want || this.dnsmasqPid(n.spec) === null) return;
    await applySteps(this.deps(), planDnsmasqHostsUpdate(n.spec, paths, hosts));
    this.ctx.log.info({ network: n.spec.name, hosts: hosts.length, reservations: n.spec.dhcpHosts.length }, "dnsmasq re-read the network's reservations and VM names");
  }

  /** Changes autostart or the DHCP reservations; a running dnsmasq takes new reservations at once. */
  edit(name: string, body: NetworkEdit): Promise<Network> {
    return this.lock.run(async () => {
      const cur = this.get(name);
      const n: StoredNetwork = { ...cur, spec: validateNetworkEdit(cur.spec, body) };
      this.ctx.store.putNetwork(n);
      await this.refreshHostsLocked(n);
      this.ctx.log.info({ network: name, edit: Object.keys(body) }, "network changed");
      this.ctx.events.publish({ type: "net.defined", network: name });
      return this.view(n, await this.observe());
    });
  }

  private paths(name: string) {
    return networkRunPaths(this.ctx.runDir, name, this.publicDir);
  }

  private get(name: string): StoredNetwork {
    const n = this.ctx.store.getNetwork(name);
    if (!n) throw notFound("Network", name);
    return n;
  }

  private async observe(): Promise<Observed> {
    const [links, rs] = await Promise.all([observeLinks(this.ctx.run, this.ctx.ns), observeRuleset(this.ctx.run, this.ctx.ns)]);
    return { links, chains: new Set(kvmgrChains(rs)), ruleset: rs };
  }

  dnsmasqPid(spec: NetworkSpec): number | null {
    const pidFile = this.paths(spec.name).pidFile;
    const pid = readPidFile(pidFile);
    return pid !== null && isOurProcessAlive(pid, this.paths(spec.name).confFile) ? pid : null;
  }

  /** The chains that must exist for the network to be up (port forwards' chain comes and goes with leases). */
  private wantedChains(spec: NetworkSpec): string[] {
    const roles = Object.keys(networkRules(firewallOf(spec, []))) as ChainRole[];
    return roles.map((r) => chainName(r, spec.name));
  }

  /** Up on the host, all but the firewall: bridge up (with its uplink enslaved), dnsmasq alive. */
  private linksUp(spec: NetworkSpec, links: readonly LinkInfo[]): boolean {
    const br = links.find((l) => l.name === spec.bridge);
    if (!br || br.kind !== "bridge" || !br.up) return false;
    if (spec.mode === "bridge") return spec.uplink === null || links.some((l) => l.name === spec.uplink && l.master === spec.bridge);
    return !needsDnsmasq(spec) || this.dnsmasqPid(spec) !== null;
  }

  /**
   * Can a VM be plugged in: marked active, bridge up, dnsmasq alive. The firewall is not read
   * (that is `net show`'s and doctor's business): a VM start needs one `ip link` call, no more.
   */
  readyForVms(name: string, links: readonly LinkInfo[]): boolean {
    const n = this.get(name);
    return n.active && this.linksUp(n.spec, links);
  }

  private isUp(spec: NetworkSpec, o: Observed): boolean {
    return this.linksUp(spec, o.links) && this.wantedChains(spec).every((c) => o.chains.has(c));
  }

  /** Port forwards with the address each goes to now (the VM's lease on this network). */
  private forwardViews(spec: NetworkSpec): PortForwardView[] {
    const leases = spec.forwards.length > 0 ? this.leasesOf(spec) : [];
    return spec.forwards.map((f) => {
      const macs = this.vms.nicMacs(f.vm, spec.name);
      const lease = leases.find((l) => macs.includes(l.mac));
      return { ...f, ip: lease?.ip ?? null };
    });
  }

  resolvedForwards(spec: NetworkSpec): ResolvedForward[] {
    return this.forwardViews(spec).flatMap((f) => (f.ip === null ? [] : [{ proto: f.proto as "tcp" | "udp", hostPort: f.hostPort, ip: f.ip, port: f.port }]));
  }

  private view(n: StoredNetwork, o: Observed): Network {
    const { spec } = n;
    const active = n.active && this.isUp(spec, o);
    const moved = n.runtime?.moved ?? null;
    return {
      name: spec.name,
      mode: spec.mode,
      bridge: spec.bridge,
      subnet: spec.subnet,
      gateway: spec.gateway,
      active,
      autostart: spec.autostart,
      dhcp: spec.dhcp,
      dhcpHosts: spec.dhcpHosts,
      uplink: spec.uplink,
      tftpRoot: spec.tftpRoot,
      bootFile: spec.bootFile,
      ports: o.links.filter((l) => l.master === spec.bridge).map((l) => l.name).sort(),
      leases: this.leasesOf(spec).map((l) => ({ mac: l.mac, ip: l.ip, hostname: l.hostname, expires: l.expires || null })),
      dnsmasqPid: this.dnsmasqPid(spec),
      forwards: this.forwardViews(spec),
      nftChains: networkChains(spec.name).filter((c) => o.chains.has(c)),
      moved: moved && n.active
        ? { dev: moved.dev, addresses: moved.addresses.map((a) => `${a.local}/${a.prefixlen}`), routes: moved.routes.map((r) => routeArgs(r, moved.bridge)) }
        : null,
    };
  }

  async list(): Promise<Network[]> {
    const o = await this.observe();
    return this.ctx.store.listNetworks().map((n) => this.view(n, o));
  }

  async show(name: string): Promise<Network> {
    const n = this.get(name);
    return this.view(n, await this.observe());
  }

  /**
   * The lease file that tells a network's VM addresses: its own dnsmasq's; for bridge mode
   * in a lab, the LAN deployment server's (on a real LAN kvmgr cannot see the leases).
   */
  private leaseFileOf(spec: NetworkSpec): string | null {
    if (spec.dhcp) return this.paths(spec.name).leaseFile;
    if (spec.mode === "bridge" && this.ctx.lab !== null) return `${labRunDir(this.ctx.lab)}/dnsmasq.leases`;
    return null;
  }

  private leasesOf(spec: NetworkSpec) {
    const f = this.leaseFileOf(spec);
    if (f === null) return [];
    const all = readLeases(f);
    if (spec.dhcp) return all;
    // The LAN server's leases of this network's VMs only (the LAN has other clients).
    const macs = new Set(this.vms.hostsOn(spec.name).map((h) => h.mac));
    return all.filter((l) => macs.has(l.mac));
  }

  /** Leases by MAC across all networks, for VM addresses. */
  leasesByNetwork(): Map<string, { mac: string; ip: string }[]> {
    const out = new Map<string, { mac: string; ip: string }[]>();
    for (const n of this.ctx.store.listNetworks()) {
      if (this.leaseFileOf(n.spec) !== null) out.set(n.spec.name, this.leasesOf(n.spec));
    }
    return out;
  }

  create(input: NetworkCreate): Promise<Network> {
    return this.lock.run(async () => {
      const [o, routes] = await Promise.all([this.observe(), observeRoutes(this.ctx.run, this.ctx.ns)]);
      const stored = this.ctx.store.listNetworks();
      // kvmgr's own bridges (not those bridge-mode networks merely join) and their ports.
      const ours = new Set(stored.filter((n) => !joinsHostBridge(n.spec)).map((n) => n.spec.bridge));
      const ownBridgeOf = (dev: string | null) => dev !== null && ours.has(dev);
      const hostLinks = o.links.filter((l) => !ours.has(l.name) && !(l.master !== null && ours.has(l.master) && l.kind === "tun"));
      const spec = validateNetworkCreate(input, {
        networks: stored.map((n) => n.spec),
        hostLinks: hostLinks.map((l) => l.name),
        hostBridges: hostLinks.filter((l) => l.kind === "bridge").map((l) => l.name),
        hostMasters: Object.fromEntries(hostLinks.flatMap((l) => (l.master !== null ? [[l.name, l.master]] : []))),
        hostSubnets: routes.filter((r) => !ownBridgeOf(r.dev)).map((r) => r.dst),
      });
      const n: StoredNetwork = { spec, active: false, runtime: null };
      this.ctx.store.putNetwork(n);
      this.ctx.log.info({ network: spec.name }, "network defined");
      this.ctx.events.publish({ type: "net.defined", network: spec.name });
      return this.view(n, o);
    });
  }

  start(name: string): Promise<Network> {
    return this.lock.run(() => this.startLocked(name));
  }

  private async startLocked(name: string): Promise<Network> {
    const n = this.get(name);
    const { spec } = n;
    // Read together: the host as it is, and who else serves DHCP there.
    const [o0, dhcpListeners] = await Promise.all([this.observe(), needsDnsmasq(spec) ? observeDhcpListeners(this.ctx.run, this.ctx.ns) : Promise.resolve([])]);
    let o = o0;
    if (n.active && this.isUp(spec, o)) return this.view(n, o);
    // Re-adoption: everything runs but some of kvmgr's chains are gone: put back the rules only.
    if (n.active && n.runtime && this.linksUp(spec, o.links)) {
      await this.applyFirewall(n);
      this.ctx.log.warn({ network: name }, "network's firewall chains were missing and are restored");
      return this.view(n, await this.observe());
    }

    if (joinsHostBridge(spec)) {
      const br = o.links.find((l) => l.name === spec.bridge);
      if (!br || br.kind !== "bridge") {
        throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `The host has no bridge named '${spec.bridge}' for network '${name}' to join.`);
      }
      if (!br.up) throw new KvmgrError("KVMGR_ERR_NET_INACTIVE", `Host bridge '${spec.bridge}' is down; bring it up first.`);
      return this.finishStart(n, { moved: null, forwarding: [], foreign: [] });
    }

    const foreign = o.links.find((l) => l.name === spec.bridge);
    if (foreign && !n.active) {
      throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `An interface named '${spec.bridge}' already exists on the host and is not kvmgr's.`);
    }
    if (spec.tftpRoot !== null && !statSync(spec.tftpRoot, { throwIfNoEntry: false })?.isDirectory()) {
      throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `The TFTP root ${spec.tftpRoot} of network '${name}' is not a directory; 'kvmgr net pxe-root ${spec.tftpRoot}' makes one with the test guest's PXE files.`);
    }
    if (needsDnsmasq(spec)) {
      const other = dhcpListeners.find((l) => servesBridge(l, spec.bridge) && (l.pid === null || l.pid !== this.dnsmasqPid(spec)));
      if (other) {
        const who = other.process ? `${other.process}${other.pid !== null ? ` (pid ${other.pid})` : ""}` : "another program";
        const where = other.device ? `on ${other.device}` : "on every interface";
        throw new KvmgrError(
          "KVMGR_ERR_NET_CONFLICT",
          `Another DHCP server, ${who}, already listens on udp port 67 ${where}; kvmgr will not start a second one for bridge '${spec.bridge}'.`,
        );
      }
    }

    const paths = this.paths(name);
    if (needsDnsmasq(spec)) {
      // World-readable (dnsmasq reads the hosts file as nobody); /run/kvmgr holds only such files.
      mkdirSync(this.publicDir, { recursive: true, mode: 0o755 });
      for (let d = this.publicDir; d.startsWith("/run/kvmgr"); d = dirname(d)) chmodSync(d, 0o755);
    }
    // Whatever a crash left half-made is removed first, so start always begins clean. A network
    // stopped cleanly with nothing of it on the host (the usual start) has nothing to remove.
    const leftovers =
      n.active || n.runtime !== null || o.links.some((l) => l.name === spec.bridge) || networkChains(name).some((c) => o.chains.has(c)) || this.dnsmasqPid(spec) !== null;
    if (leftovers) {
      await undoSteps(this.deps(), planNetworkStop(spec, paths, n.runtime?.moved ?? null));
      if (n.runtime) await this.forwarding.release(n.runtime.forwarding, this.forwardingNeededBy(name));
      o = await this.observe();
    }

    let uplink = null;
    if (spec.mode === "bridge" && spec.uplink !== null) {
      const nic = o.links.find((l) => l.name === spec.uplink);
      if (!nic) throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `The host has no interface named '${spec.uplink}' to enslave.`);
      if (nic.master !== null) {
        throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Interface '${spec.uplink}' is already a port of '${nic.master}'.`);
      }
      uplink = await observeUplink(this.ctx.run, this.ctx.ns, spec.uplink);
    }
    const fwdIfaces: string[] = [];
    let outIface: string | null = null;
    if (needsForwarding(spec)) {
      if (spec.uplink !== null && !o.links.some((l) => l.name === spec.uplink)) {
        throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `The host has no interface named '${spec.uplink}' for network '${name}' to go out by (its --uplink).`);
      }
      outIface = spec.uplink ?? (await observeDefaultRouteDev(this.ctx.run, this.ctx.ns));
      fwdIfaces.push(spec.bridge, ...(outIface !== null && outIface !== spec.bridge ? [outIface] : []));
    }
    const runtime: NetworkRuntime = { moved: uplinkMoveOf(spec, uplink), forwarding: fwdIfaces, foreign: [], outIface };
    const steps = planNetworkStart({
      spec,
      paths,
      dns: this.dnsOptions(),
      uplink,
      forwards: this.resolvedForwards(spec),
      inbound: outIface,
      vmHosts: this.vms.hostsOn(name),
    });
    // Recorded before touching the host: a crash in the middle leaves a record to undo from.
    this.ctx.store.putNetwork({ spec, active: true, runtime });
    try {
      await applySteps(this.deps(), steps);
      const nft = steps.find((st) => st.kind === "nft.apply");
      if (nft?.kind === "nft.apply") this.appliedNft.set(name, nft.text);
    } catch (e) {
      this.ctx.store.putNetwork({ spec, active: false, runtime: null });
      await removeTableIfEmpty(this.ctx.run, this.ctx.ns).catch(() => undefined);
      throw e;
    }
    try {
      await this.forwarding.enable(runtime.forwarding);
    } catch (e) {
      await this.forwarding.release(runtime.forwarding, this.forwardingNeededBy(name)).catch(() => undefined);
      await undoSteps(this.deps(), planUndo(steps));
      this.ctx.store.putNetwork({ spec, active: false, runtime: null });
      await removeTableIfEmpty(this.ctx.run, this.ctx.ns).catch(() => undefined);
      throw e;
    }
    if (runtime.moved) await this.followUplinkMove(runtime.moved.dev, runtime.moved.bridge);
    return this.finishStart(n, runtime, o.ruleset);
  }

  /**
   * A bridge-mode network took `from`'s addresses and routes onto `to` (or gave them back):
   * nat and routed networks that follow the default route (no --uplink) now go out by `to`,
   * and their forwarding and port-forward rules go along. (libvirt turns forwarding on for
   * every interface and never meets this; kvmgr keeps it per interface.)
   */
  private async followUplinkMove(from: string, to: string): Promise<void> {
    try {
      let moved = 0;
      for (const o of this.ctx.store.listNetworks()) {
        if (!o.active || !o.runtime || o.spec.uplink !== null || o.runtime.outIface !== from) continue;
        await this.forwarding.enable([to]);
        const next: StoredNetwork = { ...o, runtime: { ...o.runtime, outIface: to, forwarding: [o.spec.bridge, ...(to !== o.spec.bridge ? [to] : [])] } };
        this.ctx.store.putNetwork(next);
        await this.applyFirewall(next);
        moved++;
      }
      if (moved > 0) {
        await this.forwarding.release([from], this.forwardingNeededBy(""));
        this.ctx.log.info({ from, to, networks: moved }, "networks follow the default route to its new interface");
      }
    } catch (err) {
      // The bridge network itself is fine; `net show` and doctor tell what is still missing.
      this.ctx.log.warn({ err, from, to }, "could not move nat/routed networks to the new uplink interface");
    }
  }

  /** `before`: the ruleset read before this start changed kvmgr's table (other programs' tables are as they were). */
  private async finishStart(n: StoredNetwork, runtime: NetworkRuntime, before?: NftRuleset): Promise<Network> {
    try {
      runtime = { ...runtime, foreign: await this.letThroughForeign(n.spec, before) };
    } catch (err) {
      // The network runs; `host doctor` names what still drops its traffic.
      this.ctx.log.warn({ err, network: n.spec.name }, "could not add accepts to other programs' firewall chains");
    }
    const stored: StoredNetwork = { spec: n.spec, active: true, runtime };
    this.ctx.store.putNetwork(stored);
    this.ctx.log.info({ network: n.spec.name, bridge: n.spec.bridge }, "network started");
    this.ctx.events.publish({ type: "net.state", network: n.spec.name, active: true });
    return this.view(stored, await this.observe());
  }

  /** Interfaces whose forwarding other active networks still need. */
  private forwardingNeededBy(except: string): Set<string> {
    return new Set(
      this.ctx.store
        .listNetworks()
        .filter((o) => o.spec.name !== except && o.active)
        .flatMap((o) => o.runtime?.forwarding ?? []),
    );
  }

  stop(name: string, runningVmsOn: (net: string) => string[]): Promise<Network> {
    return this.lock.run(async () => {
      const n = this.get(name);
      const vms = runningVmsOn(name);
      if (vms.length > 0) {
        throw new KvmgrError("KVMGR_ERR_NET_IN_USE", `Network '${name}' has running VMs (${vms.join(", ")}); stop them first.`);
      }
      await this.stopLocked(n);
      return this.view({ spec: n.spec, active: false, runtime: null }, await this.observe());
    });
  }

  private async stopLocked(n: StoredNetwork): Promise<void> {
    const failures: unknown[] = [];
    await this.removeForeign(n.spec.name).catch((e: unknown) => failures.push(e));
    if (n.runtime) {
      await this.forwarding.release(n.runtime.forwarding, this.forwardingNeededBy(n.spec.name)).catch((e: unknown) => failures.push(e));
    }
    failures.push(...(await undoSteps(this.deps(), planNetworkStop(n.spec, this.paths(n.spec.name), n.runtime?.moved ?? null))));
    const moved = n.runtime?.moved;
    if (moved) await this.followUplinkMove(moved.bridge, moved.dev);
    await removeTableIfEmpty(this.ctx.run, this.ctx.ns).catch((e: unknown) => failures.push(e));
    this.appliedNft.delete(n.spec.name);
    this.ctx.store.putNetwork({ spec: n.spec, active: false, runtime: null });
    if (failures.length > 0) throw failures[0];
    this.ctx.log.info({ network: n.spec.name }, "network stopped");
    this.ctx.events.publish({ type: "net.state", network: n.spec.name, active: false });
  }

  delete(name: string, vmsOn: (net: string) => string[]): Promise<void> {
    return this.lock.run(async () => {
      const n = this.get(name);
      const vms = vmsOn(name);
      if (vms.length > 0) {
        throw new KvmgrError("KVMGR_ERR_NET_IN_USE", `Network '${name}' is used by VM(s) ${vms.join(", ")}; remove their NICs or delete them first.`);
      }
      await this.stopLocked(n);
      this.ctx.store.deleteNetwork(name);
      rmSync(this.paths(name).dir, { recursive: true, force: true });
      rmSync(this.paths(name).hostsFile, { force: true });
      try {
        rmdirSync(this.publicDir);
      } catch {
        /* other networks' files are still there, or it never existed */
      }
      this.ctx.log.info({ network: name }, "network deleted");
      this.ctx.events.publish({ type: "net.deleted", network: name });
    });
  }

  /** Port forwards of a network, with the VM address each goes to now. */
  forwards(name: string): PortForwardView[] {
    return this.forwardViews(this.get(name).spec);
  }

  addForward(name: string, input: PortForwardCreate, vmExists: (vm: string) => boolean): Promise<Network> {
    return this.lock.run(async () => {
      const n = this.get(name);
      const f = validateForwardAdd(input, {
        network: n.spec,
        networks: this.ctx.store.listNetworks().map((o) => o.spec),
        vmsOnNetwork: [...new Set(this.vms.hostsOn(name).map((h) => h.name))],
        vmExists,
      });
      const spec = { ...n.spec, forwards: [...n.spec.forwards, f] };
      await this.updateForwards(n, spec);
      this.ctx.log.info({ network: name, forward: f }, "port forward added");
      return this.view({ ...n, spec }, await this.observe());
    });
  }

  removeForward(name: string, proto: "tcp" | "udp", hostPort: number): Promise<Network> {
    return this.lock.run(async () => {
      const n = this.get(name);
      const spec = { ...n.spec, forwards: validateForwardRemove(n.spec, proto, hostPort) };
      await this.updateForwards(n, spec);
      this.ctx.log.info({ network: name, proto, hostPort }, "port forward removed");
      return this.view({ ...n, spec }, await this.observe());
    });
  }

  /** A VM renamed: its port forwards follow it (their rules, made from addresses, stay as they are); caller holds the lock. */
  renameForwardsToLocked(vm: string, newName: string): void {
    for (const n of this.ctx.store.listNetworks()) {
      if (!n.spec.forwards.some((f) => f.vm === vm)) continue;
      this.ctx.store.putNetwork({ ...n, spec: { ...n.spec, forwards: n.spec.forwards.map((f) => (f.vm === vm ? { ...f, vm: newName } : f)) } });
    }
  }

  /**
   * A deleted VM's port forwards go with it, so a VM made later under its name inherits none.
   * The caller holds the lock (the VM's delete). A network whose rules cannot be re-applied keeps them.
   */
  async dropForwardsToLocked(vm: string): Promise<void> {
    for (const n of this.ctx.store.listNetworks()) {
      const keep = n.spec.forwards.filter((f) => f.vm !== vm);
      if (keep.length === n.spec.forwards.length) continue;
      try {
        await this.updateForwards(n, { ...n.spec, forwards: keep });
        this.ctx.log.info({ network: n.spec.name, vm, removed: n.spec.forwards.length - keep.length }, "port forwards of a deleted VM removed");
      } catch (err) {
        this.ctx.log.warn({ err, network: n.spec.name, vm }, "could not remove the port forwards of a deleted VM");
      }
    }
  }

  /** Stores the new forwards; an active network gets its whole rule set re-applied in one transaction. */
  private async updateForwards(n: StoredNetwork, spec: NetworkSpec): Promise<void> {
    if (n.active) await this.applyFirewall({ ...n, spec });
    this.ctx.store.putNetwork({ ...n, spec });
  }

  /** A network's rules as they must be now: its forwards resolved to the VMs' current addresses. */
  private firewallNow(n: StoredNetwork) {
    return firewallOf(n.spec, this.resolvedForwards(n.spec), n.runtime?.outIface ?? null);
  }

  private async applyFirewall(n: StoredNetwork): Promise<void> {
    const { spec } = n;
    const fw = this.firewallNow(n);
    if (!hasNftRules(fw)) return;
    const text = renderNetworkNft(fw);
    await applyNft(this.ctx.run, this.ctx.ns, text);
    this.appliedNft.set(spec.name, text);
  }

  /**
   * Called periodically: publishes `net.lease` for new or changed leases and re-applies a
   * network's rules when a port forward's VM got a new address (forwards follow the lease,
   * and the VM's definition: a VM deleted and made again, a NIC moved).
   */
  async pollLeases(): Promise<void> {
    const followUps: string[] = [];
    for (const n of this.ctx.store.listNetworks()) {
      if (!n.active) continue;
      const file = this.leaseFileOf(n.spec);
      if (file === null) continue;
      let mtimeMs: number;
      try {
        mtimeMs = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      if (n.spec.forwards.length > 0) followUps.push(n.spec.name);
      const prev = this.seenLeases.get(n.spec.name);
      if (prev?.mtimeMs === mtimeMs) continue;
      const byMac = new Map<string, string>();
      for (const l of readLeases(file)) {
        byMac.set(l.mac, l.ip);
        if (prev && prev.byMac.get(l.mac) !== l.ip) {
          this.ctx.events.publish({ type: "net.lease", network: n.spec.name, mac: l.mac, ip: l.ip, hostname: l.hostname });
        }
      }
      this.seenLeases.set(n.spec.name, { mtimeMs, byMac });
    }
    for (const name of followUps) {
      const n = this.ctx.store.getNetwork(name);
      if (!n || this.appliedNft.get(name) === renderNetworkNft(this.firewallNow(n))) continue;
      await this.lock.run(async () => {
        const n = this.ctx.store.getNetwork(name);
        if (!n?.active) return;
        if (this.appliedNft.get(name) === renderNetworkNft(this.firewallNow(n))) return;
        await this.applyFirewall(n);
        this.ctx.log.info({ network: name }, "port forwards follow new VM addresses");
      });
    }
  }

  /** What the doctor needs of a network. */
  doctorView(spec: NetworkSpec): DoctorNetwork {
    return {
      name: spec.name,
      mode: spec.mode,
      bridge: spec.bridge,
      subnet: spec.mode === "bridge" ? null : spec.subnet,
      dhcp: needsDnsmasq(spec),
      tftp: spec.tftpRoot !== null,
    };
  }

  /**
   * Other programs' chains that drop this network's traffic (Docker, firewalld, ufw) get
   * narrow accepts of kvmgr at their top, in one transaction; returns what was added.
   */
  async letThroughForeign(spec: NetworkSpec, observed?: NftRuleset): Promise<ForeignRule[]> {
    const rs = observed ?? (await observeRuleset(this.ctx.run, this.ctx.ns));
    const todo = analyzeForeignFirewall(rs, [this.doctorView(spec)]).filter((f) => f.fixable);
    const open = todo.filter((f) => !f.fixed);
    if (open.length > 0) {
      await applyNft(this.ctx.run, this.ctx.ns, open.map((f) => renderForeignFix(rs, f)).join(""));
      this.ctx.log.info({ network: spec.name, chains: open.map((f) => `${f.family} ${f.table} ${f.chain}`) }, "accepts added to other programs' firewall chains");
    }
    return todo.flatMap((f) => f.rules.map((rule) => ({ family: f.family, table: f.table, chain: f.chain, comment: commentOf(spec.name), rule })));
  }

  /** Removes every rule marked as this network's from other programs' chains. */
  private async removeForeign(name: string): Promise<void> {
    const text = renderForeignRemoval(await observeRuleset(this.ctx.run, this.ctx.ns), name);
    if (text !== "") await applyNft(this.ctx.run, this.ctx.ns, text);
  }

  /** Records the foreign accepts of an active network (after the doctor fixed them). */
  recordForeign(name: string, foreign: ForeignRule[]): void {
    const n = this.ctx.store.getNetwork(name);
    if (n?.active && n.runtime) this.ctx.store.putNetwork({ ...n, runtime: { ...n.runtime, foreign } });
  }

  private deps() {
    return { run: this.ctx.run, ns: this.ctx.ns, log: (msg: string, err?: unknown) => this.ctx.log.warn({ err }, msg) };
  }
}
