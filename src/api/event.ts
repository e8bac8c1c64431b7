/** Events the daemon publishes (over the WebSocket `/v1/events` and to in-process listeners). */
import type { VmStatsSample } from "./stats.js";

export type KvmgrEvent =
  | { type: "vm.state"; vm: string; state: string; reason?: string }
  | { type: "vm.defined"; vm: string }
  | { type: "vm.deleted"; vm: string }
  | { type: "vm.stats"; vm: string; sample: VmStatsSample }
  | { type: "net.state"; network: string; active: boolean }
  | { type: "net.defined"; network: string }
  | { type: "net.deleted"; network: string }
  | { type: "net.lease"; network: string; mac: string; ip: string; hostname: string | null };

export type KvmgrEventType = KvmgrEvent["type"];

/** Every event carries the time it happened (ms since the epoch) and a sequence number. */
export type Stamped<E extends KvmgrEvent = KvmgrEvent> = E & { seq: number; time: number };

// A record, not a list, so that a new event type fails to compile until it is named here.
const TYPES: Record<KvmgrEventType, true> = {
  "vm.state": true,
  "vm.defined": true,
  "vm.deleted": true,
  "vm.stats": true,
  "net.state": true,
  "net.defined": true,
  "net.deleted": true,
  "net.lease": true,
};
export const EVENT_TYPES = Object.keys(TYPES) as KvmgrEventType[];
