// Bridge mode and PXE, in one lab: the seed's br0 around eth0 (addresses and default route
// moved onto the bridge, put back exactly at stop), a VM that is a peer on the LAN (lease
// from the LAN's deployment server), diskless VMs that PXE-boot the test guest from the
// LAN's deployment server (the seed's S2) and from a kvmgr network's own TFTP, the seed's
// S10 (a running VM's NIC moved to another bridge: connectivity follows), and joining a
// bridge the host already has.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Network } from "../../src/api/network.js";
import type { Vm } from "../../src/api/vm.js";
import { startLabDaemon, until, type LabDaemon } from "../../src/testing/lab.js";
import { SerialConsole, serialPath } from "../../src/testing/serial.js";
import { guestHas, inLan, labLinks, labRoutes, pings, sysctl, vmAddress } from "../../src/testing/net-checks.js";

const ROUTER = "172.16.0.1";
const HOST = "172.16.31.7";
const LAN_POOL = /^172\.16\.100\.\d+$/;

describe("bridge mode, PXE and the seed's live NIC move", () => {
  let d: LabDaemon;
  let tftp = "";
  const con: Record<string, SerialConsole> = {};
  const eth0 = () => labLinks(d.lab).find((l) => l.ifname === "eth0");
  let before0: { addrs: string[]; routes: string; mac: string | undefined } = { addrs: [], routes: "", mac: undefined };

  before(async () => {
    d = await startLabDaemon({ prefix: "kvb" });
    const e = eth0();
    before0 = { addrs: (e?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`), routes: labRoutes(d.lab), mac: (e as { address?: string } | undefined)?.address };
    tftp = mkdtempSync(join(tmpdir(), "kvmgr-tftp-"));
  });
  after(async () => {
    for (const c of Object.values(con)) c.close();
    await d?.close();
    rmSync(tftp, { recursive: true, force: true });
  });

  test("bridge mode around eth0: the NIC is enslaved, its address and default route move to br0", async () => {
    assert.deepEqual(before0.addrs, ["172.16.31.7/16"]);
    await d.ok("net", "create", "lan", "--mode", "bridge", "--uplink", "eth0");
    const lan = await d.json<Network>("net", "start", "lan");
    assert.equal(lan.active, true);
    assert.equal(lan.bridge, "br0");
    assert.deepEqual(lan.ports, ["eth0"]);
    assert.deepEqual(lan.moved?.addresses, ["172.16.31.7/16"]);
    assert.deepEqual(lan.nftChains, [], "kvmgr filters nothing on the host's own LAN bridge");
    const br0 = labLinks(d.lab).find((l) => l.ifname === "br0");
    assert.deepEqual(br0?.addr_info?.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`), ["172.16.31.7/16"]);
    assert.equal((br0 as { address?: string } | undefined)?.address, before0.mac, "br0 takes eth0's MAC");
    assert.equal(eth0()?.master, "br0");
    assert.equal(eth0()?.addr_info?.some((a) => a.family === "inet"), false);
    assert.match(labRoutes(d.lab), /^default via 172\.16\.0\.1 dev br0/m);
    assert.equal((await d.cli("host", "exec", "--", "ping", "-c1", "-W2", ROUTER)).code, 0, "the host still reaches the LAN");
    // start twice = start once
    assert.deepEqual((await d.json<Network>("net", "start", "lan")).moved, lan.moved);
  });

  test("a VM in bridge mode is a peer on the LAN; PXE boots from the LAN's server and from a kvmgr network", async () => {
    await d.ok("net", "pxe-root", tftp);
    await d.ok("net", "create", "pxenet", "--mode", "nat", "--subnet", "10.60.0.0/24", "--tftp-root", tftp, "--boot-file", "test-guest.ipxe");
    await d.ok("net", "start", "pxenet");
    await d.ok("vm", "create", "peer", "--image", "test-guest", "--network", "lan,mac=52:54:00:0b:00:01", "--start");
    // Diskless, no kernel: firmware -> iPXE -> DHCP -> TFTP boot file -> the test guest.
    const lanPxe = await d.json<Vm>("vm", "create", "pxelan", "--pxe", "--network", "lan,mac=52:54:00:0b:00:02", "--start");
    const ownPxe = await d.json<Vm>("vm", "create", "pxeown", "--pxe", "--network", "pxenet,mac=52:54:00:0b:00:03", "--start");
    assert.equal(lanPxe.state, "running");
    assert.equal(ownPxe.disks.length, 0);
    for (const vm of ["peer", "pxelan", "pxeown"]) con[vm] = await SerialConsole.open(serialPath(d.stateDir, vm));

    await con.peer!.waitForShell();
    const peer = await vmAddress(d, "peer", LAN_POOL);
    await guestHas(con.peer!, peer);
    assert.equal(await pings(con.peer!, ROUTER), true, "peer -> LAN router");
    assert.equal(await pings(con.peer!, HOST), true, "peer -> the host");
    assert.equal((await d.cli("host", "exec", "--lan", "--", "ping", "-c1", "-W2", peer)).code, 0, "the LAN reaches the peer");

    for (const [vm, re] of [["pxelan", LAN_POOL], ["pxeown", /^10\.60\.0\.\d+$/]] as const) {
      await con[vm]!.waitForShell(180000);
      const ip = await vmAddress(d, vm, re, 120000);
      await guestHas(con[vm]!, ip);
      assert.match((await con[vm]!.run("cat /proc/cmdline")).output, /hostname=/, `${vm} runs the kernel it got over TFTP`);
    }
    // kvmgr's dnsmasq names the VM (DHCP option 12), which iPXE hands to the guest's kernel.
    assert.equal((await con.pxeown!.run("hostname")).output, "pxeown");
    assert.equal(await pings(con.pxeown!, ROUTER), true, "the PXE-booted guest on the nat network reaches the LAN");
    assert.equal(await pings(con.pxelan!, ROUTER), true);
    // VM <-> VM: two peers on the LAN bridge; a VM behind NAT reaches a LAN peer, not the other way.
    const pxelanIp = await vmAddress(d, "pxelan", LAN_POOL);
    const pxeownIp = await vmAddress(d, "pxeown", /^10\.60\.0\.\d+$/);
    assert.equal(await pings(con.peer!, pxelanIp), true, "peer -> pxelan (same bridge network)");
    assert.equal(await pings(con.pxeown!, peer), true, "pxeown (nat) -> peer on the LAN");
    assert.equal(await pings(con.peer!, pxeownIp), false, "peer -> pxeown behind NAT");
    for (const vm of ["pxelan", "pxeown"]) {
      con[vm]?.close();
      await d.ok("vm", "delete", vm, "--force");
    }
  });

  test("the seed's S10: a running VM's NIC moves to another bridge and its connectivity follows", async () => {
    await d.ok("net", "create", "isolation", "--mode", "hostonly", "--bridge", "isolationbr", "--subnet", "10.0.0.0/24", "--gateway", "10.0.0.254");
    await d.ok("net", "start", "isolation");
    const moved = await d.json<Vm>("vm", "nic", "move", "peer", "--mac", "52:54:00:0b:00:01", "--network", "isolation");
    assert.equal(moved.nics[0]?.network, "isolation");
    const tap = moved.nics[0]?.tap ?? "";
    assert.equal(labLinks(d.lab).find((l) => l.ifname === tap)?.master, "isolationbr", "brctl delif br0 / addif isolationbr, as one command");
    const ip = await vmAddress(d, "peer", /^10\.0\.0\.\d+$/, 60000);
    await guestHas(con.peer!, ip);
    assert.equal(await pings(con.peer!, "10.0.0.254"), true, "the new gateway");
    assert.equal(await pings(con.peer!, ROUTER), false, "no more LAN");
    assert.deepEqual((await d.json<Network>("net", "show", "lan")).ports, ["eth0"]);

    await d.ok("vm", "nic", "move", "peer", "--mac", "52:54:00:0b:00:01", "--network", "lan");
    const back = await vmAddress(d, "peer", LAN_POOL, 60000);
    await guestHas(con.peer!, back);
    assert.equal(await pings(con.peer!, ROUTER), true, "the LAN again");
  });

  test("joining a bridge the host has changes nothing on the host", async () => {
    assert.equal((await d.cli("host", "exec", "--", "ip", "link", "add", "hbr0", "type", "bridge")).code, 0);
    assert.equal((await d.cli("host", "exec", "--", "ip", "link", "set", "hbr0", "up")).code, 0);
    const linksBefore = labLinks(d.lab).map((l) => l.ifname).sort();
    await d.ok("net", "create", "joined", "--mode", "bridge", "--bridge", "hbr0");
    assert.equal((await d.json<Network>("net", "start", "joined")).active, true);
    await d.ok("net", "delete", "joined");
    assert.deepEqual(labLinks(d.lab).map((l) => l.ifname).sort(), linksBefore, "hbr0 stays: it is not kvmgr's");
    assert.match((await d.cli("net", "create", "nobr", "--mode", "bridge", "--bridge", "nosuchbr")).stderr, /no bridge named 'nosuchbr'/);
  });

  test("stopping the bridge network puts eth0 back exactly as it was", async () => {
    con.peer?.close();
    await d.ok("vm", "delete", "peer", "--force");
    for (const n of ["pxenet", "isolation", "lan"]) await d.ok("net", "delete", n);
    const e = eth0();
    assert.equal(e?.master, undefined, "eth0 is no bridge port");
    assert.deepEqual(e?.addr_info?.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`), before0.addrs);
    assert.equal(labRoutes(d.lab), before0.routes);
    assert.equal(labLinks(d.lab).some((l) => l.ifname === "br0"), false);
    assert.equal((await d.cli("host", "exec", "--", "ping", "-c1", "-W2", ROUTER)).code, 0);
  });

  test("a nat network started before bridge mode follows the default route onto br0 and back", async () => {
    await d.ok("net", "create", "early", "--mode", "nat", "--subnet", "10.62.0.0/24");
    await d.ok("net", "start", "early");
    await d.ok("vm", "create", "nvm", "--image", "test-guest", "--network", "early,mac=52:54:00:0b:00:09", "--start");
    con.nvm = await SerialConsole.open(serialPath(d.stateDir, "nvm"));
    await con.nvm.waitForShell();
    const ip = await vmAddress(d, "nvm", /^10\.62\.0\.\d+$/);
    await guestHas(con.nvm, ip);
    assert.equal((await con.nvm.run("(nc -ll -p 80 -e echo hello-from-nvm </dev/null >/dev/null 2>&1 &)")).code, 0);
    await d.ok("net", "forward", "add", "early", "--host-port", "8080", "--vm", "nvm", "--port", "80");
    const fromLan = () => until("the forward from the LAN", 15000, () => (inLan(d.lab, ["busybox", "nc", "-w", "2", HOST, "8080"]).out.includes("hello-from-nvm") ? true : undefined), 300);
    await fromLan();
    assert.equal(await pings(con.nvm, ROUTER), true, "out through eth0");

    await d.ok("net", "create", "lan2", "--mode", "bridge", "--uplink", "eth0");
    await d.ok("net", "start", "lan2");
    assert.match(labRoutes(d.lab), /^default via 172\.16\.0\.1 dev br0/m);
    assert.equal(sysctl(d.lab, "net.ipv4.conf.br0.forwarding"), "1");
    assert.equal(await pings(con.nvm, ROUTER), true, "out through br0 now");
    await fromLan();

    await d.ok("net", "stop", "lan2");
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "1");
    assert.equal(await pings(con.nvm, ROUTER), true, "out through eth0 again");
    await fromLan();

    con.nvm.close();
    await d.ok("vm", "delete", "nvm", "--force");
    for (const n of ["early", "lan2"]) await d.ok("net", "delete", n);
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "0", "eth0's forwarding as it was");
  });
});
