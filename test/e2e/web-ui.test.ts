// The web UI in a real browser (Debian's chromium via playwright-core) against a real daemon
// in a lab: login, networks, machines, host view, languages. Screenshots: test-results/web-ui/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import type { Network } from "../../src/api/network.js";
import type { Vm } from "../../src/api/vm.js";
import { startLabDaemon, until, type LabDaemon } from "../../src/testing/lab.js";
import { freePort, openBrowser, type TestBrowser } from "../../src/testing/browser.js";

describe("web UI", () => {
  let d: LabDaemon;
  let b: TestBrowser;
  let page: Page;
  let url: string;
  let token: string;
  let paths: Set<string>;
  /** a link of the main navigation */
  const nav = (name: string) => page.getByRole("navigation").getByRole("link", { name, exact: true });

  before(async () => {
    const port = await freePort();
    d = await startLabDaemon({ http: `127.0.0.1:${port}`, prefix: "kvw" });
    url = `http://127.0.0.1:${port}`;
    token = readFileSync(`${d.stateDir}/token`, "utf8").trim();
    // Which API parts this daemon has: steps whose API has not landed yet skip themselves.
    const doc = (await (await fetch(`${url}/openapi.json`, { headers: { authorization: `Bearer ${token}` } })).json()) as { paths: Record<string, unknown> };
    paths = new Set(Object.keys(doc.paths));
    b = await openBrowser("web-ui");
    page = b.page;
  });
  after(async () => {
    await b?.close();
    await d?.close();
  });

  test("login refuses a wrong token and accepts the daemon's", async () => {
    await page.goto(url);
    await page.getByLabel("Token", { exact: true }).fill("not-the-token");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("The daemon refused this token.").waitFor();
    await b.shot("login-refused");
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Virtual machines" }).waitFor();
    await b.shot("machines-empty");
  });

  test("deep links load the UI; unknown API paths stay JSON errors", async () => {
    const r = await fetch(`${url}/networks/whatever`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<div id="root">/);
    const api = await fetch(`${url}/v1/nope`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, "KVMGR_ERR_NOT_FOUND");
    const asset = await fetch(`${url}/assets/missing.js`);
    assert.equal(asset.status, 404);
  });

  test("create a NAT network: the form checks fields as the API does", async () => {
    await nav("Networks").click();
    await page.getByRole("link", { name: "New network" }).click();
    await page.getByLabel("Name", { exact: true }).fill("bad name");
    await page.getByLabel("Subnet", { exact: true }).fill("10.0.0.0/33");
    await page.getByRole("button", { name: "Create network" }).click();
    // The schema's hints, next to their fields, before anything reaches the daemon.
    await page.getByText("A name must be 1 to 63 letters").waitFor();
    await page.getByText("A subnet must be an IPv4 address and a prefix length").waitFor();
    await b.shot("network-form-invalid");
    assert.deepEqual(await d.json<Network[]>("net", "list"), []);

    // A refusal only the daemon can make (the gateway outside the subnet) lands next to its field.
    await page.getByLabel("Name", { exact: true }).fill("natnet");
    await page.getByLabel("Subnet", { exact: true }).fill("10.77.0.0/24");
    await page.getByLabel("Gateway", { exact: true }).fill("10.78.0.1");
    await page.getByRole("button", { name: "Create network" }).click();
    const gwError = page.locator("#net-gateway-error");
    await gwError.waitFor();
    assert.match(await gwError.innerText(), /outside the subnet/);
    await b.shot("network-form-server-error");

    await page.getByLabel("Gateway", { exact: true }).fill("");
    await page.getByRole("button", { name: "Create network" }).click();
    await page.getByRole("heading", { name: /natnet/ }).waitFor();
    await page.getByText("Active", { exact: true }).first().waitFor();
    const net = await d.json<Network>("net", "show", "natnet");
    assert.equal(net.mode, "nat");
    assert.equal(net.active, true);
    assert.equal(net.subnet, "10.77.0.0/24");
    await b.shot("network-details");
  });

  test("the new-VM wizard creates a test guest and lands on its console", async () => {
    await nav("Machines").click();
    await page.getByRole("link", { name: "New VM" }).click();
    await page.getByRole("heading", { name: /Step 1 of 5/ }).waitFor();
    await page.getByRole("radio", { name: /Test guest/ }).check();
    await b.shot("wizard-source");
    await page.getByRole("button", { name: "Forward" }).click();
    await page.getByRole("heading", { name: /Step 2 of 5/ }).waitFor();
    await page.getByRole("button", { name: "Forward" }).click();
    await page.getByRole("heading", { name: /Step 3 of 5/ }).waitFor();
    // The schema's hint for a bad value, and Forward refuses to move on.
    await page.getByLabel("Memory (MiB)", { exact: true }).fill("8");
    await page.getByRole("button", { name: "Forward" }).click();
    await page.getByText("Memory must be a whole number of MiB between 16 and 1048576.").waitFor();
    await page.getByLabel("Memory (MiB)", { exact: true }).fill("128");
    await page.getByRole("button", { name: "Forward" }).click();
    await page.getByRole("heading", { name: /Step 4 of 5/ }).waitFor();
    await page.getByText("The test guest runs from memory").waitFor();
    await page.getByRole("button", { name: "Forward" }).click();
    await page.getByRole("heading", { name: /Step 5 of 5/ }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("web1");
    await page.getByLabel("Network", { exact: true }).selectOption("natnet");
    await b.shot("wizard-finish");
    await page.getByRole("button", { name: "Begin Installation" }).click();
    await page.waitForURL(/\/vms\/web1\/console$/, { timeout: 60000 });
    await page.locator('h1 [data-state="running"]').waitFor({ timeout: 30000 });
    const vm = await d.json<Vm>("vm", "show", "web1");
    assert.equal(vm.state, "running");
    assert.equal(vm.memoryMiB, 128);
    assert.equal(vm.image, "test-guest");
    assert.deepEqual(vm.nics.map((n) => n.network), ["natnet"]);
  });

  test("the machines list shows the running VM with its lease", async () => {
    await nav("Machines").click();
    const row = page.locator('tr[data-vm="web1"]');
    await row.locator('[data-state="running"]').waitFor();
    await row.getByText(/10\.77\.0\.\d+/).waitFor({ timeout: 90000 });
    await b.shot("machines-running");
    // The network's page lists the lease with the guest's host name.
    await nav("Networks").click();
    await page.getByRole("link", { name: "natnet" }).click();
    await page.locator("tr[data-lease]").getByText("web1").waitFor();
    await b.shot("network-lease");
  });

  test("VM details: overview and hardware", async () => {
    await page.goto(`${url}/vms/web1/overview`);
    await page.getByRole("heading", { name: "Network interfaces" }).first().waitFor();
    await page.getByText(/10\.77\.0\.\d+/).first().waitFor();
    await b.shot("vm-overview");
    await page.getByRole("tab", { name: "Hardware" }).click();
    await page.getByRole("heading", { name: "CPUs and memory" }).waitFor();
    await b.shot("vm-hardware");
  });

  test("the topology shows the uplink, the NAT bridge, the VM's NIC and the NAT arrow", async () => {
    await nav("Topology").click();
    const net = await d.json<Network>("net", "show", "natnet");
    await page.locator(`[data-bridge-node="${net.bridge}"]`).waitFor();
    await page.locator('[data-vm-node="web1"]').waitFor();
    await page.locator("[data-nic-edge^='web1:'].live").waitFor({ state: "attached" });
    await page.locator('[data-uplink-edge="nat"]').waitFor();
    await page.getByText("Host uplink eth0").waitFor();
    await b.shot("topology");
  });

  test("capture on a network streams decoded packets", { skip: "needs API net: WebSocket /v1/networks/:name/capture" }, async () => {});
  test("graphical console shows the guest's screen", async (t) => {
    if (!paths.has("/v1/vms/{name}/vnc")) return t.skip("needs API vmio: WebSocket /v1/vms/:name/vnc");
    await page.goto(`${url}/vms/web1/console`);
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor({ timeout: 30000 });
    // The guest's VGA text console: more than one colour on the canvas (text on black).
    const colours = await until("the guest's screen on the canvas", 60000, async () => {
      const n = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
        const ctx = c?.getContext("2d");
        if (!c || !ctx || c.width < 100) return 0;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < d.length; i += 16) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        return seen.size;
      });
      return n > 1 ? n : undefined;
    }, 500);
    assert.ok(colours > 1);
    await b.shot("vnc-console");
  });

  test("serial console echoes a typed command", async (t) => {
    if (!paths.has("/v1/vms/{name}/serial")) return t.skip("needs API vmio: WebSocket /v1/vms/:name/serial");
    await page.goto(`${url}/vms/web1/serial`);
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor({ timeout: 30000 });
    await page.locator('[data-testid="serial-screen"] .xterm').click();
    // The shell computes the answer, so the output cannot be the typed echo.
    await page.keyboard.type("echo kvm$((6*7))ok\n");
    await page.locator('[data-testid="serial-screen"] .xterm-rows').getByText("kvm42ok").first().waitFor({ timeout: 30000 });
    await b.shot("serial-console");
  });

  test("live CPU graph and sparkline", async (t) => {
    if (!paths.has("/v1/events")) return t.skip("needs API vmio: vm.stats events on /v1/events");
    await page.goto(`${url}/vms/web1/overview`);
    await page.getByText("Live", { exact: true }).waitFor();
    await page.locator("figure.graph canvas").first().waitFor({ timeout: 30000 });
    await page.getByText("CPU usage", { exact: true }).first().waitFor();
    await b.shot("vm-graphs");
    await nav("Machines").click();
    await page.locator('tr[data-vm="web1"] .spark svg polyline').waitFor({ timeout: 30000 });
  });

  test("move the NIC to another network live", async (t) => {
    if (!paths.has("/v1/vms/{name}/nics/move")) return t.skip("needs API net: POST /v1/vms/:name/nics/move");
    await d.ok("net", "create", "other", "--mode", "hostonly", "--subnet", "10.78.0.0/24");
    await d.ok("net", "start", "other");
    const before = await d.json<Vm>("vm", "show", "web1");
    const mac = before.nics[0]!.mac;
    await page.goto(`${url}/vms/web1/hardware`);
    await page.getByLabel(`Network of the NIC ${mac}`, { exact: true }).selectOption("other");
    await page.getByText(`NIC ${mac} moved to other.`).waitFor({ timeout: 30000 });
    const after = await d.json<Vm>("vm", "show", "web1");
    assert.equal(after.state, "running");
    assert.equal(after.pid, before.pid, "the same QEMU: moved live");
    assert.equal(after.nics[0]?.network, "other");
    const other = await d.json<Network>("net", "show", "other");
    assert.deepEqual(other.ports, [after.nics[0]?.tap]);
    assert.equal(await page.getByLabel(`Network of the NIC ${mac}`, { exact: true }).inputValue(), "other");
    await b.shot("nic-moved");
    // The other network's page shows the VM's tap among its ports.
    await page.goto(`${url}/networks/other`);
    await page.getByRole("list", { name: "Ports on the bridge" }).getByText(after.nics[0].tap!).waitFor();
    await page.getByRole("list", { name: "Ports on the bridge" }).getByRole("link", { name: "web1" }).waitFor();
  });

  test("shut the VM down from the UI", async () => {
    await nav("Machines").click();
    const row = page.locator('tr[data-vm="web1"]');
    if (paths.has("/v1/vms/{name}/shutdown")) {
      // The ACPI power button: the guest powers itself off.
      await row.getByRole("button", { name: "Shut down web1" }).click();
    } else {
      await row.getByRole("button", { name: "Force off web1" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Force off" }).click();
    }
    await row.locator('[data-state="shutoff"]').waitFor({ timeout: 30000 });
    assert.equal((await d.json<Vm>("vm", "show", "web1")).state, "shutoff");
    // The topology follows: the NIC has no tap any more.
    await nav("Topology").click();
    await page.locator("[data-nic-edge^='web1:']:not(.live)").waitFor({ state: "attached" });
  });

  test("the host view shows bridges, links, NAT rules and dnsmasq", async () => {
    await nav("Host").click();
    await page.getByRole("heading", { name: "Bridges" }).waitFor();
    const net = await d.json<Network>("net", "show", "natnet");
    await page.locator(`tr[data-bridge="${net.bridge}"]`).waitFor();
    await page.getByText("eth0", { exact: true }).first().waitFor();
    // kvmgr's nftables table as the daemon reports it, shown verbatim.
    const host = await d.json<{ nftables: string }>("host", "show");
    const firstRule = host.nftables.split("\n").find((l) => l.trim().startsWith("table"));
    if (firstRule) await page.locator("pre.code").getByText(firstRule.trim()).waitFor();
    await b.shot("host");
  });

  test("phone width: the list stacks and stays usable", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await nav("Machines").click();
    await page.locator('tr[data-vm="web1"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
    await b.shot("phone-machines");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test("switch to Chinese: labels are translated, and back", async () => {
    await page.getByLabel("Language", { exact: true }).selectOption("zh");
    await page.getByRole("heading", { name: "虚拟机" }).waitFor();
    await nav("网络").waitFor();
    await page.locator('tr[data-vm="web1"] [data-state="shutoff"]').getByText("已关机").waitFor();
    await b.shot("machines-zh");
    await nav("网络").click();
    await page.getByRole("heading", { name: "虚拟网络" }).waitFor();
    await b.shot("networks-zh");
    await page.getByLabel("语言", { exact: true }).selectOption("en");
    await page.getByRole("heading", { name: "Virtual networks" }).waitFor();
  });

  test("delete everything from the UI, then log out", async () => {
    await nav("Machines").click();
    await page.locator('tr[data-vm="web1"]').getByRole("button", { name: "Delete web1" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await page.getByText("No virtual machines yet").waitFor();
    await nav("Networks").click();
    await page.locator('tr[data-network="natnet"]').getByRole("button", { name: "Delete network natnet" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    if ((await d.json<Network[]>("net", "list")).some((n) => n.name === "other")) {
      await page.locator('tr[data-network="other"]').getByRole("button", { name: "Delete network other" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    }
    await page.getByText("No networks yet").waitFor();
    await until("nothing left", 10000, async () => ((await d.json<Network[]>("net", "list")).length === 0 && (await d.json<Vm[]>("vm", "list")).length === 0 ? true : undefined));
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("Token", { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("kvmgr.token")), null);
  });
});
