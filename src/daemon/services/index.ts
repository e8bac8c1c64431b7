/** The services of one daemon, wired together. */
import type { Registry } from "prom-client";
import type { DaemonContext } from "../context.js";
import type { EventBus } from "../events/bus.js";
import { buildMetrics } from "../metrics.js";
import { Mutex } from "../util/mutex.js";
import { AddressBook } from "./addresses.js";
import { GuestAgents } from "./agent.js";
import { HostService } from "./host.js";
import { NetworksService } from "./networks.js";
import { SerialConsoles } from "./serial.js";
import { StatsSampler } from "./stats.js";
import { VmRuntime } from "./vm-runtime.js";
import { VmsService } from "./vms.js";
import { VmStorageService } from "./vm-storage.js";
import { OsService } from "./os.js";
import { VmNicsService } from "./vm-nics.js";
import { CaptureService } from "./capture.js";
import { DoctorService } from "./doctor.js";

export interface Services {
  networks: NetworksService;
  vms: VmsService;
  storage: VmStorageService;
  os: OsService;
  host: HostService;
  vmNics: VmNicsService;
  capture: CaptureService;
  doctor: DoctorService;
  events: EventBus;
  /** running QEMU of a VM, for the services below */
  runtime: VmRuntime;
  serial: SerialConsoles;
  agents: GuestAgents;
  addresses: AddressBook;
  stats: StatsSampler;
  metrics: Registry;
  /** stops the timers and connections of the services (the VMs keep running) */
  close(): void;
}

export function createServices(ctx: DaemonContext): Services {
  const lock = new Mutex();
  const networks = new NetworksService(ctx, lock);
  const vms = new VmsService(ctx, lock, networks);
  networks.setVmDirectory({
    nicMacs: (vm, net) => ctx.store.getVm(vm)?.spec.nics.filter((n) => n.network === net).map((n) => n.mac) ?? [],
    hostsOn: (net) => ctx.store.listVms().flatMap((v) => v.spec.nics.filter((n) => n.network === net).map((n) => ({ mac: n.mac, name: v.spec.name }))),
  });
  // VM names live in the networks' dnsmasq configs: follow definitions as they change.
  ctx.events.subscribe((e) => {
    if (e.type !== "vm.defined" && e.type !== "vm.deleted") return;
    networks.refreshVmHosts().catch((err: unknown) => ctx.log.warn({ err }, "could not update the VM names of the networks' dnsmasq"));
  });
  const runtime = new VmRuntime(ctx, vms);
  const serial = new SerialConsoles(ctx, runtime);
  const agents = new GuestAgents(ctx, runtime);
  const addresses = new AddressBook(ctx, runtime, agents);
  vms.addresses = addresses;
  const stats = new StatsSampler(ctx, runtime, vms.monitors);
  return {
    networks,
    vms,
    storage: new VmStorageService(vms),
    os: new OsService(ctx),
    host: new HostService(ctx, networks),
    vmNics: new VmNicsService(ctx, lock, vms, networks),
    capture: new CaptureService(ctx, vms),
    doctor: new DoctorService(ctx, lock, networks),
    events: ctx.events,
    runtime,
    serial,
    agents,
    addresses,
    stats,
    metrics: buildMetrics(ctx, runtime, stats),
    close: () => {
      stats.close();
      addresses.close();
      serial.close();
      agents.close();
    },
  };
}
