/** Query keys: one per resource, so events and mutations refresh exactly what they change. */
export const keys = {
  vms: ["vms"] as const,
  vm: (name: string) => ["vms", name] as const,
  networks: ["networks"] as const,
  network: (name: string) => ["networks", name] as const,
  forwards: (name: string) => ["networks", name, "forwards"] as const,
  host: ["host"] as const,
  storage: ["host", "storage"] as const,
  os: (search: string) => ["os", search] as const,
};
