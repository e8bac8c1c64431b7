/** What every service gets from the composition root. */
import type { Logger } from "pino";
import type { HostNs } from "../host/netns.js";
import type { Runner } from "../host/runner.js";
import type { Store } from "./store/store.js";
import type { AccelChoice } from "../host/qemu/accel.js";
import type { EventBus } from "./events/bus.js";
import type { OsinfoDb } from "../host/osinfo/osinfo-db.js";

export interface DaemonContext {
  run: Runner;
  ns: HostNs;
  store: Store;
  log: Logger;
  stateDir: string;
  /** run files: dnsmasq configs, pid files, sockets */
  runDir: string;
  /** where built images live (the test guest) */
  cacheDir: string;
  /** where new disk images go (STATE/disks) */
  diskDir: string;
  /** the OS database (osinfo-db), loaded on first use */
  osinfo: OsinfoDb;
  lab: string | null;
  accel: () => Promise<AccelChoice>;
  events: EventBus;
}
