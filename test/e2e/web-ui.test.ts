// The web UI in a real browser (Debian's chromium via playwright-core) against a real daemon
// in a lab: login, networks, the wizard (test guest by mouse, kernel boot by keyboard only),
// machines, consoles, live graphs, capture, live NIC move, host view, keyboard reach of every
// control, phone width, languages. Screenshots (looked at, not compared): test-results/web-ui/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import type { Network } from "../../src/api/network.js";
import type { Vm } from "../../src/api/vm.js";
import { startLabDaemon, until, type LabDaemon } from "../../src/testing/lab.js";
import { freePort, openBrowser, type TestBrowser } from "../../src/testing/browser.js";
import { SerialConsole } from "../../src/testing/serial.js";

/** The focused element's accessible name, roughly: its aria-label or its text. */
const focusedName = (page: Page) => page.evaluate(() => {
  const e = document.activeElement;
  return e ? (e.getAttribute("aria-label") ?? e.textContent ?? "").trim() : "";
});

/** Presses Tab until the focus is on the control named `name`; fails after `max` presses. */
async function tabTo(page: Page, name: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if ((await focusedName(page)) === name) return;
  }
  assert.fail(`Tab never reached "${name}"`);
}

/** Every visible, enabled control of the page is reached by pressing Tab (none skipped, none traps the focus). */
async function assertTabReachesAll(page: Page, what: string): Promise<number> {
  const total = await page.evaluate(() => {
    let n = 0;
    for (const el of document.querySelectorAll<HTMLElement>("a[href], button, input, select, textarea, [tabindex]")) {
      el.removeAttribute("data-kb");
      const r = el.getBoundingClientRect();
      // Shut <details> hide their content from Tab as from the eye (the <summary> stays).
      if (el.closest("details:not([open])") && el.tagName !== "SUMMARY") continue;
      const radioSkipped = el instanceof HTMLInputElement && el.type === "radio" && !el.checked && !!el.form?.querySelector(`input[type=radio][name="${el.name}"]:checked`);
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden" || el.matches(":disabled") || el.tabIndex < 0 || radioSkipped) continue;
      el.setAttribute("data-kb", String(n++));
    }
    return n;
  });
  const seen = new Set<string>();
  for (let k = 0; k < total * 2 + 5 && seen.size < total; k++) {
    await page.keyboard.press("Tab");
    const id = await page.evaluate(() => document.activeElement?.getAttribute("data-kb") ?? null);
    if (id !== null) seen.add(id);
  }
  const missed = await page.evaluate(
    (ids) => [...document.querySelectorAll("[data-kb]")].filter((e) => !ids.includes(e.getAttribute("data-kb") ?? "")).map((e) => e.outerHTML.slice(0, 160)),
    [...seen],
  );
  assert.deepEqual(missed, [], `${what}: controls Tab does not reach`);
  return total;
}

