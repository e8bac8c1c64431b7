/**
 * Wire shapes of API parts that other branches are still building (osinfo, edit, port
 * forwards, stats). When they land in src/api, these become re-exports of those types.
 */
export interface OsInfo {
  id: string;
  name: string;
  family?: string | null;
  vendor?: string | null;
  version?: string | null;
  recommended?: { memoryMiB?: number | null; vcpus?: number | null; diskBytes?: number | null } | null;
}

export interface VmEdit {
  memoryMiB?: number;
  vcpus?: number;
  bootOrder?: string[];
}

export interface PortForward {
  id?: string;
  proto: "tcp" | "udp";
  hostPort: number;
  vm: string;
  port: number;
}

export interface PortForwardCreate {
  proto?: "tcp" | "udp";
  hostPort: number;
  vm: string;
  port: number;
}

/** One sample of a VM's counters; rates are computed by the UI from consecutive samples. */
export interface VmStats {
  time?: number;
  cpuPercent?: number;
  cpuTimeNs?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  diskReadBytes?: number;
  diskWriteBytes?: number;
  netRxBytes?: number;
  netTxBytes?: number;
}
