// Routes by in-process injection, over real services with a recording runner and an in-memory store.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/daemon/http/server.js";
import { createServices } from "../../src/daemon/services/index.js";
import { openSqliteStore } from "../../src/daemon/store/sqlite-store.js";
import { hostNs } from "../../src/host/netns.js";
import { RecordingRunner } from "../../src/host/runner.js";
import type { DaemonContext } from "../../src/daemon/context.js";
import { EventBus } from "../../src/daemon/events/bus.js";
import { OsinfoDb } from "../../src/host/osinfo/osinfo-db.js";

describe("HTTP API", () => {
  let app: FastifyInstance;
  let tcp: FastifyInstance;
  const run = new RecordingRunner((argv) => ({ code: 0, stdout: argv.includes("-j") ? "[]" : "", stderr: "" }));
  const store = openSqliteStore(":memory:");
  before(async () => {
    const ctx: DaemonContext = {
      run, ns: hostNs("t"), store, log: pino({ level: "silent" }), stateDir: "/nonexistent", runDir: "/nonexistent/run",
      cacheDir: "/nonexistent/cache", diskDir: "/nonexistent/disks", osinfo: new OsinfoDb([new URL("../../fixtures/osinfo", import.meta.url).pathname], null), lab: "t", accel: () => Promise.resolve({ accel: "tcg", reason: "test" }), events: new EventBus(),
    };
    const services = createServices(ctx);
    app = await buildServer({ services, log: ctx.log, token: null });
    tcp = await buildServer({ services, log: ctx.log, token: "s3cret" });
  });
  after(async () => {
    await app.close();
    await tcp.close();
    store.close();
  });

  test("bad input is one sentence with a code and changes nothing", async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: "x;reboot", mode: "nat" }, /a name must be/],
      [{ name: "ok", mode: "nat", subnet: "10.0.0.0/40" }, /a subnet must be/],
      [{ name: "ok", mode: "nat", bridge: "x".repeat(16) }, /an interface name must be 1 to 15/],
      [{ name: "ok", mode: "hostonly", subnet: "10.0.0.0/24", dhcpRange: { start: "10.1.0.1", end: "10.1.0.5" } }, /outside the subnet/],
    ];
    for (const [body, re] of cases) {
      const calls = run.calls.length;
      const r = await app.inject({ method: "POST", url: "/v1/networks", payload: body as object });
      assert.equal(r.statusCode, 400, r.body);
      const err = r.json<{ error: { code: string; message: string } }>().error;
      assert.equal(err.code, "KVMGR_ERR_INPUT_INVALID");
      assert.match(err.message, re);
      assert.ok(run.calls.slice(calls).every((c) => c.argv.includes("-j")), "only read-only host commands ran");
    }
    assert.deepEqual(store.listNetworks(), []);
  });

  test("malformed JSON is refused clearly", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/networks", headers: { "content-type": "application/json" }, payload: "{" });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json<{ error: { code: string } }>().error.code, "KVMGR_ERR_INPUT_INVALID");
  });

  test("VM with a bad MAC is refused; unknown VM is 404", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/vms", payload: { name: "vm1", nics: [{ network: "n", mac: "52:54:00:12:34" }] } });
    assert.equal(r.statusCode, 400);
    assert.match(r.json<{ error: { message: string } }>().error.message, /MAC address must be six hex pairs/);
    const s = await app.inject({ method: "GET", url: "/v1/vms/nope" });
    assert.equal(s.statusCode, 404);
    assert.equal(s.json<{ error: { message: string } }>().error.message, "VM 'nope' does not exist.");
  });

  test("GET /v1/os searches the OS database; VM edits and shutdown timeouts are checked", async () => {
    const all = await app.inject({ method: "GET", url: "/v1/os" });
    assert.equal(all.statusCode, 200);
    assert.deepEqual(all.json<{ id: string }[]>().map((o) => o.id), ["exampleos1", "exampleos2", "legacyos1"]);
    const some = await app.inject({ method: "GET", url: "/v1/os?search=legacy" });
    assert.deepEqual(some.json<{ id: string }[]>().map((o) => o.id), ["legacyos1"]);
    const edit = await app.inject({ method: "PATCH", url: "/v1/vms/nope", payload: { memoryMiB: 1 } });
    assert.equal(edit.statusCode, 400);
    assert.match(edit.json<{ error: { message: string } }>().error.message, /memory must be a whole number/);
    const boot = await app.inject({ method: "PATCH", url: "/v1/vms/nope", payload: { bootOrder: ["floppy"] } });
    assert.match(boot.json<{ error: { message: string } }>().error.message, /boot device must be one of network, disk, cdrom/);
    const t = await app.inject({ method: "POST", url: "/v1/vms/nope/shutdown?timeout=soon" });
    assert.equal(t.statusCode, 400);
    assert.match(t.json<{ error: { message: string } }>().error.message, /timeout is a whole number of seconds/);
    assert.equal((await app.inject({ method: "POST", url: "/v1/vms/nope/pause" })).statusCode, 404);
  });

  test("TCP needs the token; the unix socket does not", async () => {
    assert.equal((await tcp.inject({ method: "GET", url: "/v1/networks" })).statusCode, 401);
    assert.equal((await tcp.inject({ method: "GET", url: "/v1/networks", headers: { authorization: "Bearer wrong" } })).statusCode, 401);
    assert.equal((await tcp.inject({ method: "GET", url: "/v1/networks", headers: { authorization: "Bearer s3cret" } })).statusCode, 200);
    assert.equal((await app.inject({ method: "GET", url: "/v1/networks" })).statusCode, 200);
    assert.equal((await tcp.inject({ method: "GET", url: "/" })).statusCode, 200, "the UI page itself loads without a token");
  });

  test("OpenAPI document lists the routes", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{ paths: Record<string, unknown> }>();
    assert.ok(doc.paths["/v1/networks/{name}/start"]);
    assert.ok(doc.paths["/v1/vms"]);
    // List responses are documented even though they are serialized without the schema.
    const vmList = doc.paths["/v1/vms"] as { get: { responses: { 200: { content: { "application/json": { schema: { type?: string } } } } } } };
    assert.equal(vmList.get.responses[200].content["application/json"].schema.type, "array");
  });
});
