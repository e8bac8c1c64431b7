import { test, describe } from "node:test";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { untilTrue } from "../../src/testing/until.js";
import {
  JsonLineFramer,
  QmpCommandError,
  QmpProtocolError,
  classifyMessage,
  decodeMessage,
  encodeCommand,
  formatSeconds,
  type QmpEvent,
  type QmpMessage,
} from "../../src/host/qemu/qmp-protocol.js";
import {
  QmpDisconnectedError,
  QmpMonitor,
  QmpTimeoutError,
  type QmpDisconnectInfo,
  type QmpMonitorOptions,
} from "../../src/host/qemu/qmp-monitor.js";
import { QmpCommands, type QmpExecutor } from "../../src/host/qemu/qmp-commands.js";
import {
  FakeQmpError,
  FakeQmpServer,
  NO_REPLY,
  type FakeQmpServerOptions,
} from "../../src/testing/fake-qmp-server.js";

const enc = new TextEncoder();

/** Split `bytes` at the given cut points (any order, duplicates allowed). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

function feed(framer: JsonLineFramer, chunks: Uint8Array[]): unknown[] {
  return chunks.flatMap((c) => framer.push(c)).map((l) => JSON.parse(l) as unknown);
}

/** JSON round trip, so expectations match what the wire can carry (e.g. -0 becomes 0). */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

const messageArb = fc.dictionary(
  fc.string({ unit: "grapheme" }),
  fc.jsonValue({ stringUnit: "grapheme", maxDepth: 3 }),
  { maxKeys: 5 },
);

void describe("JsonLineFramer", () => {
  void test("splits a chunk holding several messages, tolerating \\r\\n and blank lines", () => {
    const f = new JsonLineFramer();
    const lines = f.push(enc.encode('{"a":1}\r\n\r\n{"b":2}\n  \n{"c":'));
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
    assert.equal(f.bufferedBytes, 5);
    assert.deepEqual(f.push(enc.encode("3}\n")), ['{"c":3}']);
    assert.equal(f.bufferedBytes, 0);
  });

  void test("reassembles a multi-byte UTF-8 character split across chunks", () => {
    const bytes = enc.encode('{"name":"ünïcødé €"}\n');
    const euroAt = bytes.indexOf(0xe2);
    const f = new JsonLineFramer();
    assert.deepEqual(f.push(bytes.subarray(0, euroAt + 1)), []);
    assert.deepEqual(f.push(bytes.subarray(euroAt + 1)), ['{"name":"ünïcødé €"}']);
  });

  void test("copies input, so callers may reuse their buffers", () => {
    const f = new JsonLineFramer();
    const buf = enc.encode('{"x":');
    f.push(buf);
    buf.fill(0x20);
    assert.deepEqual(f.push(enc.encode("1}\n")), ['{"x":1}']);
  });

  void test("property: any chunking of a message stream yields the same messages", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom("\n", "\r\n"),
        (messages, cuts, eol) => {
          const stream = enc.encode(messages.map((m) => JSON.stringify(m) + eol).join(""));
          const got = feed(new JsonLineFramer(), chunk(stream, cuts));
          assert.deepEqual(got, messages.map(normalise));
        },
      ),
      { numRuns: 300 },
    );
  });

  void test("sentinel mode drops everything up to the 0xFF, including buffered partial input", () => {
    const f = new JsonLineFramer({ sentinel: 0xff });
    assert.deepEqual(f.push(enc.encode('{"stale":')), []);
    f.discardUntilSentinel();
    assert.equal(f.discarding, true);
    assert.deepEqual(f.push(enc.encode('1}\n{"return": 7}\n')), []);
    assert.deepEqual(f.push(Uint8Array.from([0xff, ...enc.encode('{"return": 42}\n')])), ['{"return": 42}']);
    assert.equal(f.discarding, false);
  });

  void test("a 0xFF in the middle of a line resets the partial line", () => {
    const f = new JsonLineFramer({ sentinel: 0xff });
    assert.deepEqual(
      f.push(Uint8Array.from([...enc.encode('{"half'), 0xff, ...enc.encode('{"ok":true}\n')])),
      ['{"ok":true}'],
    );
  });

  void test("without a sentinel configured, discardUntilSentinel is a programming error", () => {
    assert.throws(() => new JsonLineFramer().discardUntilSentinel());
  });

  void test("property: garbage before the sentinel never leaks, whatever the chunking", () => {
    const garbage = fc.uint8Array({ maxLength: 200 }).map((a) => a.filter((b) => b !== 0xff));
    fc.assert(
      fc.property(
        garbage,
        fc.array(messageArb, { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (junk, messages, cuts) => {
          const f = new JsonLineFramer({ sentinel: 0xff });
          f.discardUntilSentinel();
          const stream = concat([
            junk,
            Uint8Array.of(0xff),
            enc.encode(messages.map((m) => JSON.stringify(m) + "\n").join("")),
          ]);
          assert.deepEqual(feed(f, chunk(stream, cuts)), messages.map(normalise));
        },
      ),
      { numRuns: 300 },
    );
  });

  void test("refuses an over-long line, then recovers on the next one", () => {
    const f = new JsonLineFramer({ maxLineBytes: 16 });
    assert.throws(() => f.push(enc.encode('{"data":"' + "x".repeat(32))), QmpProtocolError);
    assert.equal(f.bufferedBytes, 0);
    // The tail of the oversized line is still garbage; the framer resumes after its newline.
    const lines = f.push(enc.encode('"}\n{"ok":1}\n'));
    assert.deepEqual(lines.at(-1), '{"ok":1}');
  });
});

