// Pure logic of the web UI: the wizard's request body, stats samples to graph points,
// the topology layout, the capture stream (tcpdump lines, pcap recording), client-side schema checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { wizardBody, stepOfField, type WizardState } from "../../src/web/components/wizard/body.js";
import { toPoint, StatsStore } from "../../src/web/api/stats.js";
import { layoutTopology } from "../../src/web/components/topology/layout.js";
import { LineSplitter, PcapRecorder, parseTcpdumpLine } from "../../src/web/lib/capture.js";
import { checkFields } from "../../src/web/lib/validate.js";
import { toBody } from "../../src/web/components/networks/form-body.js";
import { NetworkCreate, type Network } from "../../src/api/network.js";
import type { Vm } from "../../src/api/vm.js";
import type { HostInfo } from "../../src/api/host.js";

const base: WizardState = {
  source: "test", pxeNetwork: "pxe", iso: "", importPath: "", kernel: "", initrd: "", cmdline: "", os: null,
  memoryMiB: "128", vcpus: "1", disk: true, diskGiB: "8", alloc: "sparse", name: "vm1", network: "n1", customize: false,
};

test("wizard: each install source becomes the request virt-manager would make", () => {
  assert.deepEqual(wizardBody(base, false), { name: "vm1", memoryMiB: 128, vcpus: 1, nics: [{ network: "n1" }], image: "test-guest" });
  assert.deepEqual(wizardBody({ ...base, source: "pxe", alloc: "full" }, false), {
    name: "vm1", memoryMiB: 128, vcpus: 1, nics: [{ network: "pxe" }], disks: [{ sizeBytes: 8 * 1024 ** 3, alloc: "full" }], bootOrder: ["network", "disk"],
  });
  const iso = wizardBody({ ...base, source: "iso", iso: " /srv/d.iso ", os: { id: "debian12", aliases: [], name: "Debian 12", vendor: null, family: null, version: null, releaseDate: null, eol: false, recommended: { memoryMiB: 1024, vcpus: 1, diskBytes: null }, nicModel: "virtio", diskBus: "virtio" } }, true);
  assert.equal(iso.cdrom, "/srv/d.iso");
  assert.deepEqual(iso.bootOrder, ["cdrom", "disk"]);
  assert.equal(iso.os, "debian12");
  assert.equal(iso.force, true);
  const imp = wizardBody({ ...base, source: "import", importPath: "/srv/disk.qcow2" }, false);
  assert.deepEqual(imp.disks, [{ import: "/srv/disk.qcow2" }]);
  assert.deepEqual(imp.bootOrder, ["disk"]);
  const k = wizardBody({ ...base, source: "kernel", kernel: "/k", initrd: "", cmdline: "console=ttyS0", disk: false, network: "" }, false);
  assert.deepEqual(k, { name: "vm1", memoryMiB: 128, vcpus: 1, kernel: "/k", cmdline: "console=ttyS0" });
  assert.equal(stepOfField("memoryMiB"), 2);
  assert.equal(stepOfField("disks.sizeBytes"), 3);
  assert.equal(stepOfField("cdrom"), 0);
  assert.equal(stepOfField("name"), 4);
});

test("network form: empty fields are left to the daemon; the schema's hints name the field", () => {
  const f = { name: "n", mode: "nat" as const, subnet: "10.0.0.0/33", gateway: "", dhcp: true, rangeStart: "", rangeEnd: "", bridge: "", uplink: "", tftpRoot: "", bootFile: "", autostart: false, start: true, hosts: [] };
  const body = toBody(f);
  assert.deepEqual(body, { name: "n", mode: "nat", subnet: "10.0.0.0/33" });
  const p = checkFields(NetworkCreate, body);
  assert.deepEqual([...p.keys()], ["subnet"]);
  assert.match(p.get("subnet")?.hint ?? "", /a subnet must be an IPv4 address/);
  const p2 = checkFields(NetworkCreate, toBody({ ...f, name: "", subnet: "", rangeStart: "10.0.0.5", rangeEnd: "x" }));
  assert.equal(p2.get("name")?.kind, "invalid");
  assert.match(p2.get("dhcpRange.end")?.hint ?? "", /IPv4 address/);
  assert.equal(toBody({ ...f, mode: "internal", gateway: "10.0.0.1", uplink: "eth0" }).gateway, undefined, "fields a mode does not have are not sent");
});

