/** The services of one daemon, wired together. */
import type { DaemonContext } from "../context.js";
import { Mutex } from "../util/mutex.js";
import { HostService } from "./host.js";
import { NetworksService } from "./networks.js";
import { VmsService } from "./vms.js";
import { VmStorageService } from "./vm-storage.js";
import { OsService } from "./os.js";

export interface Services {
  networks: NetworksService;
  vms: VmsService;
  storage: VmStorageService;
  os: OsService;
  host: HostService;
}

export function createServices(ctx: DaemonContext): Services {
  const lock = new Mutex();
  const networks = new NetworksService(ctx, lock);
  const vms = new VmsService(ctx, lock, networks);
  return { networks, vms, storage: new VmStorageService(vms), os: new OsService(ctx), host: new HostService(ctx, networks) };
}
