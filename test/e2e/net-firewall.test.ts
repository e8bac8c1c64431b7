// Networks next to other programs, in one lab: refusals that change nothing on the host
// (overlaps, a foreign bridge, bad names and addresses, another DHCP server like the seed's
// stray libvirt dnsmasq, a network with VMs); idempotent start, exact stop of a half-gone
// network, adoption after a daemon restart that recreates nothing (and puts back only a
// missing chain); and coexistence with a Docker-like FORWARD policy drop and a
// firewalld-like input reject, with `host doctor` naming and fixing what drops traffic.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { labRunDir } from "../../src/host/netns.js";
import type { DoctorReport, HostInfo } from "../../src/api/host.js";
import type { Network } from "../../src/api/network.js";
import type { Vm } from "../../src/api/vm.js";
import { isProcessAlive } from "../../src/host/proc.js";
import { processesUsing, startLabDaemon, until, type LabDaemon } from "../../src/testing/lab.js";
import { SerialConsole, serialPath } from "../../src/testing/serial.js";
import { guestHas, labLinks, labRoutes, nft, nftRuleset, pings, sysctl, vmAddress } from "../../src/testing/net-checks.js";

const ROUTER = "172.16.0.1";

/** nft's listing without its counters (traffic changes them). */
function rulesText(lab: string): string {
  return nftRuleset(lab).replace(/counter packets \d+ bytes \d+/g, "counter");
}

/** The lab host as far as a refused command could have changed it. */
function snapshot(lab: string): string {
  return JSON.stringify([labLinks(lab).map((l) => [l.ifname, l.master, l.addr_info?.filter((a) => a.family === "inet")]), labRoutes(lab), nftRuleset(lab)]);
}