void describe("message classification", () => {
  void test("greeting", () => {
    const m = decodeMessage(
      '{"QMP": {"version": {"qemu": {"micro": 2, "minor": 2, "major": 8}, "package": "Debian"}, "capabilities": ["oob"]}}',
    );
    assert.deepEqual(m, {
      kind: "greeting",
      greeting: {
        QMP: {
          version: { qemu: { major: 8, minor: 2, micro: 2 }, package: "Debian" },
          capabilities: ["oob"],
        },
      },
    });
  });

  void test("malformed greeting is invalid, not a greeting", () => {
    assert.equal(decodeMessage('{"QMP": {"capabilities": []}}').kind, "invalid");
  });

  void test("return with id, including a null return value", () => {
    assert.deepEqual(decodeMessage('{"return": {"status": "running"}, "id": "a-1"}'), {
      kind: "return",
      id: "a-1",
      value: { status: "running" },
    });
    assert.deepEqual(decodeMessage('{"return": 5}'), { kind: "return", id: undefined, value: 5 });
  });

  void test("error", () => {
    assert.deepEqual(decodeMessage('{"error": {"class": "GenericError", "desc": "nope"}, "id": 3}'), {
      kind: "error",
      id: 3,
      error: { class: "GenericError", desc: "nope" },
    });
  });

  void test("event, with and without data", () => {
    const withData = decodeMessage(
      '{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "SHUTDOWN", "data": {"guest": false}}',
    );
    assert.deepEqual(withData, {
      kind: "event",
      event: {
        event: "SHUTDOWN",
        data: { guest: false },
        timestamp: { seconds: 1700000000, microseconds: 5 },
      },
    });
    const bare = classifyMessage({ event: "STOP", timestamp: { seconds: 1, microseconds: 2 } });
    assert.equal(bare.kind, "event");
    if (bare.kind === "event") assert.deepEqual(bare.event.data, {});
  });

  void test("garbage is classified as invalid with a reason", () => {
    for (const line of ["not json", "[1,2]", '{"foo": 1}', '{"error": "string"}']) {
      const m = decodeMessage(line);
      assert.equal(m.kind, "invalid", line);
      if (m.kind === "invalid") assert.equal(m.line, line);
    }
  });

  void test("encodeCommand omits absent members and ends with a newline", () => {
    assert.equal(encodeCommand({ execute: "query-status" }), '{"execute":"query-status"}\n');
    assert.equal(
      encodeCommand({ execute: "set_link", arguments: { name: "n", up: false }, id: "x" }),
      '{"execute":"set_link","arguments":{"name":"n","up":false},"id":"x"}\n',
    );
  });

  void test("QmpCommandError carries class and desc", () => {
    const e = new QmpCommandError("device_del", { class: "DeviceNotFound", desc: "Device 'x' not found" });
    assert.equal(e.class, "DeviceNotFound");
    assert.equal(e.desc, "Device 'x' not found");
    assert.match(e.message, /device_del.*DeviceNotFound/);
  });

  void test("formatSeconds", () => {
    assert.equal(formatSeconds(5000), "5s");
    assert.equal(formatSeconds(250), "0.25s");
  });
});

