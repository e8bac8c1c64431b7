// Network modes end to end, in one lab with three test guests: a and b move together (live
// NIC moves) through a nat, a hostonly, a routed and an internal network, c stays on another
// nat network. For each mode, a reachability matrix run inside the guests: VM<->VM on the
// same network, VM<->host, VM<->LAN router 172.16.0.1, VM<->VM on another network, what
// must work and what must be blocked. Also: DHCP reservation and DNS names (NAME.NET), NAT
// seen on the uplink by `net capture`, a port forward reached from the LAN, and that
// nothing is left once the networks are gone.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import type { Network } from "../../src/api/network.js";
import type { HostInfo } from "../../src/api/host.js";
import type { Vm } from "../../src/api/vm.js";
import { KvmgrClient } from "../../src/client/client.js";
import { processesUsing, startLabDaemon, until, type LabDaemon } from "../../src/testing/lab.js";
import { SerialConsole, serialPath } from "../../src/testing/serial.js";
import { guestHas, inLan, labLinks, nftRuleset, pings, startCapture, sysctl, tcpReaches, tcpServer, vmAddress } from "../../src/testing/net-checks.js";

const MAC = { a: "52:54:00:0a:00:0a", b: "52:54:00:0a:00:0b", c: "52:54:00:0a:00:0c" } as const;
const HOST = "172.16.31.7";
const ROUTER = "172.16.0.1";

