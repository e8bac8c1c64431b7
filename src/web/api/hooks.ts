/** TanStack Query over the API: one key per resource, mutations that refresh what they change. */
import { useMutation, useQuery, useQueryClient, type UseMutationResult } from "@tanstack/react-query";
import { useApi } from "../auth.js";
import type { Api } from "./client.js";
import { ApiError } from "./client.js";
import { usePollInterval } from "./events.js";
import { keys } from "./keys.js";

export { keys };


export function useVms() {
  const api = useApi();
  return useQuery({ queryKey: keys.vms, queryFn: () => api.listVms(), refetchInterval: usePollInterval(2000) });
}

export function useVm(name: string) {
  const api = useApi();
  return useQuery({ queryKey: keys.vm(name), queryFn: () => api.showVm(name), refetchInterval: usePollInterval(2000) });
}

export function useNetworks() {
  const api = useApi();
  return useQuery({ queryKey: keys.networks, queryFn: () => api.listNetworks(), refetchInterval: usePollInterval(3000) });
}

export function useNetwork(name: string) {
  const api = useApi();
  return useQuery({ queryKey: keys.network(name), queryFn: () => api.showNetwork(name), refetchInterval: usePollInterval(2000) });
}

export function useHost() {
  const api = useApi();
  return useQuery({ queryKey: keys.host, queryFn: () => api.host(), refetchInterval: usePollInterval(3000) });
}

/** Room for new disks; read when the wizard's storage step shows, and again every 10 s there. */
export function useHostStorage() {
  const api = useApi();
  return useQuery({ queryKey: keys.storage, queryFn: () => api.hostStorage(), refetchInterval: 10000 });
}

/** A mutation that refreshes the VM and network lists when done (they show each other). */
export function useApiMutation<V, R>(fn: (api: Api, v: V) => Promise<R>): UseMutationResult<R, ApiError, V> {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation<R, ApiError, V>({
    mutationFn: (v) => fn(api, v),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.vms });
      void qc.invalidateQueries({ queryKey: keys.networks });
      void qc.invalidateQueries({ queryKey: keys.host });
    },
  });
}

export function asApiError(e: unknown): ApiError | null {
  return e instanceof ApiError ? e : null;
}
