// The daemon serves the built web UI on TCP: files, index.html for the UI's own routes, JSON
// 404s for the API; the first load stays under the JavaScript budget; /v1/host lists links.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { buildServer, isUiRoute } from "../../src/daemon/http/server.js";
import { createServices } from "../../src/daemon/services/index.js";
import { openSqliteStore } from "../../src/daemon/store/sqlite-store.js";
import { hostNs } from "../../src/host/netns.js";
import { RecordingRunner } from "../../src/host/runner.js";
import type { DaemonContext } from "../../src/daemon/context.js";
import { EventBus } from "../../src/daemon/events/bus.js";
import { OsinfoDb } from "../../src/host/osinfo/osinfo-db.js";
import type { HostInfo } from "../../src/api/host.js";

const IP_JSON = JSON.stringify([
  { ifname: "lo", flags: ["LOOPBACK", "UP"], address: "00:00:00:00:00:00", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
  { ifname: "eth0", flags: ["UP"], address: "02:00:00:00:00:07", linkinfo: { info_kind: "veth" }, addr_info: [{ family: "inet", local: "172.16.31.7", prefixlen: 16 }] },
  { ifname: "kvbr0", flags: ["UP"], address: "52:54:00:aa:bb:cc", linkinfo: { info_kind: "bridge" }, addr_info: [{ family: "inet", local: "10.0.0.1", prefixlen: 24 }] },
  { ifname: "vnet0", flags: ["UP"], master: "kvbr0", address: "fe:54:00:00:00:01", linkinfo: { info_kind: "tun" } },
]);

describe("web UI serving", () => {
  const web = mkdtempSync(join(tmpdir(), "kvmgr-web-"));
  const run = new RecordingRunner((argv) => ({ code: 0, stdout: argv.includes("addr") && argv.includes("-j") ? IP_JSON : argv.includes("-j") ? "[]" : "", stderr: "" }));
  const store = openSqliteStore(":memory:");
  let tcp: FastifyInstance;
  let noUi: FastifyInstance;
  before(async () => {
    mkdirSync(join(web, "assets"));
    writeFileSync(join(web, "index.html"), '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc.js"></script>');
    writeFileSync(join(web, "assets", "index-abc.js"), "console.log(1)");
    const ctx: DaemonContext = {
      run, ns: hostNs("t"), store, log: pino({ level: "silent" }), stateDir: "/nonexistent", runDir: "/nonexistent/run",
      cacheDir: "/nonexistent/cache", diskDir: "/nonexistent/disks", osinfo: new OsinfoDb([new URL("../../fixtures/osinfo", import.meta.url).pathname], null), lab: "t", accel: () => Promise.resolve({ accel: "tcg", reason: "test" }), events: new EventBus(),
    };
    const services = createServices(ctx);
    tcp = await buildServer({ services, log: ctx.log, token: "s3cret", webRoot: web });
    noUi = await buildServer({ services, log: ctx.log, token: "s3cret", webRoot: join(web, "missing") });
  });
  after(async () => {
    await tcp.close();
    await noUi.close();
    store.close();
    rmSync(web, { recursive: true, force: true });
  });

  test("which paths are the UI's own routes", () => {
    assert.equal(isUiRoute("GET", "/"), true);
    assert.equal(isUiRoute("GET", "/vms/web1/console"), true);
    assert.equal(isUiRoute("GET", "/networks?x=1"), true);
    assert.equal(isUiRoute("GET", "/v1/vms"), false);
    assert.equal(isUiRoute("GET", "/openapi.json"), false);
    assert.equal(isUiRoute("GET", "/assets/x.js"), false);
    assert.equal(isUiRoute("POST", "/vms"), false);
  });

  test("files, deep links and the API's own 404s", async () => {
    const root = await tcp.inject({ method: "GET", url: "/" });
    assert.equal(root.statusCode, 200);
    assert.match(root.body, /id="root"/);
    const deep = await tcp.inject({ method: "GET", url: "/vms/web1/console" });
    assert.equal(deep.statusCode, 200);
    assert.match(deep.body, /id="root"/);
    assert.equal(deep.headers["cache-control"], "no-cache");
    const js = await tcp.inject({ method: "GET", url: "/assets/index-abc.js" });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers["content-type"]), /javascript/);
    assert.match(String(js.headers["cache-control"]), /immutable/);
    assert.equal((await tcp.inject({ method: "GET", url: "/assets/nope.js" })).statusCode, 404);
    const api = await tcp.inject({ method: "GET", url: "/v1/nope", headers: { authorization: "Bearer s3cret" } });
    assert.equal(api.statusCode, 404);
    assert.equal(api.json<{ error: { code: string } }>().error.code, "KVMGR_ERR_NOT_FOUND");
    assert.equal((await tcp.inject({ method: "GET", url: "/v1/vms" })).statusCode, 401, "the API still needs the token");
  });

  test("without a built UI the daemon serves a placeholder page", async () => {
    const r = await noUi.inject({ method: "GET", url: "/" });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /web UI is on its way/);
  });

  test("/v1/host lists every link of the namespace (the seed's ip link)", async () => {
    const h = (await tcp.inject({ method: "GET", url: "/v1/host", headers: { authorization: "Bearer s3cret" } })).json<HostInfo>();
    assert.deepEqual(
      h.links.map((l) => [l.name, l.kind, l.master, l.up]),
      [["lo", null, null, true], ["eth0", "veth", null, true], ["kvbr0", "bridge", null, true], ["vnet0", "tun", "kvbr0", true]],
    );
    assert.deepEqual(h.links.find((l) => l.name === "eth0")?.addresses, ["172.16.31.7/16"]);
    assert.deepEqual(h.bridges, [{ name: "kvbr0", up: true, addresses: ["10.0.0.1/24"], ports: ["vnet0"] }]);
  });
});

test("the built UI's first load is under 500 KB of gzipped JavaScript", { skip: !existsSync(new URL("../../web/dist/index.html", import.meta.url)) && "web/dist is not built (npm run build)" }, () => {
  const r = spawnSync(process.execPath, [new URL("../../scripts/web-size.mjs", import.meta.url).pathname, "--json"], { encoding: "utf8" });
  const out = JSON.parse(r.stdout) as { files: { file: string; gzip: number }[]; totalGzipBytes: number; ok: boolean };
  assert.ok(out.files.length >= 1, "index.html names its entry script");
  assert.ok(out.totalGzipBytes > 10_000, "the entry is the real app");
  assert.equal(out.ok, true, `first load ${out.totalGzipBytes} bytes gzipped`);
  assert.ok(!out.files.some((f) => /novnc|xterm|uplot|rfb/i.test(f.file)), "consoles and graphs load on demand");
});
