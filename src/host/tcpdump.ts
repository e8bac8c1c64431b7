/**
 * Packet capture with tcpdump in the managed namespace, streamed. The BPF filter travels as
 * one argv element after `--`: it is never parsed by a shell, nor taken for an option.
 * https://www.tcpdump.org/manpages/tcpdump.1.html
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { KvmgrError } from "../api/errors.js";
import type { HostNs } from "./netns.js";

export interface CaptureOptions {
  iface: string;
  /** stop after this many packets */
  count: number | null;
  filter: string | null;
  /** pcap: the raw capture file (`-w -`); text: tcpdump's decoded lines */
  format: "pcap" | "text";
}

/** tcpdump's argv. Pure. */
export function tcpdumpArgv(o: CaptureOptions): string[] {
  const argv = ["tcpdump", "-i", o.iface, "-n"];
  // -U / -l: every packet is written at once, so a stream shows it as it happens.
  argv.push(...(o.format === "pcap" ? ["-U", "-w", "-"] : ["-l"]));
  if (o.count !== null) argv.push("-c", String(o.count));
  if (o.filter !== null && o.filter.trim() !== "") argv.push("--", o.filter);
  return argv;
}

export interface RunningCapture {
  /** packets as they come; ends when tcpdump exits */
  output: Readable;
  /** ends the capture */
  stop(): void;
  /** resolves with tcpdump's summary ("N packets captured") when it exits */
  done: Promise<string>;
}

/**
 * Starts tcpdump and resolves once it listens (its "listening on" line), so traffic made
 * after this returns is captured. A bad filter or interface rejects with tcpdump's reason.
 */
export function startCapture(ns: HostNs, o: CaptureOptions): Promise<RunningCapture> {
  const argv = ns.argv(tcpdumpArgv(o));
  const child: ChildProcess = spawn(argv[0] ?? "tcpdump", argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  return new Promise((resolve, reject) => {
    let listening = false;
    const done = new Promise<string>((res) => child.once("close", () => res(stderr.trim())));
    const timer = setTimeout(() => {
      if (listening) return;
      child.kill("SIGKILL");
      reject(new KvmgrError("KVMGR_ERR_HOST_COMMAND", `tcpdump did not start listening on ${o.iface} within 10 s.`));
    }, 10000);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (!listening && /listening on /.test(stderr)) {
        listening = true;
        clearTimeout(timer);
        resolve({ output: child.stdout as Readable, stop: () => child.kill("SIGTERM"), done });
      }
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new KvmgrError("KVMGR_ERR_HOST_UNSUPPORTED", `tcpdump could not run (${e.message}); install the tcpdump package.`));
    });
    child.once("close", (code) => {
      if (listening) return;
      clearTimeout(timer);
      const reason = stderr.trim().split("\n").filter((l) => l.startsWith("tcpdump:")).pop() ?? stderr.trim();
      if (/syntax error|can't parse filter|illegal|unknown|expression/i.test(reason) && o.filter !== null) {
        reject(new KvmgrError("KVMGR_ERR_INPUT_INVALID", `The capture filter is not valid BPF: ${reason.replace(/^tcpdump:\s*/, "")}.`, { field: "filter" }));
      } else {
        reject(new KvmgrError("KVMGR_ERR_HOST_COMMAND", `tcpdump on ${o.iface} failed (exit ${code ?? "?"}): ${reason}`));
      }
    });
  });
}
