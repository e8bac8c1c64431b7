/** The tests' one way to wait: poll with a deadline, never sleep as synchronisation. */
import { setTimeout as delay } from "node:timers/promises";

/** Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await delay(stepMs);
  }
}

/** `until` for a condition: resolves once `holds()` is true. */
export async function untilTrue(what: string, timeoutMs: number, holds: () => boolean, stepMs = 5): Promise<void> {
  await until(what, timeoutMs, () => (holds() ? true : undefined), stepMs);
}
