/** The managed host as one view: the seed's `brctl show`, `ip link`, forwarding and firewall. */
import type { HostInfo } from "../../api/host.js";
import { observeLinks } from "../../host/iproute/links.js";
import { lanNs } from "../../host/netns.js";
import type { DaemonContext } from "../context.js";
import type { NetworksService } from "./networks.js";

export const VERSION = "0.1.0";

export class HostService {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly networks: NetworksService,
  ) {}

  async show(): Promise<HostInfo> {
    const [links, fwd, nft, accel] = await Promise.all([
      observeLinks(this.ctx.run, this.ctx.ns),
      this.ctx.run.run(this.ctx.ns.argv(["cat", "/proc/sys/net/ipv4/ip_forward"]), { allowFail: true }),
      this.ctx.run.run(this.ctx.ns.argv(["nft", "list", "table", "inet", "kvmgr"]), { allowFail: true }),
      this.ctx.accel(),
    ]);
    return {
      mode: this.ctx.lab ? "lab" : "host",
      lab: this.ctx.lab,
      netns: this.ctx.ns.netns,
      lanNetns: this.ctx.lab ? lanNs(this.ctx.lab) : null,
      stateDir: this.ctx.stateDir,
      accel: accel.accel,
      accelReason: accel.reason,
      bridges: links
        .filter((l) => l.kind === "bridge")
        .map((b) => ({ name: b.name, up: b.up, addresses: b.addresses, ports: links.filter((l) => l.master === b.name).map((l) => l.name) })),
      links: links.map((l) => ({ name: l.name, kind: l.kind, master: l.master, up: l.up, mac: l.mac, addresses: l.addresses })),
      ipForward: fwd.stdout.trim() === "1",
      nftables: nft.code === 0 ? nft.stdout : "",
      dnsmasq: this.ctx.store.listNetworks().flatMap((n) => {
        const pid = this.networks.dnsmasqPid(n.spec);
        return pid === null ? [] : [{ network: n.spec.name, pid }];
      }),
      version: VERSION,
    };
  }
}
