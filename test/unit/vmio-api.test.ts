// The WebSocket and metrics API over real listening servers (unix socket and TCP with a
// token) and real services with a recording runner: auth in its three forms, the event
// stream and its filter, refusals before the upgrade, /metrics; and the CLI console loop.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pino } from "pino";
import WebSocket from "ws";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/daemon/http/server.js";
import { createServices, type Services } from "../../src/daemon/services/index.js";
import { openSqliteStore } from "../../src/daemon/store/sqlite-store.js";
import { hostNs } from "../../src/host/netns.js";
import { RecordingRunner } from "../../src/host/runner.js";
import type { DaemonContext } from "../../src/daemon/context.js";
import { EventBus } from "../../src/daemon/events/bus.js";
import { OsinfoDb } from "../../src/host/osinfo/osinfo-db.js";
import { KvmgrClient } from "../../src/client/client.js";
import { KvmgrError } from "../../src/api/errors.js";
import { runConsole } from "../../src/cli/vm-io.js";

const TOKEN = "s3cret-token";

describe("WebSocket and metrics API", () => {
  let unixApp: FastifyInstance;
  let tcpApp: FastifyInstance;
  let services: Services;
  let dir: string;
  let unix: KvmgrClient;
  let base: string;
  const bus = new EventBus();
  const store = openSqliteStore(":memory:");

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "kvmgr-ws-"));
    const run = new RecordingRunner((argv) => ({ code: 0, stdout: argv.includes("-j") ? "[]" : argv.includes("CLK_TCK") ? "100\n" : "", stderr: "" }));
    const ctx: DaemonContext = {
      run, ns: hostNs("t"), store, log: pino({ level: "silent" }), stateDir: dir, runDir: `${dir}/run`,
      cacheDir: `${dir}/cache`, diskDir: `${dir}/disks`, osinfo: new OsinfoDb([new URL("../../fixtures/osinfo", import.meta.url).pathname], null), lab: "t", accel: () => Promise.resolve({ accel: "tcg", reason: "test" }), events: bus,
    };
    services = createServices(ctx);
    unixApp = await buildServer({ services, log: ctx.log, token: null });
    await unixApp.listen({ path: `${dir}/kvmgr.sock` });
    tcpApp = await buildServer({ services, log: ctx.log, token: TOKEN });
    await tcpApp.listen({ host: "127.0.0.1", port: 0 });
    const addr = tcpApp.server.address();
    assert.ok(addr && typeof addr === "object");
    base = `http://127.0.0.1:${addr.port}`;
    unix = new KvmgrClient({ socketPath: `${dir}/kvmgr.sock` });
    await unix.createVm({ name: "vm1" });
  });
  after(async () => {
    services.close();
    await unixApp.close();
    await tcpApp.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a raw WebSocket and reports the HTTP status of a refusal, or "open". */
  function tryWs(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<{ status: number | "open"; protocol?: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers });
      ws.on("open", () => {
        const protocol = ws.protocol;
        ws.close();
        resolve({ status: "open", protocol });
      });
      ws.on("unexpected-response", (_req, res) => {
        // Left open on purpose: the server must close a refused upgrade's socket itself.
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
      });
      ws.on("error", reject);
    });
  }

  test("over TCP a WebSocket needs the token: header, ?token= or a bearer subprotocol", async () => {
    const ws = base.replace("http:", "ws:");
    assert.equal((await tryWs(`${ws}/v1/events`)).status, 401);
    assert.equal((await tryWs(`${ws}/v1/events?token=wrong`)).status, 401);
    assert.equal((await tryWs(`${ws}/v1/events`, ["bearer.wrong"])).status, 401);
    assert.equal((await tryWs(`${ws}/v1/events?token=${TOKEN}`)).status, "open");
    assert.equal((await tryWs(`${ws}/v1/events`, [], { authorization: `Bearer ${TOKEN}` })).status, "open");
    // A browser fails the connection unless a protocol it offered comes back: the real one wins.
    assert.deepEqual(await tryWs(`${ws}/v1/events`, ["binary", `bearer.${TOKEN}`]), { status: "open", protocol: "binary" });
    assert.deepEqual(await tryWs(`${ws}/v1/events`, [`bearer.${TOKEN}`]), { status: "open", protocol: `bearer.${TOKEN}` });
    // ?token= is for WebSockets only: plain requests still need the header.
    const plain = await new KvmgrClient({ baseUrl: base }).raw("GET", `/v1/vms?token=${TOKEN}`);
    assert.equal(plain.status, 401);
  });

  test("the event stream delivers what the filter asks for, and the filter can change", async () => {
    const tcp = new KvmgrClient({ baseUrl: base, token: TOKEN });
    const all = await unix.events();
    const some = await tcp.events({ types: ["vm.state"], vm: ["vm1"] });
    bus.publish({ type: "net.state", network: "n1", active: true });
    bus.publish({ type: "vm.state", vm: "other", state: "running" });
    bus.publish({ type: "vm.state", vm: "vm1", state: "running" });
    const e = await some.waitFor((x) => x.type === "vm.state", 5000);
    assert.deepEqual({ type: e.type, vm: (e as { vm: string }).vm }, { type: "vm.state", vm: "vm1" });
    assert.ok(e.seq > 0 && e.time > 0);
    const seen = [(await all.next()).value, (await all.next()).value, (await all.next()).value].map((x) => x?.type);
    assert.deepEqual(seen, ["net.state", "vm.state", "vm.state"]);
    some.setFilter({ types: ["net.*"] });
    // The filter change is a message on the same socket: a later event proves it was applied.
    await new Promise((r) => setTimeout(r, 50));
    bus.publish({ type: "vm.state", vm: "vm1", state: "paused" });
    bus.publish({ type: "net.deleted", network: "n1" });
    assert.equal((await some.waitFor(() => true, 5000)).type, "net.deleted");
    all.close();
    some.close();
  });

  test("a bad filter, an unknown VM and a stopped VM are refused before the upgrade, with the usual error", async () => {
    await assert.rejects(unix.events({ types: ["vm.nope" as "vm.state"] }), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_INPUT_INVALID" && /Unknown event type/.test(e.message));
    await assert.rejects(unix.serial("ghost"), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_NOT_FOUND");
    await assert.rejects(unix.vnc("vm1"), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_VM_NOT_RUNNING" && /vm1' is not running/.test(e.message));
    await assert.rejects(unix.exec("vm1", { path: "/bin/true" }), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_VM_NOT_RUNNING");
    await assert.rejects(unix.agentShutdown("vm1"), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_VM_NOT_RUNNING");
    await assert.rejects(unix.call("POST", "/v1/vms/vm1/exec", { path: "" }), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_INPUT_INVALID");
    await assert.rejects(unix.call("POST", "/v1/vms/vm1/agent/shutdown", { mode: "explode" }), (e: unknown) => e instanceof KvmgrError && /mode must be one of/.test(e.message));
  });

  test("stats of a stopped VM are empty; unknown VMs are 404", async () => {
    assert.deepEqual(await unix.stats("vm1"), { vm: "vm1", intervalMs: 1000, samples: [] });
    await assert.rejects(unix.stats("ghost"), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_NOT_FOUND");
  });

  test("/metrics on both servers, behind the token on TCP", async () => {
    const text = await unix.metrics();
    assert.match(text, /^kvmgr_vm_running\{vm="vm1"\} 0$/m);
    assert.match(text, /^kvmgr_vm_memory_configured_bytes\{vm="vm1"\} \d+$/m);
    assert.match(text, /^# TYPE kvmgr_vm_cpu_seconds_total counter$/m);
    assert.match(text, /kvmgr_daemon_process_cpu/);
    await assert.rejects(new KvmgrClient({ baseUrl: base }).metrics(), (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_AUTH");
    assert.match(await new KvmgrClient({ baseUrl: base, token: TOKEN }).metrics(), /kvmgr_vm_running\{vm="vm1"\} 0/);
  });
});

describe("vm console loop", () => {
  class FakeWs extends EventEmitter {
    sent: Buffer[] = [];
    closed = false;
    send(b: Buffer) {
      this.sent.push(Buffer.from(b));
    }
    close() {
      this.closed = true;
    }
    resume() {}
  }
  const io = () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    return { io: { stdin, stdout, stderr }, out: () => out };
  };

  test("Ctrl-] leaves; what was typed before it is sent", async () => {
    const ws = new FakeWs();
    const t = io();
    const done = runConsole(ws as never, t.io, { lingerMs: 50 });
    t.io.stdin.write("ls\n");
    ws.emit("message", Buffer.from("bin etc\n"));
    t.io.stdin.write(Buffer.from([0x61, 0x1d, 0x62]));
    assert.equal(await done, "escape");
    assert.equal(Buffer.concat(ws.sent).toString(), "ls\na");
    assert.equal(t.out(), "bin etc\n");
    assert.ok(ws.closed);
  });

  test("piped stdin: after it ends, output is followed until quiet", async () => {
    const ws = new FakeWs();
    const t = io();
    const done = runConsole(ws as never, t.io, { lingerMs: 100 });
    t.io.stdin.end("echo hi\n");
    await new Promise((r) => setImmediate(r));
    ws.emit("message", Buffer.from("hi\n"));
    assert.equal(await done, "eof");
    assert.equal(t.out(), "hi\n");
  });

  test("the console closing (VM stopped) ends it", async () => {
    const ws = new FakeWs();
    const t = io();
    const done = runConsole(ws as never, t.io, { lingerMs: 100 });
    ws.emit("close");
    assert.equal(await done, "closed");
  });
});
