/** Networks: observe the host, plan, apply with rollback, persist, report the host's truth. */
import { rmSync } from "node:fs";
import { KvmgrError, notFound } from "../../api/errors.js";
import type { Network, NetworkCreate } from "../../api/network.js";
import { planNetworkStart, planNetworkStop, networkRunPaths, needsDnsmasq } from "../../core/plan/network-plan.js";
import { validateNetworkCreate, type NetworkSpec } from "../../core/validate/network.js";
import { applySteps, undoSteps } from "../../host/apply.js";
import { readLeases } from "../../host/dnsmasq/leases.js";
import { observeLinks, observeRoutes, type LinkInfo } from "../../host/iproute/links.js";
import { isOurProcessAlive, readPidFile } from "../../host/proc.js";
import type { DaemonContext } from "../context.js";
import type { StoredNetwork } from "../store/store.js";
import type { Mutex } from "../util/mutex.js";

export class NetworksService {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly lock: Mutex,
  ) {}

  private paths(name: string) {
    return networkRunPaths(this.ctx.runDir, name);
  }

  private get(name: string): StoredNetwork {
    const n = this.ctx.store.getNetwork(name);
    if (!n) throw notFound("Network", name);
    return n;
  }

  dnsmasqPid(spec: NetworkSpec): number | null {
    const pidFile = this.paths(spec.name).pidFile;
    const pid = readPidFile(pidFile);
    return pid !== null && isOurProcessAlive(pid, this.paths(spec.name).confFile) ? pid : null;
  }

  /** Up on the host: the bridge exists and is up, and dnsmasq runs where it should. */
  private isUp(spec: NetworkSpec, links: readonly LinkInfo[]): boolean {
    const br = links.find((l) => l.name === spec.bridge);
    if (!br || br.kind !== "bridge" || !br.up) return false;
    return !needsDnsmasq(spec) || this.dnsmasqPid(spec) !== null;
  }

  private view(n: StoredNetwork, links: readonly LinkInfo[]): Network {
    const { spec } = n;
    const active = n.active && this.isUp(spec, links);
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
      ports: links.filter((l) => l.master === spec.bridge).map((l) => l.name).sort(),
      leases: active || spec.dhcp ? readLeases(this.paths(spec.name).leaseFile).map((l) => ({ mac: l.mac, ip: l.ip, hostname: l.hostname, expires: l.expires || null })) : [],
      dnsmasqPid: this.dnsmasqPid(spec),
    };
  }

  async list(): Promise<Network[]> {
    const links = await observeLinks(this.ctx.run, this.ctx.ns);
    return this.ctx.store.listNetworks().map((n) => this.view(n, links));
  }

  async show(name: string): Promise<Network> {
    const n = this.get(name);
    return this.view(n, await observeLinks(this.ctx.run, this.ctx.ns));
  }

  /** Leases by MAC across all networks, for VM addresses. */
  leasesByNetwork(): Map<string, { mac: string; ip: string }[]> {
    const out = new Map<string, { mac: string; ip: string }[]>();
    for (const n of this.ctx.store.listNetworks()) {
      if (n.spec.dhcp) out.set(n.spec.name, readLeases(this.paths(n.spec.name).leaseFile));
    }
    return out;
  }

  create(input: NetworkCreate): Promise<Network> {
    return this.lock.run(async () => {
      const [links, routes] = await Promise.all([observeLinks(this.ctx.run, this.ctx.ns), observeRoutes(this.ctx.run, this.ctx.ns)]);
      const stored = this.ctx.store.listNetworks();
      const ours = new Set(stored.map((n) => n.spec.bridge));
      const ownBridgeOf = (dev: string | null) => dev !== null && ours.has(dev);
      const spec = validateNetworkCreate(input, {
        networks: stored.map((n) => n.spec),
        hostLinks: links.filter((l) => !ours.has(l.name) && !(l.master !== null && ours.has(l.master))).map((l) => l.name),
        hostSubnets: routes.filter((r) => !ownBridgeOf(r.dev)).map((r) => r.dst),
      });
      this.ctx.store.putNetwork({ spec, active: false });
      this.ctx.log.info({ network: spec.name }, "network defined");
      this.ctx.events.publish({ type: "net.defined", network: spec.name });
      return this.view({ spec, active: false }, links);
    });
  }

  start(name: string): Promise<Network> {
    return this.lock.run(() => this.startLocked(name));
  }

  async startLocked(name: string): Promise<Network> {
    const n = this.get(name);
    const links = await observeLinks(this.ctx.run, this.ctx.ns);
    if (n.active && this.isUp(n.spec, links)) return this.view(n, links);
    const foreign = links.find((l) => l.name === n.spec.bridge);
    if (foreign && !n.active) {
      throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `An interface named '${n.spec.bridge}' already exists on the host and is not kvmgr's.`);
    }
    const paths = this.paths(name);
    // Whatever a crash left half-made is removed first, so start always begins clean.
    await undoSteps(this.deps(), planNetworkStop(n.spec, paths));
    const steps = planNetworkStart(n.spec, paths, { upstreamDns: this.ctx.lab === null, leaseTime: "1h" });
    // Recorded before touching the host: a crash in the middle leaves a record to undo from.
    this.ctx.store.putNetwork({ spec: n.spec, active: true });
    try {
      await applySteps(this.deps(), steps);
    } catch (e) {
      this.ctx.store.putNetwork({ spec: n.spec, active: false });
      throw e;
    }
    this.ctx.log.info({ network: name, bridge: n.spec.bridge }, "network started");
    this.ctx.events.publish({ type: "net.state", network: name, active: true });
    return this.view({ spec: n.spec, active: true }, await observeLinks(this.ctx.run, this.ctx.ns));
  }

  stop(name: string, runningVmsOn: (net: string) => string[]): Promise<Network> {
    return this.lock.run(async () => {
      const n = this.get(name);
      const vms = runningVmsOn(name);
      if (vms.length > 0) {
        throw new KvmgrError("KVMGR_ERR_NET_IN_USE", `Network '${name}' has running VMs (${vms.join(", ")}); stop them first.`);
      }
      await this.stopLocked(n);
      return this.view({ spec: n.spec, active: false }, await observeLinks(this.ctx.run, this.ctx.ns));
    });
  }

  private async stopLocked(n: StoredNetwork): Promise<void> {
    const failures = await undoSteps(this.deps(), planNetworkStop(n.spec, this.paths(n.spec.name)));
    this.ctx.store.putNetwork({ spec: n.spec, active: false });
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
      this.ctx.log.info({ network: name }, "network deleted");
      this.ctx.events.publish({ type: "net.deleted", network: name });
    });
  }

  private deps() {
    return { run: this.ctx.run, ns: this.ctx.ns, log: (msg: string, err?: unknown) => this.ctx.log.warn({ err }, msg) };
  }
}