interface Rig {
  dir: string;
  sock: string;
  server: FakeQmpServer;
  mon: QmpMonitor;
}

/** A fake server plus a connected monitor; always torn down, even on failure. */
async function withRig(
  fn: (rig: Rig) => Promise<void>,
  opts: {
    monitor?: QmpMonitorOptions;
    server?: Omit<FakeQmpServerOptions, "socketPath">;
    connect?: boolean;
  } = {},
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmgr-qmp-"));
  const sock = path.join(dir, "qmp.sock");
  const server = await FakeQmpServer.start({ ...opts.server, socketPath: sock });
  const mon = new QmpMonitor(sock, { connectTimeoutMs: 2000, commandTimeoutMs: 2000, ...opts.monitor });
  try {
    if (opts.connect !== false) await mon.connect();
    await fn({ dir, sock, server, mon });
  } finally {
    await mon.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

void describe("fake QMP server", () => {
  void test("requires capabilities negotiation before other commands", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmgr-qmp-"));
    const sock = path.join(dir, "qmp.sock");
    const server = await FakeQmpServer.start({ socketPath: sock });
    const client = net.createConnection(sock);
    try {
      const framer = new JsonLineFramer();
      const messages: QmpMessage[] = [];
      client.on("data", (c: Buffer) => messages.push(...framer.push(c).map(decodeMessage)));
      await untilTrue("messages.length >= 1", 2000, () => messages.length >= 1);
      assert.equal(messages[0]?.kind, "greeting");
      client.write(encodeCommand({ execute: "query-status", id: 1 }));
      client.write(encodeCommand({ execute: "qmp_capabilities", id: 2 }));
      client.write(encodeCommand({ execute: "qmp_capabilities", id: 3 }));
      client.write(encodeCommand({ execute: "query-status", id: 4 }));
      await untilTrue("messages.length >= 5", 2000, () => messages.length >= 5);
      assert.deepEqual(messages.slice(1), [
        {
          kind: "error",
          id: 1,
          error: {
            class: "CommandNotFound",
            desc: "Expecting capabilities negotiation with 'qmp_capabilities'",
          },
        },
        { kind: "return", id: 2, value: {} },
        {
          kind: "error",
          id: 3,
          error: {
            class: "CommandNotFound",
            desc: "Capabilities negotiation is already complete, command ignored",
          },
        },
        { kind: "return", id: 4, value: { status: "prelaunch", singlestep: false, running: false } },
      ]);
      assert.deepEqual(
        server.received.map((r) => r.execute),
        ["query-status", "qmp_capabilities", "qmp_capabilities", "query-status"],
      );
    } finally {
      client.destroy();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe("QmpMonitor", () => {
  void test("connect reads the greeting and negotiates capabilities", () =>
    withRig(async ({ server, mon }) => {
      assert.equal(mon.state, "ready");
      assert.equal(mon.greeting?.QMP.version.qemu.major, 8);
      assert.deepEqual(
        server.received.map((r) => r.execute),
        ["qmp_capabilities"],
      );
      assert.equal(typeof server.received[0]?.id, "string");
      // Idempotent while ready.
      assert.equal(await mon.connect(), mon.greeting);
      assert.equal(server.acceptedCount, 1);
    }));

  void test("every command gets a unique id", () =>
    withRig(async ({ server, mon }) => {
      await Promise.all([
        mon.execute("query-status"),
        mon.execute("query-status"),
        mon.execute("query-status"),
      ]);
      const ids = server.received.map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length);
    }));

  void test("replies are matched by id when they arrive out of order", () =>
    withRig(async ({ server, mon }) => {
      const gates = new Map<string, ReturnType<typeof deferred<string>>>();
      for (const k of ["a", "b", "c"]) gates.set(k, deferred<string>());
      server.handle("echo-later", ({ args }) => gates.get(String(args["key"]))?.promise);
      const pa = mon.execute<string>("echo-later", { key: "a" });
      const pb = mon.execute<string>("echo-later", { key: "b" });
      const pc = mon.execute<string>("echo-later", { key: "c" });
      await server.waitForCommand("echo-later", { count: 3 });
      gates.get("c")?.resolve("C");
      assert.equal(await pc, "C");
      gates.get("a")?.resolve("A");
      gates.get("b")?.resolve("B");
      assert.deepEqual(await Promise.all([pa, pb]), ["A", "B"]);
      assert.equal(mon.pendingCount, 0);
    }));

  void test("events interleaved with replies reach listeners and do not disturb replies", () =>
    withRig(async ({ server, mon }) => {
      const all: string[] = [];
      const stops: QmpEvent[] = [];
      mon.on("event", (e) => all.push(e.event));
      mon.on("STOP", (e) => stops.push(e));
      server.handle("noisy", ({ server: s, afterReply }) => {
        s.emitEvent("STOP", { n: 1 });
        afterReply(() => s.emitEvent("RESUME"));
        return 42;
      });
      const resumed = mon.waitForEvent("RESUME", { timeoutMs: 2000 });
      assert.equal(await mon.execute("noisy"), 42);
      await resumed;
      assert.deepEqual(all, ["STOP", "RESUME"]);
      assert.deepEqual(stops[0]?.data, { n: 1 });
      assert.ok((stops[0]?.timestamp.seconds ?? 0) > 0);
    }));

  void test("a reply split across writes, glued to an event, is reassembled", () =>
    withRig(async ({ server, mon }) => {
      server.handle("manual", () => NO_REPLY);
      const events: string[] = [];
      mon.on("event", (e) => events.push(e.event));
      const p = mon.execute<{ v: string }>("manual");
      const { id } = await server.waitForCommand("manual");
      const reply = JSON.stringify({ return: { v: "ünï" }, id });
      const event = JSON.stringify({ event: "RESET", data: {}, timestamp: { seconds: 1, microseconds: 0 } });
      const bytes = Buffer.from(`${event}\r\n${reply}\r\n${event}\r\n`);
      // Cut inside the multi-byte character and inside the first event.
      const cut = bytes.indexOf(Buffer.from("ï")) + 1;
      server.sendRaw(bytes.subarray(0, 10));
      server.sendRaw(bytes.subarray(10, cut));
      server.sendRaw(bytes.subarray(cut));
      assert.deepEqual(await p, { v: "ünï" });
      await untilTrue("events.length === 2", 2000, () => events.length === 2);
      assert.deepEqual(events, ["RESET", "RESET"]);
    }));

  void test("error replies reject with QmpCommandError", () =>
    withRig(async ({ server, mon }) => {
      server.handle("device_del", ({ args }) => {
        throw new FakeQmpError("DeviceNotFound", `Device '${String(args["id"])}' not found`);
      });
      await assert.rejects(mon.execute("device_del", { id: "nic9" }), (e: unknown) => {
        assert.ok(e instanceof QmpCommandError);
        assert.equal(e.class, "DeviceNotFound");
        assert.equal(e.desc, "Device 'nic9' not found");
        assert.equal(e.command, "device_del");
        return true;
      });
      await assert.rejects(mon.execute("no-such-command"), {
        name: "QmpCommandError",
        class: "CommandNotFound",
      });
      // The session is still usable.
      assert.equal((await mon.execute<{ status: string }>("query-status")).status, "prelaunch");
    }));

  void test("a command without reply times out; a late reply is ignored; the session survives", () =>
    withRig(async ({ server, mon }) => {
      server.handle("hang", () => NO_REPLY);
      const strays: QmpMessage[] = [];
      mon.on("stray", (m) => strays.push(m));
      await assert.rejects(mon.execute("hang", undefined, { timeoutMs: 50 }), (e: unknown) => {
        assert.ok(e instanceof QmpTimeoutError);
        assert.equal(e.command, "hang");
        assert.equal(e.timeoutMs, 50);
        assert.match(e.message, /0\.05s/);
        return true;
      });
      assert.equal(mon.pendingCount, 0);
      const { id } = await server.waitForCommand("hang");
      server.sendRaw(JSON.stringify({ return: "late", id }) + "\r\n");
      await untilTrue("strays.length === 1", 2000, () => strays.length === 1);
      assert.equal(strays[0]?.kind, "return");
      assert.equal((await mon.execute<{ status: string }>("query-status")).status, "prelaunch");
    }));

  void test("a dropped connection rejects pending commands and emits disconnect", () =>
    withRig(async ({ server, mon }) => {
      server.handle("hang", () => NO_REPLY);
      const disconnected = new Promise<QmpDisconnectInfo>((resolve) => mon.once("disconnect", resolve));
      const inFlight = (e: unknown): boolean => {
        assert.ok(e instanceof QmpDisconnectedError);
        assert.equal(e.inFlight, true);
        assert.equal(e.command, "hang");
        assert.match(e.message, /closed while waiting for reply to 'hang'/);
        return true;
      };
      const both = Promise.all([
        assert.rejects(mon.execute("hang"), inFlight),
        assert.rejects(mon.execute("hang"), inFlight),
      ]);
      await server.waitForCommand("hang", { count: 2 });
      server.dropConnections();
      await both;
      const info = await disconnected;
      assert.deepEqual(
        { requested: info.requested, willReconnect: info.willReconnect },
        { requested: false, willReconnect: false },
      );
      assert.equal(mon.state, "idle");
      await assert.rejects(
        mon.execute("query-status"),
        (e: unknown) => e instanceof QmpDisconnectedError && !e.inFlight,
      );
      // A manual reconnect is allowed from idle.
      await mon.connect();
      assert.equal(mon.state, "ready");
    }));

  void test("reconnect: re-does the handshake after a drop", () =>
    withRig(
      async ({ server, mon }) => {
        const infos: QmpDisconnectInfo[] = [];
        mon.on("disconnect", (i) => infos.push(i));
        const reconnected = new Promise<void>((resolve) => mon.once("reconnect", () => resolve()));
        server.dropConnections();
        await reconnected;
        assert.equal(mon.state, "ready");
        assert.deepEqual(
          infos.map((i) => i.willReconnect),
          [true],
        );
        assert.equal(server.acceptedCount, 2);
        assert.deepEqual(
          server.received.map((r) => r.execute),
          ["qmp_capabilities", "qmp_capabilities"],
        );
        // Events still flow on the new session.
        const reset = mon.waitForEvent("RESET", { timeoutMs: 2000 });
        await mon.execute("system_reset");
        assert.equal((await reset).data["reason"], "host-qmp-system-reset");
      },
      { monitor: { reconnect: { initialDelayMs: 5 } } },
    ));

  void test("reconnect: keeps trying until the server is back (QEMU restarted on the same socket)", () =>
    withRig(
      async ({ server, mon, sock }) => {
        const disconnected = new Promise<void>((resolve) => mon.once("disconnect", () => resolve()));
        await server.close();
        await disconnected;
        assert.equal(mon.state, "reconnecting");
        await assert.rejects(mon.execute("query-status"), QmpDisconnectedError);
        const second = await FakeQmpServer.start({ socketPath: sock, status: "running" });
        try {
          const reconnected = new Promise<void>((resolve) => mon.once("reconnect", () => resolve()));
          await reconnected;
          assert.equal((await mon.execute<{ status: string }>("query-status")).status, "running");
        } finally {
          await mon.close();
          await second.close();
        }
      },
      { monitor: { reconnect: { initialDelayMs: 5, maxDelayMs: 20 } } },
    ));

  void test("connect() while reconnecting tries at once instead of waiting for the backoff", () =>
    withRig(
      async ({ server, mon, sock }) => {
        const disconnected = new Promise<void>((resolve) => mon.once("disconnect", () => resolve()));
        await server.close();
        await disconnected;
        await assert.rejects(mon.connect(), { code: "ENOENT" });
        assert.equal(mon.state, "reconnecting", "a failed manual attempt leaves the loop running");
        const second = await FakeQmpServer.start({ socketPath: sock });
        try {
          let reconnectEvents = 0;
          mon.on("reconnect", () => reconnectEvents++);
          await mon.connect();
          assert.equal(mon.state, "ready");
          assert.equal(reconnectEvents, 1);
        } finally {
          await mon.close();
          await second.close();
        }
      },
      // The backoff is far longer than the test, so only connect() can have reconnected.
      { monitor: { reconnect: { initialDelayMs: 60_000 } } },
    ));

  void test("reconnect gives up after maxAttempts", () =>
    withRig(
      async ({ server, mon }) => {
        const failed = new Promise<Error>((resolve) => mon.once("reconnect-failed", resolve));
        await server.close();
        const err = await failed;
        assert.match(String((err as NodeJS.ErrnoException).code), /ENOENT|ECONNREFUSED/);
        assert.equal(mon.state, "idle");
      },
      { monitor: { reconnect: { initialDelayMs: 1, maxAttempts: 3 } } },
    ));

  void test("close rejects pending commands, is idempotent and final", () =>
    withRig(async ({ server, mon }) => {
      server.handle("hang", () => NO_REPLY);
      const infos: QmpDisconnectInfo[] = [];
      mon.on("disconnect", (i) => infos.push(i));
      const rejected = assert.rejects(
        mon.execute("hang"),
        /QMP monitor closed while waiting for reply to 'hang'/,
      );
      await server.waitForCommand("hang");
      await mon.close();
      await mon.close();
      await rejected;
      assert.equal(mon.state, "closed");
      assert.deepEqual(
        infos.map((i) => i.requested),
        [true],
      );
      await assert.rejects(mon.connect(), QmpDisconnectedError);
      await untilTrue("server.connectionCount === 0", 2000, () => server.connectionCount === 0);
    }));

  void test("connect fails cleanly when the socket does not exist", async () => {
    const mon = new QmpMonitor(path.join(os.tmpdir(), `kvmgr-missing-${process.pid}.sock`));
    await assert.rejects(mon.connect(), { code: "ENOENT" });
    assert.equal(mon.state, "idle");
    await mon.close();
  });

  void test("connect times out when the peer never greets", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmgr-qmp-"));
    const sock = path.join(dir, "mute.sock");
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => mute.listen(sock, resolve));
    const mon = new QmpMonitor(sock, { connectTimeoutMs: 100 });
    try {
      await assert.rejects(
        mon.connect(),
        (e: unknown) => e instanceof QmpTimeoutError && e.command === "greeting",
      );
      assert.equal(mon.state, "idle");
    } finally {
      await mon.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void test("waitForEvent honours its predicate and its timeout", () =>
    withRig(async ({ server, mon }) => {
      const wanted = mon.waitForEvent("DEVICE_DELETED", {
        timeoutMs: 2000,
        predicate: (e) => e.data["device"] === "nic1",
      });
      server.emitEvent("DEVICE_DELETED", { device: "nic0" });
      server.emitEvent("DEVICE_DELETED", { device: "nic1" });
      assert.equal((await wanted).data["device"], "nic1");
      await assert.rejects(mon.waitForEvent("NEVER", { timeoutMs: 30 }), QmpTimeoutError);
    }));

  void test("waitForEvent rejects when the session ends for good", () =>
    withRig(async ({ server, mon }) => {
      const waiting = mon.waitForEvent("SHUTDOWN", { timeoutMs: 5000 });
      server.dropConnections();
      await assert.rejects(waiting, QmpDisconnectedError);
    }));
});

void describe("QmpCommands", () => {
  void test("status transitions: prelaunch → cont → running → stop → paused", () =>
    withRig(async ({ mon }) => {
      const qmp = new QmpCommands(mon);
      assert.deepEqual(await qmp.queryStatus(), { status: "prelaunch", running: false });
      const resumed = mon.waitForEvent("RESUME", { timeoutMs: 2000 });
      await qmp.cont();
      await resumed;
      assert.deepEqual(await qmp.queryStatus(), { status: "running", running: true });
      const stopped = mon.waitForEvent("STOP", { timeoutMs: 2000 });
      await qmp.stop();
      await stopped;
      assert.deepEqual(await qmp.queryStatus(), { status: "paused", running: false });
    }));

  void test("powerdown and reset raise their events", () =>
    withRig(async ({ mon }) => {
      const qmp = new QmpCommands(mon);
      const powerdown = mon.waitForEvent("POWERDOWN", { timeoutMs: 2000 });
      await qmp.systemPowerdown();
      await powerdown;
      const reset = mon.waitForEvent("RESET", { timeoutMs: 2000 });
      await qmp.systemReset();
      await reset;
    }));

  void test("commands send the documented arguments", () =>
    withRig(async ({ server, mon }) => {
      for (const c of ["set_link", "netdev_add", "netdev_del", "device_add", "device_del"])
        server.handle(c, () => ({}));
      const qmp = new QmpCommands(mon);
      await qmp.setLink("nic0", false);
      await qmp.netdevAdd({ type: "tap", id: "net0", ifname: "tap0", script: "no", downscript: "no" });
      await qmp.deviceAdd({ driver: "virtio-net-pci", id: "nic1", netdev: "net0", mac: "52:54:00:12:34:56" });
      await qmp.deviceDel("nic1");
      await qmp.netdevDel("net0");
      const sent = server.received.slice(1).map((r) => [r.execute, r.arguments]);
      assert.deepEqual(sent, [
        ["set_link", { name: "nic0", up: false }],
        ["netdev_add", { type: "tap", id: "net0", ifname: "tap0", script: "no", downscript: "no" }],
        ["device_add", { driver: "virtio-net-pci", id: "nic1", netdev: "net0", mac: "52:54:00:12:34:56" }],
        ["device_del", { id: "nic1" }],
        ["netdev_del", { id: "net0" }],
      ]);
    }));

  void test("query-cpus-fast, query-blockstats and human-monitor-command are mapped", () =>
    withRig(async ({ server, mon }) => {
      server.handle("query-cpus-fast", () => [
        {
          "cpu-index": 0,
          "qom-path": "/machine/unattached/device[0]",
          "thread-id": 4242,
          props: { "core-id": 0 },
          target: "x86_64",
        },
        {
          "cpu-index": 1,
          "qom-path": "/machine/unattached/device[2]",
          "thread-id": 4243,
          props: { "core-id": 1 },
          target: "x86_64",
        },
      ]);
      server.handle("query-blockstats", () => [
        {
          device: "",
          qdev: "/machine/peripheral/disk0/virtio-backend",
          "node-name": "fmt0",
          stats: {
            rd_bytes: 1,
            wr_bytes: 2,
            rd_operations: 3,
            wr_operations: 4,
            flush_operations: 5,
            idle_time_ns: 9,
          },
        },
      ]);
      server.handle("human-monitor-command", ({ args }) => `ran: ${String(args["command-line"])}\r\n`);
      const qmp = new QmpCommands(mon);
      assert.deepEqual(await qmp.queryCpusFast(), [
        { cpuIndex: 0, threadId: 4242, qomPath: "/machine/unattached/device[0]", target: "x86_64" },
        { cpuIndex: 1, threadId: 4243, qomPath: "/machine/unattached/device[2]", target: "x86_64" },
      ]);
      assert.deepEqual(await qmp.queryBlockstats(), [
        {
          device: "",
          qdev: "/machine/peripheral/disk0/virtio-backend",
          nodeName: "fmt0",
          rdBytes: 1,
          wrBytes: 2,
          rdOperations: 3,
          wrOperations: 4,
          flushOperations: 5,
        },
      ]);
      assert.equal(await qmp.humanMonitorCommand("info version"), "ran: info version\r\n");
    }));

  void test("quit resolves, then SHUTDOWN and a disconnect follow", () =>
    withRig(async ({ mon }) => {
      const qmp = new QmpCommands(mon);
      const shutdown = mon.waitForEvent("SHUTDOWN", { timeoutMs: 2000 });
      const disconnected = new Promise<QmpDisconnectInfo>((resolve) => mon.once("disconnect", resolve));
      await qmp.quit();
      assert.equal((await shutdown).data["reason"], "host-qmp-quit");
      assert.equal((await disconnected).requested, false);
    }));

  void test("quit counts a hang-up before the reply as success", () =>
    withRig(async ({ server, mon }) => {
      server.handle("quit", ({ connection, afterReply }) => {
        afterReply(() => connection.destroy());
        return NO_REPLY;
      });
      await new QmpCommands(mon).quit();
      assert.equal(mon.state, "idle");
    }));

  void test("quit still fails when the monitor was never connected", async () => {
    const mon = new QmpMonitor("/nonexistent.sock");
    await assert.rejects(new QmpCommands(mon).quit(), QmpDisconnectedError);
  });

  void test("unexpected reply shapes raise QmpProtocolError", async () => {
    const stub: QmpExecutor = {
      execute: <T>(command: string) =>
        Promise.resolve(
          (command === "query-status" ? { status: 1, running: "yes" } : [{ "cpu-index": "zero" }]) as T,
        ),
    };
    const qmp = new QmpCommands(stub);
    await assert.rejects(qmp.queryStatus(), QmpProtocolError);
    await assert.rejects(qmp.queryCpusFast(), /'cpu-index' is not a number/);
    await assert.rejects(qmp.humanMonitorCommand("x"), QmpProtocolError);
  });
});
