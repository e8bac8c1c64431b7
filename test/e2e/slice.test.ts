// The foundation slice end to end, in a fresh lab: a hostonly network, a test-guest VM that
// gets a lease and answers ping, a daemon restart that keeps it, and nothing left behind.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Network } from "../../src/api/network.js";
import type { Vm } from "../../src/api/vm.js";
import type { HostInfo } from "../../src/api/host.js";
import { KVMGR_BIN, startLabDaemon, processesUsing, until, type LabDaemon } from "../../src/testing/lab.js";

const MAC = "52:54:00:65:43:21";

function links(lab: string): { ifname: string; linkinfo?: { info_kind?: string } }[] {
  const r = spawnSync("ip", ["-n", lab, "-j", "-d", "link", "show"], { encoding: "utf8" });
  return JSON.parse(r.stdout || "[]") as { ifname: string; linkinfo?: { info_kind?: string } }[];
}

describe("foundation slice in a lab", () => {
  let d: LabDaemon;
  before(async () => {
    d = await startLabDaemon();
  });
  after(async () => {
    await d?.close();
  });

  test("the lab reproduces the seed's topology", async () => {
    const host = await d.json<HostInfo>("host", "show");
    assert.equal(host.mode, "lab");
    assert.equal(host.netns, d.lab);
    // Room for disks, as the wizard shows it: the file system of the disks directory.
    const fs = statfsSync(d.stateDir);
    assert.equal(host.storage.dir, `${d.stateDir}/disks`);
    assert.equal(host.storage.totalBytes, fs.blocks * fs.bsize);
    assert.ok(host.storage.freeBytes > 0 && host.storage.freeBytes <= host.storage.totalBytes);
    assert.match(await d.ok("host", "show"), /^disks: +\S+, [\d.]+ [KMGT]?i?B free of [\d.]+ [KMGT]?i?B$/m);
    const addr = await d.ok("host", "exec", "--", "ip", "-4", "-br", "addr", "show", "eth0");
    assert.match(addr, /172\.16\.31\.7\/16/);
    const ping = await d.cli("host", "exec", "--", "ping", "-c1", "-W2", "172.16.0.1");
    assert.equal(ping.code, 0, `the lab host reaches the LAN router: ${ping.stdout}${ping.stderr}`);
    const lan = await d.ok("host", "exec", "--lan", "--", "ip", "-4", "-br", "addr");
    assert.match(lan, /172\.16\.0\.1\/16/);
  });

  test("a daemon that cannot listen on its --http address says why in one sentence and exits", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as AddressInfo).port;
    const stateDir = mkdtempSync(join(tmpdir(), "kvmgr-busy-"));
    try {
      // The deadline only ends a daemon that would live on without serving (the bug this guards).
      const r = spawnSync(KVMGR_BIN, ["daemon", "--lab", d.lab, "--http", `127.0.0.1:${port}`], { env: { ...process.env, KVMGR_STATE_DIR: stateDir }, encoding: "utf8", timeout: 60000 });
      assert.equal(r.status, 1, `exits at once: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").at(-1), `kvmgr: Cannot serve --http 127.0.0.1:${port}: another program already listens there.`);
    } finally {
      busy.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  test("bad input gets one clear sentence and changes nothing", async () => {
    const before = links(d.lab).map((l) => l.ifname).sort();
    const cases: [string[], RegExp][] = [
      [["net", "create", "bad;name", "--mode", "hostonly"], /name must be/],
      [["net", "create", "a/b", "--mode", "hostonly"], /name must be/],
      [["net", "create", "n", "--mode", "hostonly", "--subnet", "10.0.0.0/33"], /subnet must be/],
      [["net", "create", "n", "--mode", "hostonly", "--bridge", "thisnameistoolong"], /interface name must be 1 to 15/],
      [["net", "create", "n", "--mode", "hostonly", "--subnet", "10.0.0.0/24", "--dhcp-range", "10.9.0.2,10.9.0.9"], /outside the subnet/],
      [["net", "create", "n", "--mode", "hostonly", "--subnet", "10.0.0.0/24", "--gateway", "10.0.0.255"], /broadcast address/],
      [["vm", "create", "v", "--image", "test-guest", "--network", "nosuchnet"], /no network named 'nosuchnet'/],
      [["vm", "create", "v", "--image", "test-guest", "--memory", "lots"], /Memory 'lots' must be MiB \(e\.g\. 2048\) or a size with a unit/],
      [["vm", "create", "v", "--image", "test-guest", "--memory", "8"], /memory must be a whole number of MiB between 16/],
      [["vm", "create", "v", "--image", "test-guest", "--memory", "2T"], /memory must be a whole number of MiB between 16 and 1048576/],
    ];
    for (const [args, re] of cases) {
      const r = await d.cli(...args);
      assert.notEqual(r.code, 0, `kvmgr ${args.join(" ")} should fail`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    }
    const r = await d.cli("vm", "create", "v", "--image", "test-guest", "--network", "x,mac=52:54:00:zz:00:01");
    assert.match(r.stderr, /MAC address must be six hex pairs/);
    assert.deepEqual(await d.json<Network[]>("net", "list"), []);
    assert.deepEqual(await d.json<Vm[]>("vm", "list"), []);
    assert.deepEqual(links(d.lab).map((l) => l.ifname).sort(), before);
  });

  test("hostonly network + test guest: lease, ping, restart, clean removal", async () => {
    await d.ok("net", "create", "n1", "--mode", "hostonly", "--subnet", "10.0.0.0/24");
    const started = await d.json<Network>("net", "start", "n1");
    assert.equal(started.active, true);
    assert.ok(started.dnsmasqPid);
    // start twice = start once
    assert.equal((await d.json<Network>("net", "start", "n1")).dnsmasqPid, started.dnsmasqPid);

    await d.ok("vm", "create", "vm1", "--image", "test-guest", "--memory", "128", "--vcpus", "1", "--network", `n1,mac=${MAC}`);
    const vm = await d.json<Vm>("vm", "start", "vm1");
    assert.equal(vm.state, "running");
    assert.ok(vm.pid);
    assert.ok(vm.accel === "tcg" || vm.accel === "kvm");
    assert.ok(vm.accelReason);
    const tap = vm.nics[0]?.tap;
    assert.match(tap ?? "", /^vnet\d+$/);

    const ip = await until("a DHCP lease for vm1", 90000, async () => (await d.json<Vm>("vm", "show", "vm1")).nics[0]?.ips[0], 250);
    assert.match(ip, /^10\.0\.0\.\d+$/);
    const net = await d.json<Network>("net", "show", "n1");
    assert.deepEqual(net.ports, [tap]);
    assert.ok(net.leases.some((l) => l.mac === MAC && l.ip === ip && l.hostname === "vm1"), JSON.stringify(net.leases));
    const ping = await until("ping reply from the guest", 20000, async () => ((await d.cli("host", "exec", "--", "ping", "-c1", "-W1", ip)).code === 0 ? true : undefined), 200);
    assert.equal(ping, true);

    // The daemon goes away (even by SIGKILL) and comes back: the VM keeps running and is adopted.
    await d.restart({ hard: true });
    const adopted = await d.json<Vm>("vm", "show", "vm1");
    assert.equal(adopted.state, "running");
    assert.equal(adopted.pid, vm.pid);
    assert.equal((await d.json<Network>("net", "show", "n1")).dnsmasqPid, started.dnsmasqPid, "dnsmasq adopted, not restarted");

    // A network with a running VM can't go; a running VM can't be deleted without --force; nor the lab.
    assert.match((await d.cli("net", "stop", "n1")).stderr, /running VMs \(vm1\)/);
    assert.match((await d.cli("vm", "delete", "vm1")).stderr, /is running/);
    assert.match((await d.cli("lab", "delete", d.lab)).stderr, /running VM/);

    const stopped = await d.json<Vm>("vm", "stop", "vm1");
    assert.equal(stopped.state, "shutoff");
    assert.equal(stopped.pid, null);
    await d.ok("vm", "delete", "vm1");
    await d.ok("net", "stop", "n1");
    await d.ok("net", "delete", "n1");

    // Nothing of the test remains: no bridge, tap, nft table, dnsmasq or QEMU.
    const left = links(d.lab).filter((l) => l.linkinfo?.info_kind === "bridge" || l.linkinfo?.info_kind === "tun");
    assert.deepEqual(left, []);
    const nft = await d.ok("host", "exec", "--", "nft", "list", "ruleset");
    assert.doesNotMatch(nft, /kvmgr/);
    assert.deepEqual(processesUsing(d.stateDir), []);
    assert.deepEqual(await d.json<Network[]>("net", "list"), []);
  });
});
