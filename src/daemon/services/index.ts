/** The services of one daemon, wired together. */
import type { DaemonContext } from "../context.js";
import { Mutex } from "../util/mutex.js";
import { HostService } from "./host.js";
import { NetworksService } from "./networks.js";
import { VmsService } from "./vms.js";

export interface Services {
  networks: NetworksService;
  vms: VmsService;
  host: HostService;
}

export function createServices(ctx: DaemonContext): Services {
  const lock = new Mutex();
  const networks = new NetworksService(ctx, lock);
  const vms = new VmsService(ctx, lock, networks);
  networks.setVmNicResolver((vm, net) => ctx.store.getVm(vm)?.spec.nics.filter((n) => n.network === net).map((n) => n.mac) ?? []);
  return { networks, vms, host: new HostService(ctx, networks) };
}
