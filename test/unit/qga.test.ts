import { test, describe } from "node:test";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { untilTrue } from "../../src/testing/until.js";
import {
  GuestAgentClient,
  QgaDisconnectedError,
  QgaExecTimeoutError,
  QgaTimeoutError,
  type GuestAgentOptions,
} from "../../src/host/qemu/qga.js";
import { QmpCommandError } from "../../src/host/qemu/qmp-protocol.js";
import {
  FakeGuestAgentServer,
  FakeQmpError,
  NO_REPLY,
  type FakeGuestAgentOptions,
} from "../../src/testing/fake-qmp-server.js";

interface Rig {
  server: FakeGuestAgentServer;
  ga: GuestAgentClient;
  sock: string;
}

/** A fake agent plus a client; always torn down, even on failure. */
async function withAgent(
  fn: (rig: Rig) => Promise<void>,
  opts: {
    server?: Omit<FakeGuestAgentOptions, "socketPath">;
    client?: GuestAgentOptions;
    connect?: boolean;
  } = {},
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmgr-qga-"));
  const sock = path.join(dir, "qga.sock");
  const server = await FakeGuestAgentServer.start({ ...opts.server, socketPath: sock });
  const ga = new GuestAgentClient(sock, { timeoutMs: 2000, execPollIntervalMs: 1, ...opts.client });
  try {
    if (opts.connect !== false) await ga.connect();
    await fn({ server, ga, sock });
  } finally {
    await ga.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const executed = (server: FakeGuestAgentServer): string[] => server.received.map((r) => r.execute);

void describe("GuestAgentClient sync", () => {
  void test("connect syncs with a random id and the reply is recognised", () =>
    withAgent(async ({ server, ga }) => {
      assert.ok(ga.connected);
      assert.deepEqual(executed(server), ["guest-sync-delimited"]);
      const id = server.received[0]?.arguments?.["id"];
      assert.equal(typeof id, "number");
      await ga.ping();
      assert.deepEqual(executed(server), ["guest-sync-delimited", "guest-ping"]);
    }));

  void test("stale output and foreign sync replies before ours are discarded", () =>
    withAgent(
      async ({ server, ga }) => {
        await ga.ping();
        // Only one sync was needed despite all the noise.
        assert.deepEqual(executed(server), ["guest-sync-delimited", "guest-ping"]);
      },
      {
        server: {
          // Left over from a previous client: a complete reply and a half one.
          staleOnConnect: '{"return": {"pid": 77}}\n{"return": {"exi',
          // Another client's delimited sync reply, then junk, right before ours.
          beforeSyncReply: Buffer.concat([
            Buffer.from([0xff]),
            Buffer.from('{"return": 12345}\n{"error": {"class": "GenericError", "desc": "old"}}\n'),
          ]),
        },
      },
    ));

  void test("property: any garbage without 0xFF before the sync reply is ignored", () =>
    withAgent(async ({ server, ga }) => {
      const garbage = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a.filter((b) => b !== 0xff)));
      const json = fc
        .jsonValue({ maxDepth: 2 })
        .map((v) => Buffer.from(`${JSON.stringify({ return: v })}\n`));
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(garbage, json), { maxLength: 4 }), async (parts) => {
          server.beforeSyncReply = Buffer.concat(parts);
          await ga.sync();
          await ga.ping();
        }),
        { numRuns: 40 },
      );
    }));

  void test("an absent agent gives a clear timeout; connecting again works once it is up", () =>
    withAgent(
      async ({ server, ga }) => {
        await assert.rejects(ga.connect(), (e: unknown) => {
          assert.ok(e instanceof QgaTimeoutError);
          assert.match(e.message, /^guest agent did not answer within 0\.1s/);
          return true;
        });
        assert.ok(ga.connected, "the socket itself stays open; only the agent is missing");
        server.silent = false;
        // Generous budgets from here on: these must succeed even on a loaded machine.
        await ga.connect({ timeoutMs: 2000 });
        await ga.ping({ timeoutMs: 2000 });
      },
      { server: { silent: true }, client: { timeoutMs: 100 }, connect: false },
    ));

  void test("after a request times out, the next one resyncs and never sees the late reply", () =>
    withAgent(async ({ server, ga }) => {
      server.handle("guest-get-time", () => NO_REPLY);
      await assert.rejects(ga.execute("guest-get-time", undefined, { timeoutMs: 100 }), QgaTimeoutError);
      // The agent answers late; that answer must not be taken for the ping's reply.
      server.sendRaw('{"return": 1700000000000000000}\n');
      server.handle("guest-info", () => ({ version: "8.2.2" }));
      assert.deepEqual(await ga.execute("guest-info"), { version: "8.2.2" });
      assert.deepEqual(executed(server), [
        "guest-sync-delimited",
        "guest-get-time",
        "guest-sync-delimited",
        "guest-info",
      ]);
    }));

  void test("error replies reject with QmpCommandError", () =>
    withAgent(async ({ ga }) => {
      await assert.rejects(
        ga.execute("guest-fsfreeze-freeze"),
        (e: unknown) => e instanceof QmpCommandError && e.class === "CommandNotFound",
      );
      await ga.ping();
    }));

  void test("a dropped connection rejects the waiting request", () =>
    withAgent(async ({ server, ga }) => {
      server.handle("guest-get-time", () => NO_REPLY);
      const rejected = assert.rejects(ga.execute("guest-get-time"), QgaDisconnectedError);
      await server.waitForCommand("guest-get-time");
      server.dropConnections();
      await rejected;
      await untilTrue("!ga.connected", 2000, () => !ga.connected);
      await assert.rejects(ga.ping(), /not connected/);
      // Reconnecting is explicit and resyncs.
      await ga.connect();
      await ga.ping();
    }));

  void test("close rejects the waiting request and later calls", () =>
    withAgent(async ({ server, ga }) => {
      server.handle("guest-get-time", () => NO_REPLY);
      const rejected = assert.rejects(ga.execute("guest-get-time"), /closed/);
      await server.waitForCommand("guest-get-time");
      await ga.close();
      await rejected;
      await assert.rejects(ga.ping(), QgaDisconnectedError);
      await assert.rejects(ga.connect(), QgaDisconnectedError);
    }));

  void test("requests issued concurrently are serialised and each gets its own reply", () =>
    withAgent(async ({ server, ga }) => {
      server.handle("echo", (args) => args["v"]);
      const values = await Promise.all([1, 2, 3, 4, 5].map((v) => ga.execute("echo", { v })));
      assert.deepEqual(values, [1, 2, 3, 4, 5]);
    }));
});

