/**
 * Typed wrappers for the QMP commands kvmgr uses.
 *
 * Replies are validated rather than cast: a QEMU upgrade that changes a reply
 * shape should fail loudly here, not as `undefined` somewhere downstream.
 */
import { QmpDisconnectedError, type QmpExecuteOptions } from "./qmp-monitor.js";
import { QmpProtocolError } from "./qmp-protocol.js";

/** What the wrappers need from a monitor; lets tests substitute a stub. */
export interface QmpExecutor {
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: QmpExecuteOptions,
  ): Promise<T>;
}

/**
 * QEMU run states (`RunState` in the QAPI schema). Kept open-ended because
 * newer QEMUs add states.
 */
export type QmpRunState =
  | "debug"
  | "inmigrate"
  | "internal-error"
  | "io-error"
  | "paused"
  | "postmigrate"
  | "prelaunch"
  | "finish-migrate"
  | "restore-vm"
  | "running"
  | "save-vm"
  | "shutdown"
  | "suspended"
  | "watchdog"
  | "guest-panicked"
  | "colo"
  | (string & {});

/** Result of {@link QmpCommands.queryStatus}. */
export interface QmpStatus {
  status: QmpRunState;
  running: boolean;
}

/** One vCPU from `query-cpus-fast`; `threadId` is the host TID, for pinning. */
export interface QmpCpu {
  cpuIndex: number;
  threadId: number;
  qomPath: string;
  target: string;
}

/** I/O counters of one block device from `query-blockstats`. */
export interface QmpBlockStats {
  /** Legacy drive name; empty for `-blockdev` nodes. */
  device: string;
  qdev: string | undefined;
  nodeName: string | undefined;
  rdBytes: number;
  wrBytes: number;
  rdOperations: number;
  wrOperations: number;
  flushOperations: number;
}

/** Arguments of `netdev_add`: a backend type, an id, and type-specific properties. */
export interface NetdevAddArgs {
  type: string;
  id: string;
  [property: string]: unknown;
}

/** Arguments of `device_add`: a driver, an id, and driver properties. */
export interface DeviceAddArgs {
  driver: string;
  id: string;
  [property: string]: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(command: string, what: string): never {
  throw new QmpProtocolError(`unexpected reply to '${command}': ${what}`);
}

function num(command: string, rec: Record<string, unknown>, key: string): number {
  const v = rec[key];
  return typeof v === "number" ? v : fail(command, `'${key}' is not a number`);
}

function str(command: string, rec: Record<string, unknown>, key: string): string {
  const v = rec[key];
  return typeof v === "string" ? v : fail(command, `'${key}' is not a string`);
}

function optStr(rec: Record<string, unknown>, key: string): string | undefined {
  const v = rec[key];
  return typeof v === "string" ? v : undefined;
}

function list(command: string, value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) fail(command, "expected an array");
  return value.map((item) => (isRecord(item) ? item : fail(command, "array item is not an object")));
}

/** Typed QMP commands over a connected monitor. */
export class QmpCommands {
  readonly #mon: QmpExecutor;

  constructor(monitor: QmpExecutor) {
    this.#mon = monitor;
  }

  /** `query-status`. */
  async queryStatus(options?: QmpExecuteOptions): Promise<QmpStatus> {
    const r = await this.#mon.execute<unknown>("query-status", undefined, options);
    if (!isRecord(r)) fail("query-status", "expected an object");
    const running = r["running"];
    if (typeof running !== "boolean") fail("query-status", "'running' is not a boolean");
    return { status: str("query-status", r, "status"), running };
  }

  /** `system_powerdown`: ACPI power button. The guest may ignore it. */
  async systemPowerdown(options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("system_powerdown", undefined, options);
  }

  /** `system_reset`: hard reset, like the reset button. */
  async systemReset(options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("system_reset", undefined, options);
  }

  /**
   * `quit`: QEMU exits immediately. Losing the connection before the reply is
   * read counts as success, since exiting is exactly what was asked for.
   */
  async quit(options?: QmpExecuteOptions): Promise<void> {
    try {
      await this.#mon.execute("quit", undefined, options);
    } catch (err) {
      if (err instanceof QmpDisconnectedError && err.inFlight) return;
      throw err;
    }
  }

  /** `stop`: pause all vCPUs. */
  async stop(options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("stop", undefined, options);
  }

  /** `cont`: resume (or start, after `-S`) the vCPUs. */
  async cont(options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("cont", undefined, options);
  }

  /** `set_link`: carrier up/down on a NIC (by device id) or netdev. */
  async setLink(name: string, up: boolean, options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("set_link", { name, up }, options);
  }

  /** `query-blockstats`: per-device I/O counters. */
  async queryBlockstats(options?: QmpExecuteOptions): Promise<QmpBlockStats[]> {
    const c = "query-blockstats";
    const r = await this.#mon.execute<unknown>(c, undefined, options);
    return list(c, r).map((dev) => {
      const stats = dev["stats"];
      if (!isRecord(stats)) fail(c, "'stats' is not an object");
      return {
        device: optStr(dev, "device") ?? "",
        qdev: optStr(dev, "qdev"),
        nodeName: optStr(dev, "node-name"),
        rdBytes: num(c, stats, "rd_bytes"),
        wrBytes: num(c, stats, "wr_bytes"),
        rdOperations: num(c, stats, "rd_operations"),
        wrOperations: num(c, stats, "wr_operations"),
        flushOperations: num(c, stats, "flush_operations"),
      };
    });
  }

  /** `query-cpus-fast`: vCPU host thread ids, without interrupting the vCPUs. */
  async queryCpusFast(options?: QmpExecuteOptions): Promise<QmpCpu[]> {
    const c = "query-cpus-fast";
    const r = await this.#mon.execute<unknown>(c, undefined, options);
    return list(c, r).map((cpu) => ({
      cpuIndex: num(c, cpu, "cpu-index"),
      threadId: num(c, cpu, "thread-id"),
      qomPath: str(c, cpu, "qom-path"),
      target: optStr(cpu, "target") ?? "",
    }));
  }

  /** `human-monitor-command`: run an HMP command line; returns its text output. */
  async humanMonitorCommand(commandLine: string, options?: QmpExecuteOptions): Promise<string> {
    const c = "human-monitor-command";
    const r = await this.#mon.execute<unknown>(c, { "command-line": commandLine }, options);
    return typeof r === "string" ? r : fail(c, "expected a string");
  }

  /** `netdev_add`: create a network backend, e.g. `{ type: "tap", id: "net0", ifname: "tap0", script: "no", downscript: "no" }`. */
  async netdevAdd(args: NetdevAddArgs, options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("netdev_add", { ...args }, options);
  }

  /** `netdev_del`: remove a network backend. */
  async netdevDel(id: string, options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("netdev_del", { id }, options);
  }

  /** `device_add`: hot-plug a device, e.g. `{ driver: "virtio-net-pci", id: "nic0", netdev: "net0", mac: "..." }`. */
  async deviceAdd(args: DeviceAddArgs, options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("device_add", { ...args }, options);
  }

  /**
   * `device_del`: request unplug. Returns once QEMU accepted the request; the
   * guest finishes it asynchronously and QEMU then emits `DEVICE_DELETED`.
   */
  async deviceDel(id: string, options?: QmpExecuteOptions): Promise<void> {
    await this.#mon.execute("device_del", { id }, options);
  }
}