describe("web UI", () => {
  let d: LabDaemon;
  let b: TestBrowser;
  let page: Page;
  let url: string;
  let token: string;
  /** a link of the main navigation */
  const nav = (name: string) => page.getByRole("navigation").getByRole("link", { name, exact: true });

  before(async () => {
    const port = await freePort();
    d = await startLabDaemon({ http: `127.0.0.1:${port}`, prefix: "kvw" });
    url = `http://127.0.0.1:${port}`;
    token = readFileSync(`${d.stateDir}/token`, "utf8").trim();
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

    // A DHCP reservation on the running network: refused at its field, then added, then removed.
    await page.getByLabel("MAC address", { exact: true }).fill("52:54:00:77:00:01");
    await page.getByLabel("Reserved address", { exact: true }).fill("10.78.0.9");
    await page.getByRole("button", { name: "Reserve" }).click();
    const resErr = page.locator("#res-ip-error");
    await resErr.waitFor();
    assert.match(await resErr.innerText(), /outside the subnet 10\.77\.0\.0\/24/);
    await page.getByLabel("Reserved address", { exact: true }).fill("10.77.0.9");
    await page.getByRole("button", { name: "Reserve" }).click();
    await page.locator('tr[data-reservation="52:54:00:77:00:01"]').waitFor();
    assert.deepEqual((await d.json<Network>("net", "show", "natnet")).dhcpHosts, [{ mac: "52:54:00:77:00:01", ip: "10.77.0.9" }]);
    await b.shot("network-reservation");
    await page.getByRole("button", { name: "Remove the reservation of 52:54:00:77:00:01" }).click();
    await page.getByText("No reservations.").waitFor();
    assert.deepEqual((await d.json<Network>("net", "show", "natnet")).dhcpHosts, []);
    await page.getByRole("checkbox", { name: "Start natnet with the daemon" }).check();
    await until("natnet's autostart on", 10000, async () => ((await d.json<Network>("net", "show", "natnet")).autostart ? true : undefined), 100);
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

  test("keyboard only: the wizard boots a kernel and initrd, with errors at their fields and the focus on them", async () => {
    const images = `${process.env.KVMGR_CACHE_DIR ?? "/var/cache/kvmgr"}/images/test-guest`;
    const kernel = `${images}/vmlinuz`;
    const initrd = `${images}/initrd.img`;
    const cmdline = "console=tty0 console=ttyS0 quiet hostname=kern1";
    const focusedId = () => page.evaluate(() => document.activeElement?.id ?? "");
    await nav("Machines").click();
    await page.getByRole("heading", { name: "Virtual machines" }).waitFor();
    await tabTo(page, "New VM");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Step 1 of 5/ }).waitFor();
    // The link that led here went with its page: the focus starts at the top of the new one.
    await page.keyboard.press("Tab");
    assert.equal(await focusedName(page), "", "the checked install source (a radio) has the focus");
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).value), "test");
    await page.keyboard.press("ArrowUp");
    assert.equal(await page.getByRole("radio", { name: /Kernel boot/ }).isChecked(), true);
    await page.keyboard.press("Tab");
    assert.equal(await focusedId(), "wiz-kernel");
    // Enter without a kernel: the error sits under the field, and the focus stays on it.
    await page.keyboard.press("Enter");
    await page.locator("#wiz-kernel-error").getByText("This field is required.").waitFor();
    assert.equal(await focusedId(), "wiz-kernel");
    await page.keyboard.type(kernel);
    await page.keyboard.press("Tab");
    await page.keyboard.type(initrd);
    await page.keyboard.press("Tab");
    await page.keyboard.type(cmdline);
    await b.shot("wizard-kernel");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Step 2 of 5/ }).waitFor();
    assert.equal(await focusedId(), "wiz-os-search", "a new step's first field has the focus");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Step 3 of 5/ }).waitFor();
    assert.equal(await focusedId(), "wiz-mem");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("8");
    await page.keyboard.press("Enter");
    await page.locator("#wiz-mem-error").getByText("Memory must be a whole number of MiB between 16 and 1048576.").waitFor();
    assert.equal(await focusedId(), "wiz-mem");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("128");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Step 4 of 5/ }).waitFor();
    // No disk: the kernel runs from its initrd.
    assert.equal(await focusedName(page), "", "the disk checkbox has the focus");
    // The room for disks is shown, and a disk larger than it is flagged as soon as it is typed.
    await page.getByTestId("wiz-free").getByText(/available in \//).waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await focusedId(), "wiz-disk");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("99999999");
    await page.getByTestId("wiz-space-early").getByText(/is larger than the free space/).waitFor();
    await b.shot("wizard-space");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Space");
    assert.equal(await page.getByRole("checkbox", { name: "Create a disk image for the VM" }).isChecked(), false);
    await tabTo(page, "Forward");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Step 5 of 5/ }).waitFor();
    assert.equal(await focusedId(), "wiz-name");
    await page.keyboard.type("kern1");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/vms\/kern1\/console$/, { timeout: 60000 });
    await page.locator('h1 [data-state="running"]').waitFor({ timeout: 30000 });
    const vm = await d.json<Vm>("vm", "show", "kern1");
    assert.equal(vm.image, null);
    assert.equal(vm.kernel, kernel);
    assert.equal(vm.initrd, initrd);
    assert.equal(vm.cmdline, cmdline);
    assert.equal(vm.memoryMiB, 128);
    assert.deepEqual(vm.disks, []);
    assert.deepEqual(vm.nics.map((n) => n.network), ["natnet"]);
    // The kernel really booted: its userland asked natnet for an address.
    await until("kern1's lease", 90000, async () => ((await d.json<Vm>("vm", "show", "kern1")).nics[0]?.ips.some((ip) => ip.startsWith("10.77.0.")) ? true : undefined), 500);
    await d.ok("vm", "delete", "kern1", "--force");
  });

  test("keyboard: Tab reaches every control of each page, and moving around never reloads the page", async () => {
    await page.evaluate(() => Object.assign(window, { kvmgrSamePage: true }));
    await nav("Machines").click();
    await page.locator('tr[data-vm="web1"] [data-state="running"]').waitFor();
    await assertTabReachesAll(page, "machines");
    await page.locator('tr[data-vm="web1"]').getByRole("link", { name: "web1", exact: true }).click();
    await page.getByRole("heading", { name: "Network interfaces" }).first().waitFor();
    await assertTabReachesAll(page, "VM overview");
    await page.getByRole("tab", { name: "Hardware" }).click();
    await page.getByRole("heading", { name: "CPUs and memory" }).waitFor();
    await assertTabReachesAll(page, "VM hardware");
    await nav("Networks").click();
    await page.locator('tr[data-network="natnet"]').waitFor();
    await assertTabReachesAll(page, "networks");
    await page.getByRole("link", { name: "natnet" }).click();
    await page.getByRole("heading", { name: /natnet/ }).waitFor();
    await assertTabReachesAll(page, "network overview");
    await page.getByRole("tab", { name: "Capture" }).click();
    await page.getByRole("button", { name: "Start capture" }).waitFor();
    await assertTabReachesAll(page, "capture");
    await nav("Networks").click();
    await page.getByRole("link", { name: "New network" }).click();
    await page.getByRole("button", { name: "Create network" }).waitFor();
    await assertTabReachesAll(page, "new network");
    await nav("Topology").click();
    await page.locator('[data-vm-node="web1"]').waitFor();
    await assertTabReachesAll(page, "topology");
    await nav("Host").click();
    await page.getByRole("heading", { name: "Bridges" }).waitFor();
    await assertTabReachesAll(page, "host");
    await nav("Machines").click();
    await page.getByRole("link", { name: "New VM" }).click();
    await page.getByRole("heading", { name: /Step 1 of 5/ }).waitFor();
    await assertTabReachesAll(page, "wizard");
    await page.getByRole("link", { name: "Cancel" }).click();
    await page.getByRole("heading", { name: "Virtual machines" }).waitFor();
    // Browser history moves within the app as well.
    await page.goBack();
    await page.getByRole("heading", { name: /Step 1 of 5/ }).waitFor();
    await page.goBack();
    await page.getByRole("heading", { name: "Virtual machines" }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { kvmgrSamePage?: boolean }).kvmgrSamePage), true, "the page was never reloaded");
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
    // Autostart is changed where it is shown.
    const auto = page.getByRole("checkbox", { name: "Start web1 with the daemon" });
    await auto.check();
    await until("web1's autostart on", 10000, async () => ((await d.json<Vm>("vm", "show", "web1")).autostart ? true : undefined), 100);
    await auto.uncheck();
    await until("web1's autostart off", 10000, async () => ((await d.json<Vm>("vm", "show", "web1")).autostart ? undefined : true), 100);
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

  test("capture on a network streams decoded packets; a bad filter is refused at its field; Stop; the pcap downloads", async () => {
    const net = await d.json<Network>("net", "show", "natnet");
    await nav("Networks").click();
    await page.getByRole("link", { name: "natnet" }).click();
    await page.getByRole("tab", { name: "Capture" }).click();
    // tcpdump's refusal of the filter, next to the filter field.
    await page.getByLabel("Filter (BPF)", { exact: true }).fill("icmp and and");
    await page.getByRole("button", { name: "Start capture" }).click();
    const filterError = page.locator("#cap-filter-error");
    await filterError.waitFor();
    assert.match(await filterError.innerText(), /not valid BPF/);
    await page.getByLabel("Filter (BPF)", { exact: true }).fill("icmp");
    await page.getByRole("button", { name: "Start capture" }).click();
    await page.getByRole("status").filter({ hasText: `Capturing on ${net.bridge}` }).waitFor();
    // Traffic from inside the guest: three pings of the gateway.
    const con = await SerialConsole.openVm(d.stateDir, "web1");
    try {
      await con.waitForShell();
      const ping = await con.run(`ping -c 3 -W 2 ${net.gateway}`, 20000);
      assert.equal(ping.code, 0, ping.output);
    } finally {
      con.close();
    }
    const rows = page.locator('tr[data-packet="ICMP"]');
    await until("six ICMP rows", 15000, async () => ((await rows.count()) >= 6 ? true : undefined));
    await rows.filter({ hasText: "ICMP echo request" }).first().waitFor();
    await rows.filter({ hasText: "ICMP echo reply" }).first().locator("td").nth(1).getByText(`${net.gateway}`, { exact: true }).waitFor();
    const download = page.getByRole("button", { name: /^Download as pcap/ });
    await until("six packets in the pcap recording", 15000, async () => (/\((\d+) packets\)/.exec(await download.innerText())?.[1] === "6" ? true : undefined));
    await b.shot("capture");
    await page.getByRole("button", { name: "Stop", exact: true }).click();
    await page.getByRole("button", { name: "Start capture" }).waitFor();
    await page.getByRole("status").filter({ hasText: "6 packets captured" }).waitFor();
    const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
    assert.match(file.suggestedFilename(), /^natnet-.*\.pcap$/);
    const pcap = readFileSync(await file.path());
    assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4, "a pcap file");
    // Six Ethernet frames of IPv4 ICMP, three each way.
    const frames: Buffer[] = [];
    for (let o = 24; o < pcap.length; ) {
      const len = pcap.readUInt32LE(o + 8);
      frames.push(pcap.subarray(o + 16, o + 16 + len));
      o += 16 + len;
    }
    assert.equal(frames.length, 6);
    for (const f of frames) {
      assert.equal(f.readUInt16BE(12), 0x0800, "IPv4");
      assert.equal(f[14 + 9], 1, "ICMP");
    }
    assert.deepEqual(frames.map((f) => f[14 + 20]).sort(), [0, 0, 0, 8, 8, 8], "echo requests and replies");
  });
  test("graphical console shows the guest's screen", async () => {
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

  test("serial console echoes a typed command", async () => {
    await page.goto(`${url}/vms/web1/serial`);
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor({ timeout: 30000 });
    await page.locator('[data-testid="serial-screen"] .xterm').click();
    // The shell computes the answer, so the output cannot be the typed echo.
    await page.keyboard.type("echo kvm$((6*7))ok\n");
    await page.locator('[data-testid="serial-screen"] .xterm-rows').getByText("kvm42ok").first().waitFor({ timeout: 30000 });
    await b.shot("serial-console");
  });

  test("live CPU graph and sparkline", async () => {
    await page.goto(`${url}/vms/web1/overview`);
    await page.getByText("Live", { exact: true }).waitFor();
    await page.locator("figure.graph canvas").first().waitFor({ timeout: 30000 });
    await page.getByText("CPU usage", { exact: true }).first().waitFor();
    await b.shot("vm-graphs");
    await nav("Machines").click();
    await page.locator('tr[data-vm="web1"] .spark svg polyline').waitFor({ timeout: 30000 });
  });

  test("move the NIC to another network live", async () => {
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
    // The guest saw its link flap and asked the new network for a lease: the page shows it.
    await page.locator(`tr[data-nic="${mac}"] td.ips`).getByText(/\b10\.78\.0\.\d+\b/).waitFor({ timeout: 60000 });
    const moved = await d.json<Vm>("vm", "show", "web1");
    assert.ok(moved.nics[0]?.ips.some((ip) => ip.startsWith("10.78.0.")), `an address on the new network: ${moved.nics[0]?.ips.join(", ")}`);
    await b.shot("nic-moved");
    // The other network's page shows the VM's tap among its ports.
    await page.goto(`${url}/networks/other`);
    await page.getByRole("list", { name: "Ports on the bridge" }).getByText(after.nics[0].tap!).waitFor();
    await page.getByRole("list", { name: "Ports on the bridge" }).getByRole("link", { name: "web1" }).waitFor();
  });

  test("reboot from the details page; shut the VM down from the UI; Force off asks first", async () => {
    // Reboot: the guest powers off by its ACPI button and the same QEMU starts it again.
    const { pid } = await d.json<Vm>("vm", "show", "web1");
    await page.goto(`${url}/vms/web1/overview`);
    await page.getByRole("button", { name: "Reboot web1" }).click();
    await page.getByText("web1 rebooted").waitFor({ timeout: 60000 });
    const rebooted = await d.json<Vm>("vm", "show", "web1");
    assert.deepEqual([rebooted.state, rebooted.pid], ["running", pid]);
    const con = await SerialConsole.openVm(d.stateDir, "web1");
    try {
      await con.waitForShell(); // booted again, its power button handled once more
    } finally {
      con.close();
    }
    await nav("Machines").click();
    const row = page.locator('tr[data-vm="web1"]');
    // Force off asks: the safe answer has the focus, and Escape leaves the VM running.
    await row.getByRole("button", { name: "Force off web1" }).click();
    const ask = page.getByRole("dialog", { name: "Force off web1?" });
    await ask.waitFor();
    await ask.getByText("This pulls the power cord").waitFor();
    assert.equal(await focusedName(page), "Cancel");
    await b.shot("force-off-confirm");
    await page.keyboard.press("Escape");
    await ask.waitFor({ state: "hidden" });
    assert.equal((await d.json<Vm>("vm", "show", "web1")).state, "running");
    // The ACPI power button: the guest powers itself off.
    await row.getByRole("button", { name: "Shut down web1" }).click();
    await row.locator('[data-state="shutoff"]').waitFor({ timeout: 30000 });
    assert.equal((await d.json<Vm>("vm", "show", "web1")).state, "shutoff");
    // Off, its serial tab shows what the console printed in that run (the serial test's command too).
    await page.goto(`${url}/vms/web1/serial`);
    const log = page.getByRole("log", { name: "Serial log of web1" });
    await log.locator(".xterm-rows").getByText("kvm42ok").first().waitFor({ timeout: 10000 });
    await log.locator(".xterm-rows").getByText("reboot: Power down").first().waitFor({ timeout: 10000 });
    await b.shot("serial-log");
    // The topology follows: the NIC has no tap any more.
    await nav("Topology").click();
    await page.locator("[data-nic-edge^='web1:']:not(.live)").waitFor({ state: "attached" });
    // Started again, then forced off once confirmed: at once, whatever the guest is doing.
    await nav("Machines").click();
    await row.getByRole("button", { name: "Start web1" }).click();
    await row.locator('[data-state="running"]').waitFor({ timeout: 30000 });
    await row.getByRole("button", { name: "Force off web1" }).click();
    await ask.getByRole("button", { name: "Force off" }).click();
    await row.locator('[data-state="shutoff"]').waitFor({ timeout: 30000 });
    await ask.waitFor({ state: "hidden" });
    assert.equal((await d.json<Vm>("vm", "show", "web1")).state, "shutoff");

    // Shut off, it can be renamed from its page: a taken name is refused in the dialog.
    await page.goto(`${url}/vms/web1/overview`);
    await page.getByRole("button", { name: "Rename web1" }).click();
    const renameDlg = page.getByRole("dialog", { name: "Rename web1" });
    await renameDlg.getByLabel("New name").fill("web 2");
    await renameDlg.getByRole("button", { name: "Rename" }).click();
    await renameDlg.getByText("Invalid name 'web 2'").waitFor();
    await renameDlg.getByLabel("New name").fill("web2");
    await renameDlg.getByRole("button", { name: "Rename" }).click();
    await page.getByRole("heading", { name: /web2/ }).waitFor();
    assert.equal((await d.json<Vm>("vm", "show", "web2")).state, "shutoff");
    assert.notEqual((await d.cli("vm", "show", "web1")).code, 0);
    await d.ok("vm", "rename", "web2", "web1");
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

  test("phone width: every page fits the screen (no sideways scrolling) and stays usable", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const fits = async (what: string) => {
      await b.shot(`phone-${what}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${what}: no horizontal scrolling at phone width (overflow ${overflow}px)`);
    };
    try {
      await nav("Machines").click();
      await page.locator('tr[data-vm="web1"]').waitFor();
      await fits("machines");
      await page.locator('tr[data-vm="web1"]').getByRole("link", { name: "web1", exact: true }).click();
      await page.getByRole("heading", { name: "Network interfaces" }).first().waitFor();
      await fits("vm-overview");
      await page.getByRole("tab", { name: "Hardware" }).click();
      await page.getByRole("heading", { name: "CPUs and memory" }).waitFor();
      await fits("vm-hardware");
      await nav("Networks").click();
      await page.getByRole("link", { name: "natnet" }).click();
      await page.getByRole("heading", { name: /natnet/ }).waitFor();
      await fits("network");
      await page.getByRole("tab", { name: "Capture" }).click();
      await page.getByRole("button", { name: "Start capture" }).waitFor();
      await fits("capture");
      await nav("Topology").click();
      await page.locator('[data-vm-node="web1"]').waitFor();
      await fits("topology");
      await nav("Host").click();
      await page.getByRole("heading", { name: "Bridges" }).waitFor();
      await fits("host");
      await nav("Machines").click();
      await page.getByRole("link", { name: "New VM" }).click();
      await page.getByRole("heading", { name: /Step 1 of 5/ }).waitFor();
      await fits("wizard");
      await page.getByRole("link", { name: "Cancel" }).click();
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
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
