/** In-process publish/subscribe of daemon events; the WebSocket and the UI feed on it. */
import type { KvmgrEvent, Stamped } from "../../api/event.js";

export type Listener = (e: Stamped) => void;

export class EventBus {
  private seq = 0;
  private readonly listeners = new Set<Listener>();

  publish(e: KvmgrEvent): void {
    const stamped = { ...e, seq: ++this.seq, time: Date.now() };
    for (const l of this.listeners) {
      try {
        l(stamped);
      } catch {
        // A failing subscriber must not stop the publisher or the others.
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