void describe("GuestAgentClient commands", () => {
  void test("exec polls until exit and decodes output", () =>
    withAgent(async ({ server, ga }) => {
      server.setExec((p, args, input) => ({
        exitCode: 3,
        stdout: `${p} ${args.join(" ")} ünï €\n`,
        stderr: `stdin=${input?.toString("utf8") ?? "none"}`,
        pollsBeforeExit: 3,
      }));
      const result = await ga.exec("/bin/echo", ["a", "b c"], { input: "fed" });
      assert.deepEqual(result, {
        exitCode: 3,
        signal: null,
        stdout: "/bin/echo a b c ünï €\n",
        stderr: "stdin=fed",
        truncated: false,
      });
      const calls = server.received.filter((r) => r.execute.startsWith("guest-exec"));
      assert.deepEqual(
        calls.map((c) => c.execute),
        ["guest-exec", "guest-exec-status", "guest-exec-status", "guest-exec-status", "guest-exec-status"],
      );
      assert.deepEqual(calls[0]?.arguments, {
        path: "/bin/echo",
        arg: ["a", "b c"],
        "capture-output": true,
        "input-data": "ZmVk",
      });
      assert.deepEqual(calls[1]?.arguments, { pid: 1000 });
    }));

  void test("exec of a process killed by a signal, with no output", () =>
    withAgent(async ({ server, ga }) => {
      server.setExec(() => ({ signal: 9, truncated: true }));
      assert.deepEqual(await ga.exec("/bin/sleep", ["100"]), {
        exitCode: null,
        signal: 9,
        stdout: "",
        stderr: "",
        truncated: true,
      });
    }));

  void test("exec gives up after its budget and reports the guest pid", () =>
    withAgent(async ({ server, ga }) => {
      server.setExec(() => ({ pollsBeforeExit: Number.MAX_SAFE_INTEGER }));
      await assert.rejects(ga.exec("/bin/forever", [], { timeoutMs: 50 }), (e: unknown) => {
        assert.ok(e instanceof QgaExecTimeoutError);
        assert.equal(e.pid, 1000);
        assert.match(e.message, /did not finish within 0\.05s/);
        return true;
      });
    }));

  void test("exec passes through agent errors", () =>
    withAgent(async ({ server, ga }) => {
      server.handle("guest-exec", (args) => {
        throw new FakeQmpError(
          "GenericError",
          `Failed to execute child process “${String(args["path"])}” (No such file or directory)`,
        );
      });
      await assert.rejects(
        ga.exec("/nope"),
        (e: unknown) => e instanceof QmpCommandError && e.desc.includes("/nope"),
      );
    }));

  void test("networkGetInterfaces normalises qemu-ga's shape", () =>
    withAgent(
      async ({ ga }) => {
        assert.deepEqual(await ga.networkGetInterfaces(), [
          {
            name: "lo",
            mac: "00:00:00:00:00:00",
            ips: [
              { address: "127.0.0.1", prefix: 8, family: "ipv4" },
              { address: "::1", prefix: 128, family: "ipv6" },
            ],
          },
          {
            name: "eth0",
            mac: "52:54:00:ab:cd:ef",
            ips: [{ address: "10.0.0.5", prefix: 24, family: "ipv4" }],
          },
          { name: "wg0", mac: null, ips: [] },
        ]);
      },
      {
        server: {
          interfaces: [
            {
              name: "lo",
              "hardware-address": "00:00:00:00:00:00",
              "ip-addresses": [
                { "ip-address-type": "ipv4", "ip-address": "127.0.0.1", prefix: 8 },
                { "ip-address-type": "ipv6", "ip-address": "::1", prefix: 128 },
              ],
              statistics: { "rx-bytes": 0 },
            },
            {
              name: "eth0",
              "hardware-address": "52:54:00:AB:CD:EF",
              "ip-addresses": [
                { "ip-address-type": "ipv4", "ip-address": "10.0.0.5", prefix: 24 },
                { "ip-address-type": "bogus" },
              ],
            },
            { name: "wg0" },
          ],
        },
      },
    ));

  void test("shutdown does not wait for a reply, and the next request resyncs", () =>
    withAgent(async ({ server, ga }) => {
      await ga.shutdown("reboot");
      const cmd = await server.waitForCommand("guest-shutdown");
      assert.deepEqual(cmd.arguments, { mode: "reboot" });
      await ga.ping();
      assert.deepEqual(executed(server), [
        "guest-sync-delimited",
        "guest-shutdown",
        "guest-sync-delimited",
        "guest-ping",
      ]);
    }));

  void test("shutdown fails clearly when no agent is listening", () =>
    withAgent(
      async ({ server, ga }) => {
        await assert.rejects(ga.connect(), QgaTimeoutError);
        await assert.rejects(
          ga.shutdown(),
          /guest agent did not answer within 0\.1s \(guest-sync-delimited\)/,
        );
        assert.ok(!executed(server).includes("guest-shutdown"));
      },
      { server: { silent: true }, client: { timeoutMs: 100 }, connect: false },
    ));
});