test("stats: the daemon's samples become CPU share of the VM, memory and rates", () => {
  const s1 = { time: 1000, pid: 7, cpuPercent: null, cpuSeconds: 1, vcpus: [{}, {}], memory: { configuredBytes: 256 * 1048576, rssBytes: 100 * 1048576 }, nics: [{ rxBytes: 1000, txBytes: 0, rxBytesPerSec: null, txBytesPerSec: null }], disks: [] };
  const a = toPoint(s1, 0, null, 2);
  assert.equal(a.point.cpuPercent, null);
  assert.equal(a.point.memUsedMiB, 100);
  assert.equal(a.point.netRxBps, null);
  const s2 = { ...s1, time: 2000, cpuPercent: 150, nics: [{ rxBytes: 3000, txBytes: 500, rxBytesPerSec: 2000, txBytesPerSec: 500 }] };
  const b = toPoint(s2, 0, a.raw, 2);
  assert.equal(b.point.cpuPercent, 75, "150% of one host core on a 2-vCPU VM is 75% of the VM");
  assert.equal(b.point.netRxBps, 2000);
  // Without the daemon's rates, counters become rates; a new pid restarts them.
  const s3 = { time: 3000, pid: 7, cpuSeconds: 2.5, vcpus: [], nics: [{ rxBytes: 5000, txBytes: 500 }], disks: [{ rdBytes: 10, wrBytes: 0 }] };
  const c = toPoint(s3, 0, b.raw, 1);
  assert.equal(c.point.cpuPercent, 100);
  assert.equal(c.point.netRxBps, 2000);
  const d = toPoint({ ...s3, pid: 8, time: 4000 }, 0, c.raw, 1);
  assert.equal(d.point.netRxBps, null);
  const store = new StatsStore();
  let changes = 0;
  store.subscribe(() => changes++);
  for (let i = 0; i < 130; i++) store.add("vm", { time: i * 1000, pid: 1, cpuPercent: 10 }, 0);
  assert.equal(store.get("vm").length, 120, "a bounded ring");
  assert.equal(changes, 130);
  store.forget("vm");
  assert.equal(store.get("vm").length, 0);
});

