/** kvmgr vm console | exec | stats | agent-shutdown: a running VM's input and output, through the daemon's API. */
import { pipeline } from "node:stream/promises";
import { Command } from "commander";
import type WebSocket from "ws";
import { KvmgrError, invalid } from "../api/errors.js";
import type { VmStatsSample } from "../api/stats.js";
import type { ExecRequest } from "../api/vm-io.js";
import type { Vm } from "../api/vm.js";
import type { KvmgrClient } from "../client/client.js";
import { clientOf, wantsJson } from "./context.js";
import { formatBytes, printJson } from "./format.js";

/** Ctrl-] leaves the console, as in telnet and virsh. */
const ESCAPE = 0x1d;

function positiveInt(flag: string) {
  return (s: string): number => {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw invalid(flag, `${flag} must be a positive whole number.`);
    return Number(s);
  };
}

export interface ConsoleIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Bridges a terminal to a console WebSocket until Ctrl-] is typed or the console closes.
 * On a terminal, raw mode (restored on every way out); with piped stdin, everything is sent,
 * and after stdin ends the output is followed until it has been quiet for `lingerMs`.
 * Resolves to why it ended.
 */
export function runConsole(ws: WebSocket, io: ConsoleIo, o: { lingerMs: number; banner?: string }): Promise<"escape" | "closed" | "eof"> {
  const tty = io.stdin.isTTY === true && typeof io.stdin.setRawMode === "function";
  return new Promise((resolve) => {
    let done = false;
    let linger: NodeJS.Timeout | null = null;
    const finish = (why: "escape" | "closed" | "eof") => {
      if (done) return;
      done = true;
      if (linger) clearTimeout(linger);
      io.stdin.off("data", onInput);
      io.stdin.off("end", onEnd);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
      if (tty) io.stdin.setRawMode?.(false);
      io.stdin.pause();
      ws.off("close", onClose);
      ws.close();
      if (tty) io.stderr.write(why === "closed" ? "\r\n[console closed: the VM stopped]\r\n" : "\r\n");
      else if (why === "closed") io.stderr.write("console closed: the VM stopped\n");
      resolve(why);
    };
    const armLinger = () => {
      if (linger) clearTimeout(linger);
      linger = setTimeout(() => finish("eof"), o.lingerMs);
    };
    const onInput = (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      const esc = b.indexOf(ESCAPE);
      if (esc >= 0) {
        if (esc > 0) ws.send(b.subarray(0, esc));
        finish("escape");
        return;
      }
      ws.send(b);
    };
    let stdinEnded = false;
    const onEnd = () => {
      stdinEnded = true;
      armLinger();
    };
    const onClose = () => finish("closed");
    // Killed while in raw mode: the terminal is given back first.
    const onSignal = () => {
      finish("closed");
      process.exitCode = 1;
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGHUP", onSignal);
    ws.on("message", (data: Buffer) => {
      io.stdout.write(data);
      if (stdinEnded) armLinger();
    });
    ws.on("close", onClose);
    ws.on("error", onClose);
    ws.resume();
    if (tty) {
      io.stdin.setRawMode?.(true);
      if (o.banner) io.stderr.write(`${o.banner}\r\n`);
    }
    io.stdin.on("data", onInput);
    io.stdin.on("end", onEnd);
    io.stdin.resume();
  });
}


function rate(n: number | null): string {
  return n === null ? "-" : `${formatBytes(n)}/s`;
}

function pct(n: number | null): string {
  return n === null ? "-" : `${n.toFixed(1)} %`;
}

function printSample(vm: string, s: VmStatsSample): void {
  const out: string[] = [`vm:      ${vm} (pid ${s.pid}, ${new Date(s.time).toISOString()})`];
  const vcpus = s.vcpus.map((c) => `vcpu${c.index} ${pct(c.cpuPercent)}`).join(", ");
  out.push(`cpu:     ${pct(s.cpuPercent)} of one host core${vcpus ? ` (${vcpus})` : ""}; ${s.cpuSeconds.toFixed(1)} s in all`);
  out.push(`memory:  ${formatBytes(s.memory.rssBytes)} resident, ${formatBytes(s.memory.configuredBytes)} configured`);
  for (const n of s.nics) {
    out.push(
      `nic ${n.index}:   ${n.network} ${n.mac} (${n.tap}): rx ${formatBytes(n.rxBytes)} ${n.rxPackets} pkts ${rate(n.rxBytesPerSec)}, tx ${formatBytes(n.txBytes)} ${n.txPackets} pkts ${rate(n.txBytesPerSec)}`,
    );
  }
  for (const d of s.disks) {
    out.push(`disk:    ${d.device}: read ${formatBytes(d.rdBytes)} (${d.rdOps} ops) ${rate(d.rdBytesPerSec)}, written ${formatBytes(d.wrBytes)} (${d.wrOps} ops) ${rate(d.wrBytesPerSec)}`);
  }
  process.stdout.write(out.join("\n") + "\n");
}

function sampleLine(s: VmStatsSample): string {
  const rx = s.nics.reduce((a, n) => a + (n.rxBytesPerSec ?? 0), 0);
  const tx = s.nics.reduce((a, n) => a + (n.txBytesPerSec ?? 0), 0);
  const time = new Date(s.time).toISOString().slice(11, 19);
  return `${time}  cpu ${pct(s.cpuPercent).padStart(8)}  rss ${formatBytes(s.memory.rssBytes).padStart(10)}  net rx ${rate(rx).padStart(12)} tx ${rate(tx).padStart(12)}\n`;
}

async function latestSample(c: KvmgrClient, name: string): Promise<VmStatsSample> {
  const have = (await c.stats(name)).samples.at(-1);
  const vm = await c.showVm(name);
  if (vm.state !== "running" && vm.state !== "paused") {
    throw new KvmgrError("KVMGR_ERR_VM_NOT_RUNNING", `VM '${name}' is not running; start it with 'kvmgr vm start ${name}'.`);
  }
  if (have && have.pid === vm.pid) return have;
  // Just started: the first sample is at most a second away.
  const events = await c.events({ types: ["vm.stats"], vm: [name] });
  try {
    const e = await events.waitFor((x) => x.type === "vm.stats", 5000);
    return (e as { sample: VmStatsSample }).sample;
  } finally {
    events.close();
  }
}

/**
 * `vm shutdown --agent`: the guest agent powers the guest off; waits, like the ACPI way,
 * until the VM is off, or refuses with one sentence after `timeoutS`.
 */
export async function agentShutdownAndWait(c: KvmgrClient, name: string, timeoutS: number): Promise<Vm> {
  // Subscribed first, so that a quick power-off is not missed.
  const events = await c.events({ types: ["vm.state"], vm: [name] });
  try {
    await c.agentShutdown(name);
    if (timeoutS === 0) return await c.showVm(name);
    await events.waitFor((e) => e.type === "vm.state" && (e.state === "shutoff" || e.state === "crashed"), timeoutS * 1000).catch(() => undefined);
    const v = await c.showVm(name);
    if (v.state === "running" || v.state === "paused") {
      throw new KvmgrError(
        "KVMGR_ERR_VM_SHUTDOWN_TIMEOUT",
        `VM '${name}' is still running ${timeoutS} s after the guest agent was asked to power it off; 'kvmgr vm stop ${name}' forces it off.`,
      );
    }
    return v;
  } finally {
    events.close();
  }
}

export function addVmIoCommands(vm: Command): void {
  vm.command("console <name>")
    .description("the serial console, interactive (Ctrl-] leaves); piped stdin is sent as typed")
    .option("--no-replay", "do not print what the console showed before")
    .option("--linger <ms>", "with piped stdin: after it ends, leave once the console was quiet this long", positiveInt("--linger"), 1000)
    .option("--show-log", "print the serial log of the VM's last run instead (also when it is off)")
    .option("--previous", "with --show-log: the log of the run before")
    .action(async (name: string, o: { replay: boolean; linger: number; showLog?: boolean; previous?: boolean }, cmd: Command) => {
      if (o.previous && !o.showLog) throw invalid("previous", "--previous goes with --show-log.");
      if (o.showLog) {
        const log = await clientOf(cmd).serialLog(name, { previous: o.previous === true });
        await pipeline(log, process.stdout, { end: false });
        return;
      }
      const ws = await clientOf(cmd).serial(name, { scrollback: o.replay });
      const why = await runConsole(ws, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, {
        lingerMs: o.linger,
        banner: `Connected to the serial console of ${name}; Ctrl-] leaves.`,
      });
      if (why === "closed") process.exitCode = 1;
    });

  vm.command("exec")
    .description("run a command in the guest through its agent; stdout, stderr and the exit code pass through")
    .argument("<name>", "the VM")
    .argument("<cmd...>", "command and arguments (after --)")
    .option("-i, --stdin", "send standard input to the command")
    .option("--env <NAME=value>", "environment of the command (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--timeout <seconds>", "give up waiting after this long (the command keeps running)", positiveInt("--timeout"), 60)
    .option("--json", "print {exitCode, signal, stdout, stderr, truncated} as JSON")
    .action(async (name: string, argv: string[], o: { stdin?: boolean; env?: string[]; timeout: number }, cmd: Command) => {
      const [path, ...args] = argv;
      if (!path) throw invalid("cmd", "Name the command to run after --.");
      const body: ExecRequest = { path, args, timeoutMs: o.timeout * 1000 };
      if (o.env) body.env = o.env;
      if (o.stdin) {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        body.input = Buffer.concat(chunks).toString("utf8");
      }
      const r = await clientOf(cmd).exec(name, body);
      if (wantsJson(cmd)) printJson(r);
      else {
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        if (r.truncated) process.stderr.write("kvmgr: the guest agent cut the output short.\n");
      }
      // Like a shell: a signal shows as 128 + its number.
      process.exitCode = r.exitCode ?? 128 + (r.signal ?? 0);
    });

  vm.command("stats <name>")
    .description("live statistics: CPU, memory, NIC and disk counters")
    .option("--json", "print JSON (with --watch: one sample per line)")
    .option("--watch", "print every new sample (one a second) until interrupted or the VM stops")
    .option("--count <n>", "with --watch: leave after this many samples", positiveInt("--count"))
    .action(async (name: string, o: { watch?: boolean; count?: number }, cmd: Command) => {
      const c = clientOf(cmd);
      const json = wantsJson(cmd);
      if (!o.watch) {
        const s = await latestSample(c, name);
        if (json) printJson({ vm: name, ...s });
        else printSample(name, s);
        return;
      }
      await c.showVm(name); // a clear error for an unknown VM
      const events = await c.events({ types: ["vm.stats", "vm.state", "vm.deleted"], vm: [name] });
      let seen = 0;
      for await (const e of events) {
        if (e.type === "vm.stats") {
          process.stdout.write(json ? JSON.stringify({ vm: name, ...e.sample }) + "\n" : sampleLine(e.sample));
          if (o.count !== undefined && ++seen >= o.count) break;
        } else if ((e.type === "vm.state" && (e.state === "shutoff" || e.state === "crashed")) || e.type === "vm.deleted") {
          process.stderr.write(`VM ${name} ${e.type === "vm.deleted" ? "was deleted" : `is ${e.state}`}.\n`);
          break;
        }
      }
      events.close();
    });

  vm.command("agent-shutdown <name>")
    .description("ask the guest agent to power the guest off (--mode reboot|halt)")
    .option("--mode <mode>", "powerdown, reboot or halt", "powerdown")
    .option("--json", "print JSON")
    .action(async (name: string, o: { mode: string }, cmd: Command) => {
      if (!["powerdown", "reboot", "halt"].includes(o.mode)) throw invalid("mode", `--mode must be powerdown, reboot or halt, not '${o.mode}'.`);
      const v = await clientOf(cmd).agentShutdown(name, { mode: o.mode as "powerdown" | "reboot" | "halt" });
      if (wantsJson(cmd)) printJson(v);
      else process.stdout.write(`Asked the guest agent of ${name} to ${o.mode === "powerdown" ? "power off" : o.mode}.\n`);
    });
}