describe("network modes: reachability from inside the guests", () => {
  let d: LabDaemon;
  const con: Record<string, SerialConsole> = {};
  let hostSvc: ChildProcess | null = null;
  let cIp = "";

  /** Moves a and b to `net` and waits until both guests have their new lease (matching `re`). */
  const moveBoth = async (net: string, re: RegExp | null): Promise<{ a: string; b: string }> => {
    for (const vm of ["a", "b"] as const) await d.ok("vm", "nic", "move", vm, "--mac", MAC[vm], "--network", net);
    if (re === null) return { a: "", b: "" };
    const out = { a: "", b: "" };
    for (const vm of ["a", "b"] as const) {
      out[vm] = await vmAddress(d, vm, re, 60000);
      await guestHas(con[vm]!, out[vm]);
    }
    return out;
  };

  before(async () => {
    d = await startLabDaemon({ prefix: "kvm" });
    await d.ok("net", "create", "nat1", "--mode", "nat", "--subnet", "10.10.0.0/24", "--dhcp-host", `${MAC.a},10.10.0.50`);
    await d.ok("net", "create", "ho", "--mode", "hostonly", "--subnet", "10.20.0.0/24");
    await d.ok("net", "create", "rt", "--mode", "routed", "--subnet", "10.30.0.0/24");
    await d.ok("net", "create", "iso", "--mode", "internal");
    await d.ok("net", "create", "other", "--mode", "nat", "--subnet", "10.40.0.0/24");
    for (const n of ["nat1", "ho", "rt", "iso", "other"]) await d.ok("net", "start", n);
    for (const vm of ["a", "b"] as const) await d.ok("vm", "create", vm, "--image", "test-guest", "--network", `nat1,mac=${MAC[vm]}`, "--start");
    await d.ok("vm", "create", "c", "--image", "test-guest", "--network", `other,mac=${MAC.c}`, "--start");
    for (const vm of ["a", "b", "c"]) {
      con[vm] = await SerialConsole.open(serialPath(d.stateDir, vm));
      await con[vm].waitForShell();
    }
    cIp = await vmAddress(d, "c", /^10\.40\.0\./);
    await guestHas(con.c!, cIp);
    // A TCP service on the lab host, on every address (guests must not reach it).
    hostSvc = tcpServer(d.lab, 7777, "host-svc");
  });
  after(async () => {
    hostSvc?.kill();
    for (const c of Object.values(con)) c.close();
    await d?.close();
  });

  test("nat: out to the LAN masqueraded, nothing in but a port forward; reservation and DNS names", async () => {
    const a = await vmAddress(d, "a", /^10\.10\.0\./);
    assert.equal(a, "10.10.0.50", "the DHCP reservation holds");
    const b = await vmAddress(d, "b", /^10\.10\.0\./);
    await guestHas(con.a!, a);
    await guestHas(con.b!, b);

    // Matrix.
    assert.equal(await pings(con.a!, b), true, "a -> b (same network)");
    assert.equal(await pings(con.b!, a), true, "b -> a (same network)");
    assert.equal(await pings(con.a!, "10.10.0.1"), true, "a -> its gateway");
    assert.equal(await pings(con.a!, HOST), true, "a -> the host");
    assert.equal(await pings(con.a!, ROUTER), true, "a -> the LAN router");
    assert.equal(await pings(con.a!, cIp), false, "a -> c on another nat network is blocked");
    assert.equal(await pings(con.c!, a), false, "c -> a is blocked");
    const host = await d.cli("host", "exec", "--", "ping", "-c1", "-W2", a);
    assert.equal(host.code, 0, "the host reaches a");
    // The LAN knows the way (a route via the host), yet nothing comes in unasked.
    assert.equal(inLan(d.lab, ["ip", "route", "add", "10.10.0.0/24", "via", HOST]).code, 0);
    assert.notEqual(inLan(d.lab, ["ping", "-c1", "-W1", a]).code, 0, "LAN -> a is blocked");
    // Guests reach the host for DHCP/DNS/ping only: the host's TCP service answers the LAN, not them.
    await until("the host's TCP service", 10000, () => (inLan(d.lab, ["busybox", "nc", "-w", "2", HOST, "7777"]).out.includes("host-svc") ? true : undefined), 200);
    assert.equal(await tcpReaches(con.a!, "10.10.0.1", 7777, "host-svc"), false, "a -> host TCP is dropped");
    assert.equal(await tcpReaches(con.a!, HOST, 7777, "host-svc"), false, "a -> host TCP (uplink address) is dropped");

    // DNS: VM names as NAME.NET from the network's dnsmasq.
    const ns = await con.a!.run("nslookup b.nat1");
    assert.equal(ns.code, 0, ns.output);
    assert.match(ns.output, new RegExp(`Address:?\\s+${b.replaceAll(".", "\\.")}`));
    assert.equal((await con.b!.run("ping -c1 -W2 a.nat1 >/dev/null")).code, 0, "b pings a by name");

    // NAT: the bridge shows the guest's address, the uplink the host's (the seed's S12).
    const onBridge = await startCapture(d, ["nat1", "--count", "2", "--filter", `icmp and host ${ROUTER}`]);
    const onUplink = await startCapture(d, ["nat1", "--uplink", "--count", "2", "--filter", `icmp and host ${ROUTER}`]);
    assert.equal((await con.a!.run(`ping -c1 -W2 ${ROUTER}`)).code, 0);
    const [br, up] = await Promise.all([onBridge.done, onUplink.done]);
    assert.match(br, new RegExp(`IP ${a.replaceAll(".", "\\.")} > ${ROUTER.replaceAll(".", "\\.")}: ICMP echo request`));
    assert.match(up, /IP 172\.16\.31\.7 > 172\.16\.0\.1: ICMP echo request/);
    assert.doesNotMatch(up, /10\.10\.0\./, "no guest address leaves by the uplink");
    // The same capture over a WebSocket (the web UI's): one JSON frame per packet, bytes included.
    const ws = await new KvmgrClient({ socketPath: `${d.stateDir}/kvmgr.sock` }).captureSocket("nat1", { vm: "a", count: 2, filter: "icmp" });
    const frames: { type?: string; proto?: string; src?: string; info?: string; raw?: string; error?: unknown }[] = [];
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.on("message", (m: Buffer) => frames.push(JSON.parse(m.toString("utf8")) as (typeof frames)[number]));
    ws.resume();
    await until("the WebSocket capture to listen", 10000, () => (frames.some((f) => f.type === "start") ? true : undefined), 50);
    assert.equal((await con.a!.run(`ping -c1 -W2 ${ROUTER}`)).code, 0);
    await closed;
    const pkts = frames.filter((f) => f.type === "packet");
    assert.equal(pkts.length, 2, JSON.stringify(frames));
    assert.deepEqual(pkts.map((p) => [p.proto, p.src]), [["ICMP", a], ["ICMP", ROUTER]]);
    assert.match(pkts[0]?.info ?? "", /ICMP echo request/);
    assert.equal(Buffer.from(pkts[0]?.raw ?? "", "base64").readUInt16BE(12), 0x0800, "the frame's own bytes (an IPv4 ethertype)");

    // A port forward: the LAN reaches a's port 80 on the host's port 8080, until it is removed.
    assert.equal((await con.a!.run("(nc -ll -p 80 -e echo hello-from-a </dev/null >/dev/null 2>&1 &)")).code, 0);
    await d.ok("net", "forward", "add", "nat1", "--host-port", "8080", "--vm", "a", "--port", "80");
    const fw = await d.json<{ vm: string; ip: string | null }[]>("net", "forward", "list", "nat1");
    assert.deepEqual(fw.map((f) => [f.vm, f.ip]), [["a", a]]);
    await until("the forward from the LAN", 15000, () => (inLan(d.lab, ["busybox", "nc", "-w", "2", HOST, "8080"]).out.includes("hello-from-a") ? true : undefined), 300);
    assert.equal(await tcpReaches(con.c!, HOST, 8080, "hello-from-a"), false, "c (another network) is not let in by a's forward");
    assert.equal(await tcpReaches(con.b!, HOST, 8080, "hello-from-a"), true, "b (a's own network) reaches the forward on the host's address (hairpin)");
    assert.equal(await tcpReaches(con.b!, "10.10.0.1", 8080, "hello-from-a"), false, "but not on the gateway: the network's own address is left alone");
    const fromHost = () => d.cli("host", "exec", "--", "busybox", "nc", "-w", "2", HOST, "8080");
    assert.match((await fromHost()).stdout, /hello-from-a/, "the host itself reaches the forward on its own address");
    await d.ok("net", "forward", "remove", "nat1", "--host-port", "8080");
    assert.doesNotMatch(inLan(d.lab, ["busybox", "nc", "-w", "2", HOST, "8080"]).out, /hello-from-a/);
    assert.doesNotMatch((await fromHost()).stdout, /hello-from-a/);
    assert.equal(await tcpReaches(con.b!, HOST, 8080, "hello-from-a"), false, "nor hairpinned");
    assert.doesNotMatch(nftRuleset(d.lab), /dport 8080/);

    // A reservation added to the running network: its dnsmasq re-reads it (same process), and b,
    // asking again, is given the reserved address.
    const before = await d.json<Network>("net", "show", "nat1");
    assert.equal(await d.ok("net", "edit", "nat1", "--dhcp-host", `${MAC.b},10.10.0.60,bee`), "Network nat1 changed (its DHCP server has the new reservations).\n");
    const edited = await d.json<Network>("net", "show", "nat1");
    assert.equal(edited.dnsmasqPid, before.dnsmasqPid, "re-read, not restarted");
    assert.deepEqual(edited.dhcpHosts, [...before.dhcpHosts, { mac: MAC.b, ip: "10.10.0.60", hostname: "bee" }]);
    assert.match(await d.ok("net", "show", "nat1"), new RegExp(`^reservations:\\n  MAC +IP +HOSTNAME\\n  ${MAC.a} +10\\.10\\.0\\.50 +-\\n  ${MAC.b} +10\\.10\\.0\\.60 +bee\\n`, "m"));
    assert.equal((await con.b!.run("kill $(cat /run/kvmgr/dhcp/eth0.pid)")).code, 0, "b's DHCP client starts over");
    await vmAddress(d, "b", /^10\.10\.0\.60$/, 30000);
    await guestHas(con.b!, "10.10.0.60");
    // The test guest notes its link's flap count a round (2 s) after starting a DHCP client; a NIC
    // moved before that would go unnoticed (the next test moves b).
    await until("b's DHCP watcher to settle", 10000, async () => ((await con.b!.run("cat /run/kvmgr/dhcp/eth0.carrier")).code === 0 ? true : undefined), 300);
    assert.equal((await con.a!.run("nslookup bee.nat1")).output.includes("10.10.0.60"), true, "the reservation's name is in DNS");
    await d.ok("net", "edit", "nat1", "--remove-dhcp-host", MAC.b.toUpperCase());
    assert.deepEqual((await d.json<Network>("net", "show", "nat1")).dhcpHosts, before.dhcpHosts);
    assert.equal((await d.cli("net", "edit", "nat1", "--remove-dhcp-host", MAC.b)).stderr, `kvmgr: Network 'nat1' has no reservation for MAC ${MAC.b}.\n`);
    assert.match((await d.cli("net", "edit", "nat1", "--dhcp-host", `${MAC.b},10.10.1.60`)).stderr, /outside the subnet 10\.10\.0\.0\/24/);
    assert.equal(await d.ok("net", "autostart", "nat1", "on"), "Network nat1: autostart on.\n");
    assert.equal((await d.json<Network>("net", "show", "nat1")).autostart, true);

    // Forwarding is on for the bridge and the uplink only while a nat/routed network needs it.
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "1");
    assert.equal(sysctl(d.lab, "net.ipv4.conf.all.forwarding"), "0", "never the global switch");
  });

  test("hostonly: VMs and the host, nothing forwarded", async () => {
    const { a, b } = await moveBoth("ho", /^10\.20\.0\./);
    assert.notEqual(a, b);
    assert.equal(await pings(con.a!, b), true, "a -> b");
    assert.equal(await pings(con.a!, "10.20.0.1"), true, "a -> its gateway");
    assert.equal(await pings(con.a!, HOST), true, "a -> the host");
    assert.equal((await d.cli("host", "exec", "--", "ping", "-c1", "-W2", a)).code, 0, "the host reaches a");
    assert.equal(await pings(con.a!, ROUTER), false, "a -> LAN router is blocked");
    assert.equal(await pings(con.a!, cIp), false, "a -> c is blocked");
    assert.equal(await tcpReaches(con.a!, "10.20.0.1", 7777, "host-svc"), false, "a -> host TCP is dropped");
    const net = await d.json<Network>("net", "show", "ho");
    assert.equal(net.ports.length, 2, "both taps moved onto the hostonly bridge");
    assert.deepEqual((await d.json<Network>("net", "show", "nat1")).ports, [], "and left the nat bridge");
    assert.deepEqual(
      (await d.json<Vm>("vm", "show", "a")).nics.map((n) => n.network),
      ["ho"],
      "the definition follows the move",
    );
  });

  test("routed: in and out without NAT", async () => {
    const { a, b } = await moveBoth("rt", /^10\.30\.0\./);
    assert.equal(inLan(d.lab, ["ip", "route", "add", "10.30.0.0/24", "via", HOST]).code, 0);
    assert.equal(await pings(con.a!, b), true, "a -> b");
    assert.equal(await pings(con.a!, HOST), true, "a -> the host");
    const onUplink = await startCapture(d, ["rt", "--uplink", "--count", "1", "--filter", `icmp and host ${ROUTER}`]);
    assert.equal(await pings(con.a!, ROUTER), true, "a -> the LAN router");
    assert.match(await onUplink.done, new RegExp(`IP ${a.replaceAll(".", "\\.")} > 172\\.16\\.0\\.1`), "the guest's own address on the uplink");
    assert.equal(inLan(d.lab, ["ping", "-c1", "-W2", a]).code, 0, "LAN -> a (routed inward)");
    assert.equal(await pings(con.a!, cIp), false, "a -> c is blocked");
  });

  test("internal: VMs with static addresses reach each other and nothing else", async () => {
    await moveBoth("iso", null);
    // No DHCP here: the guests' DHCP clients drop the old lease; give them addresses by hand (as the seed does).
    for (const vm of ["a", "b"]) {
      await until(`${vm}'s old address gone`, 20000, async () => ((await con[vm]!.run("ip -4 addr show dev eth0")).output.includes("inet ") ? undefined : true), 300);
    }
    for (const [vm, ip] of [["a", "10.99.0.1"], ["b", "10.99.0.2"]] as const) {
      assert.equal((await con[vm]!.run(`ip addr add ${ip}/24 dev eth0 && ip route add ${HOST} dev eth0`)).code, 0);
    }
    assert.equal(await pings(con.a!, "10.99.0.2"), true, "a -> b");
    assert.equal(await pings(con.b!, "10.99.0.1"), true, "b -> a");
    assert.equal(await pings(con.a!, HOST), false, "a -> the host (straight at its address) is dropped");
    assert.equal(await pings(con.a!, cIp), false, "a -> c");
    const iso = await d.json<Network>("net", "show", "iso");
    assert.equal(iso.gateway, null);
    assert.equal(iso.dnsmasqPid, null);
    assert.equal(labLinks(d.lab).find((l) => l.ifname === iso.bridge)?.addr_info?.some((x) => x.family === "inet"), false, "the bridge has no host address");
  });

  test("host show tells the truth; deleting everything leaves nothing of kvmgr", async () => {
    const h = await d.json<HostInfo>("host", "show");
    const br = (name: string) => h.bridges.find((b) => b.name === name);
    const iso = await d.json<Network>("net", "show", "iso");
    assert.equal(br(iso.bridge)?.ports.length, 2);
    assert.match(h.nftables, /chain fwd-nat1 \{/);
    assert.ok(h.nftablesJson.length > 0);
    assert.equal(h.forwarding.eth0, true);

    // A network with VMs cannot go.
    assert.match((await d.cli("net", "delete", "iso")).stderr, /is used by VM\(s\) a, b/);
    // A VM's port forwards go with it: a VM made later under its name inherits none.
    await d.ok("net", "forward", "add", "other", "--host-port", "9090", "--vm", "c", "--port", "80");
    assert.match(nftRuleset(d.lab), /dport 9090/);
    for (const vm of ["a", "b", "c"]) {
      con[vm]?.close();
      await d.ok("vm", "delete", vm, "--force");
    }
    assert.deepEqual(await d.json<unknown[]>("net", "forward", "list", "other"), []);
    assert.doesNotMatch(nftRuleset(d.lab), /dport 9090/);
    for (const n of ["nat1", "ho", "rt", "iso", "other"]) await d.ok("net", "delete", n);

    const kinds = labLinks(d.lab).map((l) => l.linkinfo?.info_kind);
    assert.ok(!kinds.includes("bridge") && !kinds.includes("tun"), "no bridge, no tap");
    assert.doesNotMatch(nftRuleset(d.lab), /kvmgr/, "no nft table or chain");
    assert.deepEqual(processesUsing(d.stateDir), [], "no dnsmasq, no QEMU");
    const runNets = `${d.stateDir}/run/networks`;
    assert.deepEqual(existsSync(runNets) ? readdirSync(runNets) : [], [], "no run files");
    assert.equal(sysctl(d.lab, "net.ipv4.conf.eth0.forwarding"), "0", "the uplink's forwarding is as it was");
    assert.deepEqual((await d.json<HostInfo>("host", "show")).sysctlSaves, []);
  });
});
