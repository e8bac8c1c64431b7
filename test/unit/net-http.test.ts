// Network routes added for issue 3, by in-process injection over real services with a
// recording runner (nothing runs) and an in-memory store: refusals are one sentence with a
// code and run no host-changing command.
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

describe("network API: forwards, NIC moves, capture, doctor", () => {
  let app: FastifyInstance;
  const run = new RecordingRunner((argv) => ({ code: 0, stdout: argv.includes("-j") ? "[]" : "", stderr: "" }));
  const store = openSqliteStore(":memory:");
  const err = (r: { json: <T>() => T }) => r.json<{ error: { code: string; message: string } }>().error;
  /** host commands other than reads (`ip -j`, `nft -j`, `ss`, `sysctl -a`) */
  const writes = (from: number) => run.calls.slice(from).filter((c) => !c.argv.includes("-j") && !c.argv.includes("ss") && !c.argv.includes("-a"));

  before(async () => {
    const ctx: DaemonContext = {
      run, ns: hostNs("t"), store, log: pino({ level: "silent" }), stateDir: "/nonexistent", runDir: "/nonexistent/run",
      cacheDir: "/nonexistent/cache", diskDir: "/nonexistent/disks", osinfo: new OsinfoDb([new URL("../../fixtures/osinfo", import.meta.url).pathname], null), lab: "t",
      accel: () => Promise.resolve({ accel: "tcg", reason: "test" }), events: new EventBus(),
    };
    app = await buildServer({ services: createServices(ctx), log: ctx.log, token: null });
    for (const body of [{ name: "nat1", mode: "nat", subnet: "10.0.0.0/24" }, { name: "ho", mode: "hostonly", subnet: "10.1.0.0/24" }]) {
      assert.equal((await app.inject({ method: "POST", url: "/v1/networks", payload: body })).statusCode, 201);
    }
    assert.equal((await app.inject({ method: "POST", url: "/v1/vms", payload: { name: "vm1", image: "test-guest", nics: [{ network: "nat1", mac: "52:54:00:00:00:01" }] } })).statusCode, 201);
  });
  after(async () => {
    await app.close();
    store.close();
  });

  test("port forwards: stored on a stopped network, refused where they cannot be", async () => {
    const from = run.calls.length;
    const ok = await app.inject({ method: "POST", url: "/v1/networks/nat1/forwards", payload: { hostPort: 8080, vm: "vm1", port: 80 } });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.deepEqual(writes(from), [], "a stopped network gets no rules");
    const list = await app.inject({ method: "GET", url: "/v1/networks/nat1/forwards" });
    assert.deepEqual(list.json(), [{ proto: "tcp", hostPort: 8080, vm: "vm1", port: 80, ip: null }]);
    const cases: [string, object, number, RegExp][] = [
      ["nat1", { hostPort: 8080, vm: "vm1", port: 22 }, 409, /already forwarded to vm1:80 by network 'nat1'/],
      ["ho", { hostPort: 9090, vm: "vm1", port: 80 }, 400, /apply to nat networks; 'ho' is hostonly/],
      ["nat1", { hostPort: 0, vm: "vm1", port: 80 }, 400, /a port must be a whole number between 1 and 65535/],
      ["nat1", { hostPort: 9090, vm: "vm1", port: 80, proto: "sctp" }, 400, /a protocol must be tcp or udp/],
      ["nope", { hostPort: 9090, vm: "vm1", port: 80 }, 404, /Network 'nope' does not exist/],
    ];
    for (const [net, body, status, re] of cases) {
      const r = await app.inject({ method: "POST", url: `/v1/networks/${net}/forwards`, payload: body });
      assert.equal(r.statusCode, status, r.body);
      assert.match(err(r).message, re);
    }
    const gone = await app.inject({ method: "DELETE", url: "/v1/networks/nat1/forwards/udp/8080" });
    assert.equal(gone.statusCode, 404);
    assert.equal((await app.inject({ method: "DELETE", url: "/v1/networks/nat1/forwards/tcp/8080" })).statusCode, 200);
    assert.deepEqual(store.getNetwork("nat1")?.spec.forwards, []);
  });

  test("VM rename: its port forwards follow it; a taken or bad name is refused and nothing changes", async () => {
    assert.equal((await app.inject({ method: "POST", url: "/v1/networks/nat1/forwards", payload: { hostPort: 8081, vm: "vm1", port: 81 } })).statusCode, 201);
    assert.equal((await app.inject({ method: "POST", url: "/v1/vms", payload: { name: "other", image: "test-guest" } })).statusCode, 201);
    const refusals: [object, number, RegExp][] = [
      [{ name: "other" }, 409, /A VM named 'other' already exists/],
      [{ name: "a;b" }, 400, /Invalid name 'a;b'/],
      [{}, 400, /name/],
    ];
    for (const [body, status, re] of refusals) {
      const r = await app.inject({ method: "POST", url: "/v1/vms/vm1/rename", payload: body });
      assert.equal(r.statusCode, status, r.body);
      assert.match(err(r).message, re);
    }
    assert.ok(store.getVm("vm1"));
    const r = await app.inject({ method: "POST", url: "/v1/vms/vm1/rename", payload: { name: "vm9" } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json<{ name: string }>().name, "vm9");
    assert.equal(store.getVm("vm1"), null);
    assert.deepEqual(store.getNetwork("nat1")?.spec.forwards.map((f) => [f.hostPort, f.vm]), [[8081, "vm9"]]);
    assert.equal((await app.inject({ method: "POST", url: "/v1/vms/vm9/rename", payload: { name: "vm1" } })).statusCode, 200);
    assert.equal((await app.inject({ method: "DELETE", url: "/v1/networks/nat1/forwards/tcp/8081" })).statusCode, 200);
    assert.equal((await app.inject({ method: "DELETE", url: "/v1/vms/other" })).statusCode, 204);
  });

  test("NIC move: a stopped VM's definition follows; bad MAC, unknown NIC or network refused", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/vms/vm1/nics/move", payload: { mac: "52:54:00:00:00:01", network: "ho" } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(store.getVm("vm1")?.spec.nics.map((n) => n.network), ["ho"]);
    const cases: [object, number, RegExp][] = [
      [{ mac: "52:54:00:00:00", network: "nat1" }, 400, /MAC address must be six hex pairs/],
      [{ mac: "52:54:00:00:00:99", network: "nat1" }, 404, /has no NIC with MAC 52:54:00:00:00:99/],
      [{ mac: "52:54:00:00:00:01", network: "zzz" }, 404, /Network 'zzz' does not exist/],
    ];
    for (const [body, status, re] of cases) {
      const x = await app.inject({ method: "POST", url: "/v1/vms/vm1/nics/move", payload: body });
      assert.equal(x.statusCode, status, x.body);
      assert.match(err(x).message, re);
    }
  });

  test("capture refuses a VM that is not running and a bad count before starting tcpdump", async () => {
    const from = run.calls.length;
    const a = await app.inject({ method: "GET", url: "/v1/networks/ho/capture?vm=vm1" });
    assert.equal(a.statusCode, 409);
    assert.match(err(a).message, /VM 'vm1' is not running/);
    const b = await app.inject({ method: "GET", url: "/v1/networks/ho/capture?count=lots" });
    assert.equal(b.statusCode, 400);
    const c = await app.inject({ method: "GET", url: "/v1/networks/ho/capture?format=json" });
    assert.match(err(c).message, /format must be pcap or text/);
    const e = await app.inject({ method: "GET", url: "/v1/networks/ho/capture?uplink=true" });
    assert.match(err(e).message, /has no uplink to capture on/);
    assert.deepEqual(writes(from), []);
  });

  test("doctor on a host with nothing in the way is healthy", async () => {
    const r = await app.inject({ method: "GET", url: "/v1/host/doctor" });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { findings: [], healthy: true });
  });
});
