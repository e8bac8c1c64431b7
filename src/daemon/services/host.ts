/** The managed host as one view: the seed's `brctl show`, `ip link`, forwarding and firewall. */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { HostInfo, HostStorage } from "../../api/host.js";
import { diskSpace } from "../../host/disk/images.js";
import { NFT_FAMILY, NFT_TABLE } from "../../core/render/nft-ruleset.js";
import { observeLinks } from "../../host/iproute/links.js";
import { listKvmgrTable } from "../../host/nft/nft.js";
import { observeForwarding } from "../../host/sysctl.js";
import { lanNs } from "../../host/netns.js";
import type { DaemonContext } from "../context.js";
import type { NetworksService } from "./networks.js";

export const VERSION = "0.1.0";

export class HostService {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly networks: NetworksService,
  ) {}

  /** The room for new disk images (read on the nearest existing directory: a GET creates nothing). */
  storage(): HostStorage {
    let dir = this.ctx.diskDir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    return { dir: this.ctx.diskDir, ...diskSpace(dir) };
  }

  async show(): Promise<HostInfo> {
    const [links, forwarding, nft, nftJson, accel] = await Promise.all([
      observeLinks(this.ctx.run, this.ctx.ns),
      observeForwarding(this.ctx.run, this.ctx.ns),
      listKvmgrTable(this.ctx.run, this.ctx.ns),
      this.ctx.run.run(this.ctx.ns.argv(["nft", "-j", "list", "table", NFT_FAMILY, NFT_TABLE]), { allowFail: true }),
      this.ctx.accel(),
    ]);
    const json = nftJson.code === 0 ? ((JSON.parse(nftJson.stdout) as { nftables?: object[] }).nftables ?? []) : [];
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
      ipForward: forwarding.all === true,
      forwarding,
      sysctlSaves: this.ctx.store.listSysctlSaves(),
      nftables: nft,
      nftablesJson: json.filter((o) => !("metainfo" in o)),
      dnsmasq: this.ctx.store.listNetworks().flatMap((n) => {
        const pid = this.networks.dnsmasqPid(n.spec);
        return pid === null ? [] : [{ network: n.spec.name, pid }];
      }),
      storage: this.storage(),
      version: VERSION,
    };
  }
}
