/**
 * Live move of a running VM's NIC to another network (the seed's S10, `brctl delif br0
 * vnet1; brctl addif isolationbr vnet1`, as one command): the tap changes bridge, the
 * guest's link goes down and up (QMP set_link) so its DHCP client asks the new network for
 * a lease, and the VM's definition follows.
 */
import { KvmgrError, notFound } from "../../api/errors.js";
import type { Vm } from "../../api/vm.js";
import { validateNicMove } from "../../core/validate/nic-move.js";
import type { DaemonContext } from "../context.js";
import type { Mutex } from "../util/mutex.js";
import type { NetworksService } from "./networks.js";
import type { VmsService } from "./vms.js";

export class VmNicsService {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly lock: Mutex,
    private readonly vms: VmsService,
    private readonly networks: NetworksService,
  ) {}

  /** Moves the NIC with `mac` of VM `name` to network `network`; a stopped VM only has its definition changed. */
  async move(name: string, mac: string, network: string): Promise<Vm> {
    // Checked before taking the lock: `networks.show` takes no lock, the host is only read.
    const target = this.ctx.store.getNetwork(network);
    const targetUp = target ? (await this.networks.show(network)).active : false;
    await this.lock.run(async () => {
      const v = this.ctx.store.getVm(name);
      if (!v) throw notFound("VM", name);
      const mv = validateNicMove(v.spec, mac, network, this.ctx.store.listNetworks().map((n) => n.spec.name));
      if (mv.from === mv.to) return;
      const running = this.vms.isAlive(v);
      if (running) {
        if (!targetUp || !target) {
          throw new KvmgrError("KVMGR_ERR_NET_INACTIVE", `Network '${network}' is not active; start it with 'kvmgr net start ${network}'.`);
        }
        const tap = v.runtime?.taps[mv.index];
        if (tap === undefined) throw new KvmgrError("KVMGR_ERR_INTERNAL", `VM '${name}' runs without a tap for NIC ${mv.index}.`);
        const qmp = this.vms.monitors.commands(name);
        const device = `nic${mv.index}`;
        // Carrier down while the tap changes bridge, up once it is there: the guest renews on the new network.
        await qmp?.setLink(device, false);
        try {
          await this.ctx.run.run(this.ctx.ns.ip(["link", "set", "dev", tap, "master", target.spec.bridge]));
        } finally {
          await qmp?.setLink(device, true);
        }
        if (!qmp) this.ctx.log.warn({ vm: name }, "no QMP connection: the NIC moved without a link flap");
      }
      this.ctx.store.putVm({ ...v, spec: mv.spec });
      this.ctx.log.info({ vm: name, mac: mv.spec.nics[mv.index]?.mac, from: mv.from, to: mv.to, live: running }, "vm NIC moved");
      this.ctx.events.publish({ type: "vm.defined", vm: name });
    });
    return this.vms.show(name);
  }
}