test("topology: bridges under the uplink, NICs to their bridges, NAT arrows only for active nat networks", () => {
  const net = (name: string, mode: Network["mode"], active: boolean, bridge: string): Network => ({
    name, mode, bridge, subnet: "10.0.0.0/24", gateway: "10.0.0.1", active, autostart: false, dhcp: null, dhcpHosts: [], uplink: null, tftpRoot: null, bootFile: null, ports: [], leases: [], dnsmasqPid: null, forwards: [], nftChains: [], moved: null,
  });
  const vm = (name: string, nics: [string, string | null][]): Vm => ({ ...({} as Vm),
    name, state: "running", vcpus: 1, memoryMiB: 128, image: null, kernel: null, initrd: null, cmdline: null, pid: 1, accel: "tcg", accelReason: "", autostart: false, disks: [],
    consoles: { serial: null, vnc: null }, nics: nics.map(([network, tap], i) => ({ ...({} as Vm["nics"][number]), network, mac: `52:54:00:00:00:0${i}`, model: "virtio", tap, ips: [] })),
  });
  const host = { bridges: [{ name: "kvbr0", up: true, addresses: [], ports: [] }, { name: "docker0", up: true, addresses: [], ports: [] }], links: [{ name: "lo", kind: null, master: null, up: true, mac: null, addresses: ["127.0.0.1/8"] }, { name: "eth0", kind: "veth", master: null, up: true, mac: null, addresses: ["172.16.31.7/16"] }] } as unknown as HostInfo;
  const topo = layoutTopology(host, [net("a", "nat", true, "kvbr0"), net("b", "hostonly", true, "kvbr1"), net("c", "nat", false, "kvbr2")], [vm("v1", [["a", "vnet0"], ["b", "vnet1"]]), vm("v2", [["zzz", null]])]);
  assert.equal(topo.uplink.name, "eth0");
  assert.deepEqual(topo.uplink.addresses, ["172.16.31.7/16"]);
  assert.deepEqual(topo.bridges.map((b) => b.bridge), ["kvbr0", "kvbr1", "kvbr2", "docker0"]);
  assert.deepEqual(topo.uplinks.map((u) => [u.bridge, u.kind]), [["kvbr0", "nat"]]);
  assert.equal(topo.nics.length, 3);
  assert.equal(topo.nics[2]?.to, null, "a NIC on an unknown network dangles");
  const a = topo.bridges[0]!;
  assert.deepEqual(topo.nics[0]?.to, { x: a.x + a.w / 2 + -12 / 2, y: a.y + a.h });
  // nothing overlaps in a row
  for (const row of [topo.bridges, topo.vms]) for (let i = 1; i < row.length; i++) assert.ok(row[i]!.x >= row[i - 1]!.x + row[i - 1]!.w);
});

/** A pcap file as tcpdump -w writes it (little-endian, microseconds, Ethernet). */
function pcapOf(packets: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + packets.reduce((n, p) => n + 16 + p.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 262144, true);
  v.setUint32(20, 1, true);
  let o = 24;
  packets.forEach((p, i) => {
    v.setUint32(o, 1700000000 + i, true);
    v.setUint32(o + 8, p.length, true);
    v.setUint32(o + 12, p.length, true);
    out.set(p, o + 16);
    o += 16 + p.length;
  });
  return out;
}

test("capture: the pcap stream is recorded up to its last whole packet, whatever the chunks", () => {
  const packets = [new Uint8Array(60).fill(1), new Uint8Array(98).fill(2), new Uint8Array(342).fill(3)];
  const file = pcapOf(packets);
  for (const size of [1, 7, 16, 24, 100, file.length]) {
    const rec = new PcapRecorder();
    assert.equal(rec.file(), null, "nothing before the global header");
    for (let o = 0; o < file.length; o += size) rec.push(file.subarray(o, o + size));
    assert.equal(rec.packets, 3, `chunks of ${size}`);
    assert.deepEqual(rec.file(), file);
  }
  // Stopped in the middle of the third packet: the file holds the first two, and is valid.
  const rec = new PcapRecorder();
  rec.push(file.subarray(0, file.length - 10));
  assert.equal(rec.packets, 2);
  assert.deepEqual(rec.file(), file.subarray(0, 24 + 16 + 60 + 16 + 98));
  // Big-endian files (another host's tcpdump) are read by their magic.
  const be = new Uint8Array(24 + 16 + 4);
  const v = new DataView(be.buffer);
  v.setUint32(0, 0xa1b2c3d4, false);
  v.setUint32(24 + 8, 4, false);
  const rbe = new PcapRecorder();
  rbe.push(be);
  assert.equal(rbe.packets, 1);
  // Not a pcap stream: nothing recorded.
  const bad = new PcapRecorder();
  bad.push(new TextEncoder().encode("12:00:00.000000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64\n"));
  assert.equal(bad.invalid, true);
  assert.equal(bad.file(), null);
  // A recording that reaches its cap keeps its whole packets and says so.
  const small = new PcapRecorder(24 + 16 + 60 + 20);
  small.push(file.subarray(0, 24 + 16 + 60));
  small.push(file.subarray(24 + 16 + 60));
  assert.equal(small.full, true);
  assert.equal(small.packets, 1);
  assert.equal(small.file()?.length, 24 + 16 + 60);
});

