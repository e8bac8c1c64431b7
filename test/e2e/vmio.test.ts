// A running VM's input and output end to end, on ONE test guest for the whole file: the event
// WebSocket, commands through the guest agent, the serial console (WebSocket bridge, `kvmgr vm
// console` piped and in a pseudo-terminal), the VNC bridge (a real RFB handshake and frame),
// addresses with their sources, live stats while the guest burns CPU, /metrics, agent shutdown.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import WebSocket, { createWebSocketStream } from "ws";
import type { Vm } from "../../src/api/vm.js";
import type { VmStatsSample } from "../../src/api/stats.js";
import type { ExecResult } from "../../src/api/vm-io.js";
import { KvmgrClient } from "../../src/client/client.js";
import type { EventStream } from "../../src/client/ws.js";
import { RfbSession } from "../../src/testing/rfb.js";
import { SerialConsole, serialPath } from "../../src/testing/serial.js";
import { openSerialStream } from "../../src/testing/serial-ws.js";
import { KVMGR_BIN, startLabDaemon, until, type CliResult, type LabDaemon } from "../../src/testing/lab.js";

const MAC = "52:54:00:76:69:6f";
const R = 1000 + Math.floor(Math.random() * 8000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** The CLI with `input` on its stdin (the lab fixture's runner gives it none). */
function cliWithInput(d: LabDaemon, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(KVMGR_BIN, args, { env: { ...process.env, KVMGR_STATE_DIR: d.stateDir }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Collects what a serial-console WebSocket prints. */
function collect(ws: WebSocket): { text: () => string; closed: Promise<void> } {
  let text = "";
  ws.on("message", (d: Buffer) => (text += d.toString("utf8")));
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  ws.resume();
  return { text: () => text, closed };
}

describe("consoles, guest agent, addresses, stats and metrics of a running VM", () => {
  let d: LabDaemon;
  let c: KvmgrClient;
  let token: string;
  let base: string;
  let ip: string;
  const streams: EventStream[] = [];
  const sockets: WebSocket[] = [];

  before(async () => {
    const port = await freePort();
    d = await startLabDaemon({ prefix: "kvio", http: `127.0.0.1:${port}` });
    c = new KvmgrClient({ socketPath: `${d.stateDir}/kvmgr.sock` });
    token = readFileSync(`${d.stateDir}/token`, "utf8").trim();
    base = `http://127.0.0.1:${port}`;
    await d.ok("net", "create", "n1", "--mode", "hostonly", "--subnet", "10.0.0.0/24");
    await d.ok("net", "start", "n1");
    await d.ok("vm", "create", "vm1", "--image", "test-guest", "--memory", "128", "--vcpus", "1", "--network", `n1,mac=${MAC}`, "--disk", "16M");
  });
  after(async () => {
    streams.forEach((s) => s.close());
    sockets.forEach((s) => s.terminate());
    await d?.close();
  });

  test("the event WebSocket (over TCP with ?token=) carries the VM's start, filtered", async () => {
    const tcp = new KvmgrClient({ baseUrl: base, token });
    const ev = await tcp.events({ types: ["vm.state"], vm: ["vm1"] });
    streams.push(ev);
    // A browser's way in: the token in the query.
    const raw = new WebSocket(`${base.replace("http", "ws")}/v1/events?types=vm.*&token=${token}`);
    sockets.push(raw);
    const rawEvents: { type: string; vm?: string }[] = [];
    raw.on("message", (m: Buffer) => rawEvents.push(JSON.parse(m.toString("utf8")) as { type: string }));
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));

    await d.ok("vm", "start", "vm1");
    const e = await ev.waitFor((x) => x.type === "vm.state", 10000);
    assert.deepEqual([e.type, (e as { vm: string }).vm, (e as { state: string }).state], ["vm.state", "vm1", "running"]);
    await until("vm.* events on the query-token socket", 10000, () => (rawEvents.some((x) => x.type === "vm.state" && x.vm === "vm1") ? true : undefined), 50);
    await until("vm.stats on the query-token socket", 10000, () => (rawEvents.some((x) => x.type === "vm.stats") ? true : undefined), 50);
    assert.ok(rawEvents.every((x) => x.type.startsWith("vm.")), "the filter holds");
    await assert.rejects(new KvmgrClient({ baseUrl: base }).events(), /needs the daemon's token/);
  });

  test("vm exec runs through the guest agent: stdout, stderr and exit code pass through", async () => {
    const hi = await until("the guest agent", 90000, async () => {
      const r = await d.cli("vm", "exec", "vm1", "--", "/bin/echo", "hi");
      return r.code === 0 ? r : undefined;
    }, 500);
    assert.equal(hi.stdout, "hi\n");
    const mixed = await d.cli("vm", "exec", "vm1", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3");
    assert.deepEqual([mixed.code, mixed.stdout, mixed.stderr], [3, "out\n", "err\n"]);
    const json = await d.cli("vm", "exec", "--json", "vm1", "--", "/bin/sh", "-c", "echo x; exit 5");
    assert.equal(json.code, 5, "with --json too");
    assert.deepEqual(JSON.parse(json.stdout), { exitCode: 5, signal: null, stdout: "x\n", stderr: "", truncated: false } satisfies ExecResult);
    const piped = await cliWithInput(d, ["vm", "exec", "-i", "vm1", "--", "/bin/cat"], "through stdin\n");
    assert.deepEqual([piped.code, piped.stdout], [0, "through stdin\n"]);
    const missing = await d.cli("vm", "exec", "vm1", "--", "/nonexistent/prog");
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /^kvmgr: The guest agent of VM 'vm1' could not run \/nonexistent\/prog: .+\n$/);
    assert.equal(missing.stderr.trim().split("\n").length, 1);
  });

  test("serial console over the WebSocket bridge: typed input, output to every viewer, scrollback", async () => {
    const a = await c.serial("vm1", { scrollback: false });
    sockets.push(a);
    const outA = collect(a);
    // The second viewer through the stream helper that tests use instead of serial.sock.
    const b = await openSerialStream(d.stateDir, "vm1");
    let textB = "";
    b.setEncoding("utf8").on("data", (s: string) => (textB += s));
    const outB = { text: () => textB };
    // The typed line echoes as `$((R+1))`; only the shell's answer has the number.
    a.send(Buffer.from(`echo kvmgr-$((${R}+1))\n`));
    await until("the answer on viewer A", 20000, () => (outA.text().includes(`kvmgr-${R + 1}`) ? true : undefined), 50);
    await until("the answer on viewer B", 20000, () => (outB.text().includes(`kvmgr-${R + 1}`) ? true : undefined), 50);
    a.close();
    b.destroy();
    // A newcomer gets the scrollback (boot messages included) before anything new.
    const late = await c.serial("vm1");
    sockets.push(late);
    const outLate = collect(late);
    await until("the scrollback", 20000, () => (outLate.text().includes(`kvmgr-${R + 1}`) ? true : undefined), 50);
    assert.match(outLate.text(), /kvmgr-test-guest: booted/);
    late.close();
  });

  test("kvmgr vm console with piped stdin", async () => {
    const r = await cliWithInput(d, ["vm", "console", "vm1", "--no-replay", "--linger", "3000"], `echo kvmgr-$((${R}+2))\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`kvmgr-${R + 2}`));
  });

  test("kvmgr vm console in a terminal: raw mode, Ctrl-] leaves", async () => {
    // script(1) gives the CLI a pseudo-terminal; what we write to script's stdin is typed there.
    const cmd = `${KVMGR_BIN} vm console vm1 --no-replay`;
    const child = spawn("script", ["-qfec", cmd, "/dev/null"], { env: { ...process.env, KVMGR_STATE_DIR: d.stateDir }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      await until("the console banner", 15000, () => (out.includes("Ctrl-] leaves") ? true : undefined), 50);
      child.stdin.write(`echo kvmgr-$((${R}+3))\r`);
      await until("the answer in the terminal", 20000, () => (out.includes(`kvmgr-${R + 3}`) ? true : undefined), 50);
      child.stdin.write("\x1d");
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 10000))]);
      assert.equal(code, 0, `Ctrl-] leaves the console: ${out.slice(-500)}`);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  test("VNC over the WebSocket bridge: RFB 3.8 handshake, framebuffer size, pixels", async () => {
    const ws = await c.vnc("vm1");
    sockets.push(ws);
    const rfb = new RfbSession(createWebSocketStream(ws));
    const init = await rfb.handshake();
    assert.deepEqual(rfb.version, { major: 3, minor: 8 });
    assert.ok(rfb.securityTypes.includes(1), "security type None");
    assert.ok(["720x400", "640x480", "800x600", "1024x768", "1280x800"].includes(`${init.width}x${init.height}`), `framebuffer ${init.width}x${init.height}`);
    assert.match(init.name, /vm1/);
    const pixels = await rfb.frame();
    assert.ok(pixels.some((p) => p !== 0), "the text console shows something");
    ws.close();

    // The browser's way over TCP: noVNC's `binary` protocol with the token as a bearer subprotocol.
    const tcp = new WebSocket(`${base.replace("http", "ws")}/v1/vms/vm1/vnc`, ["binary", `bearer.${token}`]);
    sockets.push(tcp);
    // The reader goes on before the socket opens: QEMU's greeting can come in the same read as the
    // upgrade's answer, and a message before any listener is lost (CI saw this once).
    const rfb2 = new RfbSession(createWebSocketStream(tcp));
    await new Promise((resolve, reject) => tcp.once("open", resolve).once("error", reject));
    assert.equal(tcp.protocol, "binary");
    const init2 = await rfb2.handshake();
    assert.deepEqual([init2.width, init2.height], [init.width, init.height]);
    tcp.close();
  });

  test("addresses carry their sources: lease and agent, then arp after a ping", async () => {
    const nic = await until("lease + agent addresses", 60000, async () => {
      const n = (await d.json<Vm>("vm", "show", "vm1")).nics[0];
      const a = n?.addresses.find((x) => x.sources.includes("lease") && x.sources.includes("agent"));
      return a ? n : undefined;
    }, 500);
    ip = nic.ips[0] ?? "";
    assert.match(ip, /^10\.0\.0\.\d+$/);
    const a = nic.addresses.find((x) => x.ip === ip);
    assert.equal(a?.source, "lease");
    assert.equal(a?.prefix, 24, "the agent tells the prefix");
    assert.deepEqual(nic.ips, nic.addresses.filter((x) => x.family === "ipv4").map((x) => x.ip));
    const ping = await d.cli("host", "exec", "--", "ping", "-c1", "-W2", ip);
    assert.equal(ping.code, 0, ping.stdout);
    await until("the neighbour table as a witness", 20000, async () => {
      const n = (await d.json<Vm>("vm", "show", "vm1")).nics[0];
      return n?.addresses.find((x) => x.ip === ip)?.sources.includes("arp") ? true : undefined;
    }, 500);
    const list = await d.json<Vm[]>("vm", "list");
    assert.ok(list[0]?.nics[0]?.addresses.some((x) => x.ip === ip));
  });

  test("live stats: the API, vm.stats events, the CLI, and CPU % rising while the guest burns CPU", async (t) => {
    const s = (await d.json<VmStatsSample & { vm: string }>("vm", "stats", "vm1"));
    assert.equal(s.vm, "vm1");
    assert.equal(s.memory.configuredBytes, 128 * 1024 * 1024);
    assert.ok(s.memory.rssBytes > 16 * 1024 * 1024, `rss ${s.memory.rssBytes}`);
    assert.equal(s.vcpus.length, 1);
    assert.equal(s.nics[0]?.mac, MAC);
    assert.ok((s.nics[0]?.txPackets ?? 0) > 0 && (s.nics[0]?.rxPackets ?? 0) > 0, "DHCP and the ping went through the tap");
    const all = await c.stats("vm1");
    assert.equal(all.intervalMs, 1000);
    assert.ok(all.samples.length >= 5, `${all.samples.length} samples`);
    const last = all.samples.at(-1);
    assert.ok(last);
    assert.ok((await c.stats("vm1", last.time)).samples.every((x) => x.time > last.time), "?since= gives newer samples only");
    // Disk counters move when the guest reads its disk.
    const disk0 = s.disks.find((x) => x.index === 0);
    assert.equal(disk0?.device, "disk0");
    assert.equal(disk0?.path, (await d.json<Vm>("vm", "show", "vm1")).disks[0]?.path);
    await d.ok("vm", "exec", "vm1", "--", "/bin/dd", "if=/dev/vda", "of=/dev/null", "bs=64k", "count=64");
    await until("disk read counters to move", 10000, async () => {
      const latest = (await c.stats("vm1")).samples.at(-1)?.disks.find((x) => x.index === 0);
      return latest && latest.rdBytes >= (disk0?.rdBytes ?? 0) + 4 * 1024 * 1024 ? true : undefined;
    }, 250);
    const watch = await d.ok("vm", "stats", "vm1", "--watch", "--json", "--count", "2");
    assert.equal(watch.trim().split("\n").length, 2);

    const ev = await c.events({ types: ["vm.stats"], vm: ["vm1"] });
    streams.push(ev);
    const cpuOf = async (n: number) => {
      const got: number[] = [];
      while (got.length < n) {
        const e = await ev.waitFor((x) => x.type === "vm.stats", 15000);
        const p = (e as { sample: VmStatsSample }).sample.cpuPercent;
        if (p !== null) got.push(p);
      }
      return got;
    };
    const idle = await cpuOf(3);
    const baseline = Math.min(...idle);
    const burn = await d.ok("vm", "exec", "vm1", "--", "/bin/sh", "-c", "while :; do :; done </dev/null >/dev/null 2>&1 & echo $!");
    const pid = burn.trim();
    assert.match(pid, /^\d+$/);
    try {
      const busy = await until("CPU % to rise", 30000, async () => {
        const [p] = await cpuOf(1);
        return p !== undefined && p > baseline + 25 ? p : undefined;
      }, 0);
      t.diagnostic(`CPU % idle ${idle.join(", ")}; busy ${busy}`);
    } finally {
      await d.cli("vm", "exec", "vm1", "--", "/bin/kill", pid);
    }
  });

  test("/metrics has the VM, on the unix socket and behind the token on TCP", async () => {
    const noToken = await new KvmgrClient({ baseUrl: base }).raw("GET", "/metrics");
    assert.equal(noToken.status, 401);
    for (const text of [await c.metrics(), await new KvmgrClient({ baseUrl: base, token }).metrics()]) {
      assert.match(text, /^kvmgr_vm_running\{vm="vm1"\} 1$/m);
      assert.match(text, /^kvmgr_vm_cpu_seconds_total\{vm="vm1"\} [\d.]+$/m);
      assert.match(text, /^kvmgr_vm_memory_rss_bytes\{vm="vm1"\} \d+$/m);
      assert.match(text, new RegExp(`^kvmgr_vm_nic_receive_bytes_total\\{vm="vm1",nic="0",mac="${MAC}",network="n1"\\} [1-9]\\d*$`, "m"));
      assert.match(text, /^kvmgr_vm_vcpu_seconds_total\{vm="vm1",vcpu="0"\} [\d.]+$/m);
      assert.match(text, /^kvmgr_vm_disk_read_bytes_total\{vm="vm1",disk="disk0"\} [1-9]\d*$/m);
    }
  });

  test("after the daemon is killed and restarted, console, agent and stats come back; the scrollback kept what the guest printed meanwhile", async () => {
    await d.stopDaemon({ hard: true });
    // With the daemon gone, QEMU's serial socket is free: the guest prints while nobody of ours listens.
    const direct = await SerialConsole.openDirect(serialPath(d.stateDir, "vm1"));
    try {
      direct.send(`echo away-$((${R}+5))`);
      await direct.expect(new RegExp(`away-${R + 5}`));
    } finally {
      direct.close();
    }
    const log = `${d.stateDir}/run/vms/vm1/serial.log`;
    const pid = Number(readFileSync(`${d.stateDir}/run/vms/vm1/qemu.pid`, "utf8").trim());
    // QEMU opens and closes descriptors meanwhile (the direct console just went): one may vanish.
    const linkOf = (f: string) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${f}`);
      } catch {
        return "";
      }
    };
    const fd = readdirSync(`/proc/${pid}/fd`).find((f) => linkOf(f) === log);
    assert.ok(fd, "QEMU holds the serial log open");
    const flags = Number.parseInt(/^flags:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"))?.[1] ?? "0", 8);
    assert.ok(flags & 0o2000, "for appending (O_APPEND): the daemon's cap can empty it under QEMU");
    await d.startDaemon();
    const back = await c.serial("vm1");
    sockets.push(back);
    const scroll = collect(back);
    await until("the scrollback from the serial log", 10000, () => (scroll.text().includes(`away-${R + 5}`) ? true : undefined), 50);
    back.close();
    // The dead daemon's connections to QEMU's single-client sockets are gone; the new one takes them.
    const ws = await c.serial("vm1", { scrollback: false });
    sockets.push(ws);
    const out = collect(ws);
    await until("the serial console after the restart", 20000, () => {
      ws.send(Buffer.from(`echo kvmgr-$((${R}+4))\n`));
      return out.text().includes(`kvmgr-${R + 4}`) ? true : undefined;
    }, 1000);
    ws.close();
    assert.equal(await d.ok("vm", "exec", "vm1", "--", "/bin/echo", "again"), "again\n");
    const s = await until("a stats sample after the restart", 10000, async () => (await c.stats("vm1")).samples.at(-1), 200);
    assert.equal(s.pid, (await d.json<Vm>("vm", "show", "vm1")).pid);
  });

  test("agent shutdown powers the guest off: shutoff (not crashed), consoles close", async () => {
    const ev = await c.events({ types: ["vm.state"], vm: ["vm1"] });
    streams.push(ev);
    const viewer = await c.serial("vm1", { scrollback: false });
    sockets.push(viewer);
    const out = collect(viewer);
    await d.ok("vm", "shutdown", "--agent", "vm1");
    // The guest stops (QEMU waits under -no-shutdown), then the daemon ends QEMU: shutoff, not crashed.
    const e = await ev.waitFor((x) => x.type === "vm.state" && ["shutoff", "crashed"].includes((x as { state: string }).state), 60000);
    assert.equal((e as { state: string }).state, "shutoff");
    await out.closed;
    assert.equal((await d.json<Vm>("vm", "show", "vm1")).state, "shutoff");
    const r = await d.cli("vm", "exec", "vm1", "--", "/bin/true");
    assert.equal(r.code, 3);
    assert.match(r.stderr, /vm1' is not running/);
    const stats = await d.cli("vm", "stats", "vm1");
    assert.match(stats.stderr, /is not running/);
  });

  test("the serial log of a VM that is off, and of the run before (vm console --show-log)", async () => {
    const log = await d.ok("vm", "console", "vm1", "--show-log");
    assert.match(log, new RegExp(`away-${R + 5}`), "what the guest printed while the daemon was away");
    assert.match(log, new RegExp(`kvmgr-${R + 4}`), "and what it printed to the daemon's viewers");
    assert.equal(await d.ok("vm", "console", "vm1", "--show-log", "--previous"), "", "there was no run before");
    await d.ok("vm", "start", "vm1");
    try {
      assert.match(await d.ok("vm", "console", "vm1", "--show-log", "--previous"), new RegExp(`away-${R + 5}`), "a start keeps the last run's log");
      assert.doesNotMatch(await d.ok("vm", "console", "vm1", "--show-log"), new RegExp(`away-${R + 5}`), "and begins a new one");
    } finally {
      await d.ok("vm", "stop", "vm1");
    }
    const r = await d.cli("vm", "console", "nosuch", "--show-log");
    assert.deepEqual([r.code, r.stderr], [3, "kvmgr: VM 'nosuch' does not exist.\n"]);
    assert.match((await d.cli("vm", "console", "vm1", "--previous")).stderr, /--previous goes with --show-log/);
  });
});
