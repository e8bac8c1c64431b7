/**
 * One WebSocket to the daemon (`/v1/events`) for everything live: state changes refresh
 * the queries they concern, stats samples feed the graphs. It reconnects with backoff;
 * while it is down the lists still refresh by polling.
 */
import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { KvmgrEvent, Stamped } from "../../api/event.js";
import type { Vm } from "../../api/vm.js";
import { useApi } from "../auth.js";
import { StatsStore, type Point } from "./stats.js";
import { keys } from "./keys.js";

export type LinkState = "connecting" | "live" | "offline";

interface Events {
  state: LinkState;
  stats: StatsStore;
  /** listeners for raw events (e.g. a page that follows one network's leases) */
  subscribe: (fn: (e: Stamped) => void) => () => void;
}

const Ctx = createContext<Events | null>(null);

export function EventsProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const qc = useQueryClient();
  const [state, setState] = useState<LinkState>("connecting");
  const stats = useMemo(() => new StatsStore(), []);
  const listeners = useMemo(() => new Set<(e: Stamped) => void>(), []);

  useEffect(() => {
    let ws: WebSocket | null = null;
    let stopped = false;
    let delay = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const vcpusOf = (vm: string) => qc.getQueryData<Vm[]>(keys.vms)?.find((v) => v.name === vm)?.vcpus ?? 1;

    const onEvent = (e: Stamped) => {
      listeners.forEach((l) => l(e));
      const ev: KvmgrEvent = e;
      switch (ev.type) {
        case "vm.stats":
          stats.add(ev.vm, ev.sample, e.time, vcpusOf(ev.vm));
          return;
        case "vm.state":
        case "vm.defined":
        case "vm.deleted":
          if (ev.type === "vm.deleted" || (ev.type === "vm.state" && ev.state !== "running")) stats.forget(ev.vm);
          void qc.invalidateQueries({ queryKey: keys.vms });
          void qc.invalidateQueries({ queryKey: keys.vm(ev.vm) });
          void qc.invalidateQueries({ queryKey: keys.networks });
          return;
        case "net.state":
        case "net.defined":
        case "net.deleted":
        case "net.lease":
          void qc.invalidateQueries({ queryKey: keys.networks });
          void qc.invalidateQueries({ queryKey: keys.network(ev.network) });
          void qc.invalidateQueries({ queryKey: keys.host });
          if (ev.type === "net.lease") void qc.invalidateQueries({ queryKey: keys.vms });
          return;
        default:
          // Event types this UI does not know yet (a newer daemon): refresh everything cheap.
          void qc.invalidateQueries({ queryKey: keys.vms });
      }
    };

    const connect = () => {
      if (stopped) return;
      setState("connecting");
      ws = new WebSocket(api.wsUrl("/v1/events"));
      ws.onopen = () => {
        delay = 500;
        setState("live");
        // Anything may have changed while we were away.
        void qc.invalidateQueries();
      };
      ws.onmessage = (m) => {
        if (typeof m.data !== "string") return;
        try {
          const parsed = JSON.parse(m.data) as unknown;
          for (const e of Array.isArray(parsed) ? parsed : [parsed]) {
            if (e && typeof e === "object" && "type" in e) onEvent(e as Stamped);
          }
        } catch {
          /* not an event */
        }
      };
      ws.onclose = () => {
        ws = null;
        if (stopped) return;
        setState("offline");
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 15000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close();
    };
  }, [api, qc, stats, listeners]);

  const value = useMemo<Events>(
    () => ({
      state,
      stats,
      subscribe: (fn) => {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
    }),
    [state, stats, listeners],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useEvents(): Events {
  const v = useContext(Ctx);
  if (!v) throw new Error("useEvents outside EventsProvider");
  return v;
}

/** The live series of one VM; re-renders on each new sample. */
export function useVmSeries(vm: string): readonly Point[] {
  const { stats } = useEvents();
  useSyncExternalStore(stats.subscribe, stats.getVersion);
  return stats.get(vm);
}

/** How often lists poll: rarely while the event stream is up, often while it is down. */
export function usePollInterval(ms: number): number {
  const v = useContext(Ctx);
  // Live events refresh at once; a slow poll still catches what no event reports.
  return v?.state === "live" ? Math.max(ms, 5000) : ms;
}