test("capture: tcpdump's lines arrive split anywhere and become columns", () => {
  const split = new LineSplitter();
  assert.deepEqual(split.push("12:00:01.5 IP 10.0.0.1 > 10.0"), []);
  assert.deepEqual(split.push(".0.2: ICMP echo request, id 1, seq 1, length 64\r\n12:00:02.0 ARP"), ["12:00:01.5 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64"]);
  assert.deepEqual(split.end(), ["12:00:02.0 ARP"]);
  assert.deepEqual(split.end(), []);

  const p = (l: string) => {
    const x = parseTcpdumpLine(l);
    return x && { time: x.time, proto: x.proto, src: x.src, dst: x.dst, length: x.length };
  };
  assert.deepEqual(p("10:20:30.123456 IP 10.77.0.23 > 10.77.0.1: ICMP echo request, id 5, seq 1, length 64"), { time: "10:20:30.123456", proto: "ICMP", src: "10.77.0.23", dst: "10.77.0.1", length: 64 });
  assert.deepEqual(p("10:20:30.123456 IP 10.77.0.1.67 > 10.77.0.23.68: BOOTP/DHCP, Reply, length 300"), { time: "10:20:30.123456", proto: "DHCP", src: "10.77.0.1:67", dst: "10.77.0.23:68", length: 300 });
  assert.deepEqual(p("10:20:30.1 IP 10.77.0.23.41234 > 10.77.0.1.53: 4660+ A? vm2.nat1. (26)"), { time: "10:20:30.1", proto: "DNS", src: "10.77.0.23:41234", dst: "10.77.0.1:53", length: null });
  assert.deepEqual(p("10:20:30.1 IP 10.77.0.23.22 > 10.77.0.1.50000: Flags [P.], seq 1:37, ack 1, win 502, length 36"), { time: "10:20:30.1", proto: "TCP", src: "10.77.0.23:22", dst: "10.77.0.1:50000", length: 36 });
  assert.deepEqual(p("10:20:30.1 IP 10.77.0.23.5000 > 10.77.0.1.6000: UDP, length 12"), { time: "10:20:30.1", proto: "UDP", src: "10.77.0.23:5000", dst: "10.77.0.1:6000", length: 12 });
  assert.deepEqual(p("10:20:30.1 IP6 fe80::5054:ff:fe12:3456 > ff02::2: ICMP6, router solicitation, length 16"), { time: "10:20:30.1", proto: "ICMPv6", src: "fe80::5054:ff:fe12:3456", dst: "ff02::2", length: 16 });
  assert.deepEqual(p("10:20:30.1 ARP, Request who-has 10.77.0.1 tell 10.77.0.23, length 28"), { time: "10:20:30.1", proto: "ARP", src: "10.77.0.23", dst: "10.77.0.1", length: 28 });
  assert.deepEqual(p("10:20:30.1 ARP, Reply 10.77.0.1 is-at 52:54:00:12:34:56, length 28"), { time: "10:20:30.1", proto: "ARP", src: "10.77.0.1", dst: "", length: 28 });
  assert.deepEqual(p("10:20:30.1 STP 802.1d, Config, Flags [none], bridge-id 8000.52:54:00:00:00:01.8001, length 35"), { time: "10:20:30.1", proto: "STP", src: "", dst: "", length: 35 });
  assert.equal(parseTcpdumpLine("\t0x0000:  4500 0054"), null, "a continuation line belongs to the packet before");
  assert.equal(parseTcpdumpLine("10:20:30.1 IP 10.0.0.1 > 10.0.0.2: ICMP echo reply, id 1, seq 1, length 64")?.info, "ICMP echo reply, id 1, seq 1, length 64");
});