describe("networks beside other programs", () => {
  let d: LabDaemon;
  let stray: ChildProcess | null = null;
  const con: Record<string, SerialConsole> = {};

  before(async () => {
    d = await startLabDaemon({ prefix: "kvf" });
  });
  after(async () => {
    stray?.kill();
    for (const c of Object.values(con)) c.close();
    await d?.close();
  });

  test("refusals: one clear sentence each, and the host is left as it was", async () => {
    await d.ok("net", "create", "g1", "--mode", "nat", "--subnet", "10.5.0.0/24");
    assert.equal((await d.cli("host", "exec", "--", "ip", "link", "add", "foreignbr", "type", "bridge")).code, 0);
    const before = snapshot(d.lab);
    const cases: [string[], RegExp][] = [
      [["net", "create", "x", "--mode", "nat", "--subnet", "172.16.5.0/24"], /overlaps 172\.16\.0\.0\/16, which the host already routes/],
      [["net", "create", "x", "--mode", "hostonly", "--subnet", "10.5.0.128/25"], /overlaps 10\.5\.0\.0\/24 of network 'g1'/],
      [["net", "create", "x", "--mode", "hostonly", "--bridge", "foreignbr"], /'foreignbr' already exists on the host and is not kvmgr's/],
      [["net", "create", "x", "--mode", "hostonly", "--bridge", "averyveryverylongbr"], /interface name must be 1 to 15/],
      [["net", "create", "x", "--mode", "hostonly", "--subnet", "10.6.0.0/24", "--gateway", "10.6.0.0"], /network address of 10\.6\.0\.0\/24/],
      [["net", "create", "x", "--mode", "hostonly", "--subnet", "10.6.0.0/24", "--gateway", "10.6.0.255"], /broadcast address of 10\.6\.0\.0\/24/],
      [["net", "create", "x", "--mode", "hostonly", "--subnet", "10.6.0.0/24", "--dhcp-range", "10.6.1.2,10.6.1.9"], /outside the subnet 10\.6\.0\.0\/24/],
      [["net", "create", "x", "--mode", "bridge", "--uplink", "nosuch0"], /no interface named 'nosuch0'/],
      [["net", "create", "x", "--mode", "hostonly", "--subnet", "127.0.0.0/8"], /overlaps the loopback range \(127\.0\.0\.0\/8\)/],
      [["net", "forward", "add", "g1", "--host-port", "80", "--vm", "ghost", "--port", "80"], /no VM named 'ghost'/],
    ];
    for (const [args, re] of cases) {
      const r = await d.cli(...args);
      assert.notEqual(r.code, 0, `kvmgr ${args.join(" ")} should fail`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    }

    // An uplink that is not there is found at start, before anything is made.
    await d.ok("net", "create", "u1", "--mode", "nat", "--subnet", "10.7.0.0/24", "--uplink", "nosuch1");
    const gone = await d.cli("net", "start", "u1");
    assert.equal(gone.code, 3);
    assert.equal(gone.stderr, "kvmgr: The host has no interface named 'nosuch1' for network 'u1' to go out by (its --uplink).\n");
    assert.equal((await d.json<Network>("net", "show", "u1")).active, false);
    await d.ok("net", "delete", "u1");
    // So is a TFTP root that is not there (before: dnsmasq's own words, after a half start).
    await d.ok("net", "create", "t1", "--mode", "hostonly", "--subnet", "10.8.0.0/24", "--tftp-root", "/nonexistent-kvmgr-tftp", "--boot-file", "boot.ipxe");
    const noRoot = await d.cli("net", "start", "t1");
    assert.equal(noRoot.code, 3);
    assert.equal(noRoot.stderr, "kvmgr: The TFTP root /nonexistent-kvmgr-tftp of network 't1' is not a directory; 'kvmgr net pxe-root /nonexistent-kvmgr-tftp' makes one with the test guest's PXE files.\n");
    await d.ok("net", "delete", "t1");

    // Another DHCP server on every interface (the seed's libvirt dnsmasq): refused, and never killed.
    stray = spawn("ip", ["netns", "exec", d.lab, "dnsmasq", "-k", "--port=0", "--conf-file=/dev/null", "--dhcp-range=10.77.0.2,10.77.0.9"], { stdio: "ignore" });
    const pid = stray.pid ?? 0;
    await until("the stray DHCP server", 10000, () => (spawnSync("ip", ["netns", "exec", d.lab, "ss", "-H", "-uln", "sport = :67"], { encoding: "utf8" }).stdout.includes(":67") ? true : undefined), 100);
    const r = await d.cli("net", "start", "g1");
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`Another DHCP server, dnsmasq \\(pid ${pid}\\), already listens on udp port 67 on every interface; kvmgr will not start a second one for bridge 'kvbr0'\\.`));
    assert.equal(isProcessAlive(pid), true, "kvmgr never kills what it did not start");
    stray.kill();
    await until("the stray DHCP server gone", 10000, () => (isProcessAlive(pid) ? undefined : true), 50);
    stray = null;

    // create --start on a stopped network: defined, not started, and the sentence says both.
    const half = await d.cli("vm", "create", "v0", "--image", "test-guest", "--network", "g1", "--start");
    assert.equal(half.code, 3);
    assert.equal(half.stderr, "kvmgr: VM 'v0' is defined but did not start: Network 'g1' is not active; start it with 'kvmgr net start g1'.\n");
    assert.equal((await d.json<Vm>("vm", "show", "v0")).state, "shutoff");
    // A network with VMs cannot be deleted.
    assert.match((await d.cli("net", "delete", "g1")).stderr, /Network 'g1' is used by VM\(s\) v0; remove their NICs or delete them first\./);
    await d.ok("vm", "delete", "v0");
    assert.equal(snapshot(d.lab), before, "nothing on the host changed");
    assert.equal((await d.cli("host", "exec", "--", "ip", "link", "del", "foreignbr")).code, 0);
  });

  test("idempotent start, exact stop of a half-gone network, adoption without recreation", async () => {
    const up = await d.json<Network>("net", "start", "g1");
    const rules = nftRuleset(d.lab);
    const again = await d.json<Network>("net", "start", "g1");
    assert.equal(again.dnsmasqPid, up.dnsmasqPid, "start twice = start once");
    assert.equal(nftRuleset(d.lab), rules);
    assert.deepEqual(up.nftChains, ["in-g1", "fwd-g1", "nat-post-g1"]);

    // A daemon killed and back: everything adopted, nothing recreated.
    const handles = spawnSync("ip", ["netns", "exec", d.lab, "nft", "-a", "list", "table", "inet", "kvmgr"], { encoding: "utf8" }).stdout;
    await d.restart({ hard: true });
    assert.equal((await d.json<Network>("net", "show", "g1")).dnsmasqPid, up.dnsmasqPid);
    assert.equal(spawnSync("ip", ["netns", "exec", d.lab, "nft", "-a", "list", "table", "inet", "kvmgr"], { encoding: "utf8" }).stdout, handles, "same chains, same rule handles");
    // A chain lost meanwhile is put back at adoption, and only it.
    nft(d.lab, "delete chain inet kvmgr fwd-g1\n");
    assert.equal((await d.json<Network>("net", "show", "g1")).active, false, "net show tells the truth: a chain is missing");
    await d.restart();
    const adopted = await d.json<Network>("net", "show", "g1");
    assert.equal(adopted.active, true);
    assert.equal(adopted.dnsmasqPid, up.dnsmasqPid, "dnsmasq adopted by its pid file, not restarted");
    assert.deepEqual(adopted.nftChains, ["in-g1", "fwd-g1", "nat-post-g1"]);

    // Half gone (dnsmasq died, a chain deleted by hand): stop removes the rest, exactly.
    process.kill(up.dnsmasqPid ?? 0, "SIGKILL");
    nft(d.lab, "delete chain inet kvmgr in-g1\n");
    await d.ok("net", "stop", "g1");
    assert.equal(labLinks(d.lab).some((l) => l.ifname === "kvbr0"), false);
    assert.doesNotMatch(nftRuleset(d.lab), /kvmgr/);
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "0");
    assert.deepEqual(processesUsing(d.stateDir), []);
    await d.ok("net", "delete", "g1");
    assert.equal(existsSync(`${d.stateDir}/run/networks`) ? readdirSync(`${d.stateDir}/run/networks`).length : 0, 0);
  });

  test("a Docker-like FORWARD drop and a firewalld-like input reject: kvmgr's networks still work; doctor names and fixes", async () => {
    // What Docker (iptables-nft) and firewalld leave on a host.
    nft(
      d.lab,
      [
        "add table ip filter",
        "add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }",
        "add chain ip filter DOCKER-USER",
        "add rule ip filter FORWARD counter jump DOCKER-USER",
        "add table inet firewalld",
        "add chain inet firewalld filter_INPUT { type filter hook input priority 10; policy accept; }",
        "add rule inet firewalld filter_INPUT ct state established,related accept",
        "add rule inet firewalld filter_INPUT iifname lo accept",
        "add rule inet firewalld filter_INPUT counter reject with icmpx admin-prohibited",
        "",
      ].join("\n"),
    );
    const foreignBefore = rulesText(d.lab);
    await d.ok("net", "create", "co", "--mode", "nat", "--subnet", "10.8.0.0/24");
    await d.ok("net", "start", "co");
    assert.match(nftRuleset(d.lab), /iifname "kvbr0" oifname "kvbr0" accept comment "kvmgr:co"/, "narrow accepts at the top of Docker's FORWARD");
    for (const vm of ["v1", "v2"]) {
      await d.ok("vm", "create", vm, "--image", "test-guest", "--network", "co", "--start");
      con[vm] = await SerialConsole.open(serialPath(d.stateDir, vm));
    }
    // DHCP gets through firewalld's input reject; traffic between ports through Docker's drop.
    const ip1 = await vmAddress(d, "v1", /^10\.8\.0\./);
    const ip2 = await vmAddress(d, "v2", /^10\.8\.0\./);
    await con.v1!.waitForShell();
    await con.v2!.waitForShell();
    await guestHas(con.v1!, ip1);
    await guestHas(con.v2!, ip2);
    assert.equal(await pings(con.v1!, ip2), true, "v1 -> v2 across the bridge (br_netfilter sends it through FORWARD)");
    assert.equal(await pings(con.v1!, ROUTER), true, "v1 -> the LAN through Docker's FORWARD");
    assert.equal((await con.v1!.run("nslookup v2.co")).code, 0, "DNS through firewalld's input reject");
    const healthy = await d.cli("host", "doctor", "--json");
    assert.equal(healthy.code, 0, healthy.stdout);
    const report = JSON.parse(healthy.stdout) as DoctorReport;
    assert.ok(report.findings.some((f) => f.status === "fixed" && /ip filter FORWARD \(hook forward\) drops by default \(policy drop\)/.test(f.problem)));
    assert.ok(report.findings.some((f) => f.status === "fixed" && /inet firewalld filter_INPUT \(hook input\) ends with a rule .* that rejects everything/.test(f.problem)));

    // Docker flushes its chain (as a Docker restart does): the network is cut off, doctor says why.
    nft(d.lab, "flush chain ip filter FORWARD\nadd rule ip filter FORWARD counter jump DOCKER-USER\n");
    assert.equal(await pings(con.v1!, ROUTER), false);
    const sick = await d.cli("host", "doctor");
    assert.equal(sick.code, 1);
    assert.match(sick.stdout, /\[OPEN\] Chain ip filter FORWARD \(hook forward\) drops by default \(policy drop\): forwarded traffic of network co \(bridge kvbr0\) is dropped\./);
    assert.match(sick.stdout, /fix: accept it first in that chain: nft insert rule ip filter FORWARD iifname "kvbr0" oifname "kvbr0" accept/);
    // Forwarding turned off behind kvmgr's back is found too.
    assert.equal((await d.cli("host", "exec", "--", "sysctl", "-w", "net.ipv4.conf.eth0.forwarding=0")).code, 0);
    assert.match((await d.cli("host", "doctor")).stdout, /IPv4 forwarding is off on eth0/);
    const fixed = await d.cli("host", "doctor", "--fix");
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.match(fixed.stdout, /\[FIXED NOW\] Chain ip filter FORWARD/);
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "1");
    assert.equal(await pings(con.v1!, ROUTER), true, "back after the fix");

    // Gone with the network: kvmgr's accepts, and only them.
    for (const vm of ["v1", "v2"]) {
      con[vm]?.close();
      await d.ok("vm", "delete", vm, "--force");
    }
    await d.ok("net", "delete", "co");
    const left = rulesText(d.lab);
    assert.doesNotMatch(left, /kvmgr/);
    assert.equal(left, foreignBefore, "Docker's and firewalld's tables exactly as they were");
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "0");
    assert.deepEqual((await d.json<HostInfo>("host", "show")).sysctlSaves, []);
  });

  test("the lab's LAN deployment server runs in the LAN namespace and goes with `lab delete`", async () => {
    const d2 = await startLabDaemon({ prefix: "kvg" });
    const dir = labRunDir(d2.lab);
    const pid = Number(readFileSync(`${dir}/dnsmasq.pid`, "utf8").trim());
    assert.equal(isProcessAlive(pid), true);
    assert.equal(spawnSync("ip", ["netns", "identify", String(pid)], { encoding: "utf8" }).stdout.trim(), `${d2.lab}-lan`);
    assert.match(readFileSync(`${dir}/dnsmasq.conf`, "utf8"), /dhcp-range=172\.16\.100\.10,172\.16\.100\.200,/);
    // A network's dnsmasq hosts file lives outside the state directory, in the lab's.
    await d2.ok("net", "create", "gone", "--mode", "hostonly", "--subnet", "10.77.0.0/24");
    await d2.ok("net", "start", "gone");
    const hostsFile = /dhcp-hostsfile=(\S+)/.exec(readFileSync(`${d2.stateDir}/run/networks/gone/dnsmasq.conf`, "utf8"))?.[1] ?? "";
    assert.ok(hostsFile.startsWith(`${dir}/`), hostsFile);
    assert.equal(existsSync(hostsFile), true);
    await d2.close();
    assert.equal(existsSync(dir), false, "its files are gone, the networks' hosts files too");
    await until("the LAN server gone", 20000, () => (isProcessAlive(pid) ? undefined : true), 50);
  });
});
