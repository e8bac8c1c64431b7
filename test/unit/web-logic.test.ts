// Pure logic of the web UI: the wizard's request body, stats samples to graph points,
// the topology layout, pcap files, client-side schema checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { wizardBody, stepOfField, type WizardState } from "../../src/web/components/wizard/body.js";
import { toPoint, StatsStore } from "../../src/web/api/stats.js";
import { layoutTopology } from "../../src/web/components/topology/layout.js";
import { pcapFile } from "../../src/web/lib/pcap.js";
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

test("pcap: a file Wireshark reads (header, stamps, lengths)", () => {
  const f = pcapFile([{ time: 1700000000.25, bytes: new Uint8Array([1, 2, 3]) }, { time: 1700000001, bytes: new Uint8Array(60), origLen: 1514 }]);
  const v = new DataView(f.buffer);
  assert.equal(v.getUint32(0, true), 0xa1b2c3d4);
  assert.equal(v.getUint16(4, true), 2);
  assert.equal(v.getUint32(20, true), 1, "Ethernet");
  assert.equal(v.getUint32(24, true), 1700000000);
  assert.equal(v.getUint32(28, true), 250000);
  assert.equal(v.getUint32(32, true), 3);
  assert.deepEqual([...f.slice(40, 43)], [1, 2, 3]);
  assert.equal(v.getUint32(43 + 12, true), 1514);
  assert.equal(f.length, 24 + 16 + 3 + 16 + 60);
});
