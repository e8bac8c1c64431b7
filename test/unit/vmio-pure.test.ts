// Pure parts of consoles, agent addresses and live stats: ring buffers, /proc parsing and CPU
// math, the address merge, the event filter, and the RFB parsing helper of the e2e tests.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteRing, Ring } from "../../src/core/stats/ring.js";
import { cpuPercent, parseNetDev, parseStatCpuTicks, parseStatusRssBytes, ratePerSec } from "../../src/core/stats/proc-parse.js";
import { mergeNicAddresses, parseIpNeighJson } from "../../src/core/model/addresses.js";
import { matchesFilter, parseEventFilter } from "../../src/daemon/events/filter.js";
import { KvmgrError } from "../../src/api/errors.js";
import { framebufferUpdateRequest, parseRectHeader, parseServerInitHead, parseVersion } from "../../src/testing/rfb.js";

describe("ring buffers", () => {
  test("Ring keeps the last N items, oldest first", () => {
    const r = new Ring<number>(3);
    assert.deepEqual(r.toArray(), []);
    assert.equal(r.last(), undefined);
    for (let i = 1; i <= 5; i++) r.push(i);
    assert.deepEqual(r.toArray(), [3, 4, 5]);
    assert.equal(r.last(), 5);
    assert.equal(r.length, 3);
    r.clear();
    assert.deepEqual(r.toArray(), []);
    assert.throws(() => new Ring(0), RangeError);
  });

  test("Ring equals the tail of everything pushed (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (cap, items) => {
        const r = new Ring<number>(cap);
        items.forEach((i) => r.push(i));
        assert.deepEqual(r.toArray(), items.slice(Math.max(0, items.length - cap)));
      }),
    );
  });

  test("ByteRing keeps the last N bytes across writes of any size (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.uint8Array({ maxLength: 150 }), { maxLength: 30 }), (cap, writes) => {
        const r = new ByteRing(cap);
        writes.forEach((w) => r.write(w));
        const all = Buffer.concat(writes.map((w) => Buffer.from(w)));
        assert.deepEqual(r.read(), all.subarray(Math.max(0, all.length - cap)));
        assert.equal(r.length, Math.min(cap, all.length));
      }),
    );
  });
});

describe("/proc parsing and rates", () => {
  // comm with a space and a parenthesis, as QEMU threads can have ("CPU 0/TCG").
  const stat = "4242 (CPU 0/KVM) (x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 3 0 987654 1000000 5000 18446744073709551615";

  test("utime + stime from a stat line whose comm holds spaces and parens", () => {
    assert.equal(parseStatCpuTicks(stat), 325);
    assert.equal(parseStatCpuTicks("garbage"), null);
  });

  test("RSS from /proc/PID/status", () => {
    assert.equal(parseStatusRssBytes("Name:\tqemu\nVmRSS:\t  12345 kB\nThreads: 4\n"), 12345 * 1024);
    assert.equal(parseStatusRssBytes("Name:\tkworker\n"), null);
  });

  test("/proc/PID/net/dev counters", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0",
      " vnet0: 1818 15 0 0 0 0 0 0 684 2 0 0 0 0 0 0",
    ].join("\n");
    const m = parseNetDev(text);
    assert.deepEqual(m.get("vnet0"), { rxBytes: 1818, rxPackets: 15, txBytes: 684, txPackets: 2 });
    assert.equal(m.get("lo")?.rxBytes, 100);
    assert.equal(m.size, 2);
  });

  test("CPU % of one core from tick deltas", () => {
    // 50 ticks at 100 Hz over 1 s = half a core; 150 ticks over 1 s = 1.5 cores.
    assert.equal(cpuPercent(1000, 1050, 1000, 100), 50);
    assert.equal(cpuPercent(1000, 1150, 1000, 100), 150);
    assert.equal(cpuPercent(1000, 1020, 2000, 100), 10);
    assert.equal(cpuPercent(null, 1020, 1000, 100), null, "no earlier reading");
    assert.equal(cpuPercent(1000, 900, 1000, 100), null, "a counter that went back is a new process");
    assert.equal(cpuPercent(1000, 1010, 0, 100), null, "no time passed");
  });

  test("per-second rates", () => {
    assert.equal(ratePerSec(1000, 3000, 2000), 1000);
    assert.equal(ratePerSec(undefined, 3000, 1000), null);
    assert.equal(ratePerSec(5000, 3000, 1000), null);
  });
});

describe("address merge", () => {
  const MAC = "52:54:00:AA:BB:CC";
  const neigh = parseIpNeighJson(
    JSON.stringify([
      { dst: "10.0.0.50", dev: "kvbr0", lladdr: "52:54:00:aa:bb:cc", state: ["REACHABLE"] },
      { dst: "10.0.0.77", dev: "kvbr0", lladdr: "52:54:00:aa:bb:cc", state: ["STALE"] },
      { dst: "10.0.0.99", dev: "kvbr0", lladdr: "52:54:00:aa:bb:cc", state: ["FAILED"] },
      { dst: "10.0.0.60", dev: "kvbr0", lladdr: "52:54:00:11:22:33", state: ["REACHABLE"] },
      { dst: "10.0.0.61", dev: "kvbr0", state: ["INCOMPLETE"] },
    ]),
  );

  test("ip -j neigh parsing keeps entries with a MAC", () => {
    assert.equal(neigh.length, 4);
    assert.deepEqual(neigh[0], { ip: "10.0.0.50", mac: "52:54:00:aa:bb:cc", state: "REACHABLE", dev: "kvbr0" });
    assert.deepEqual(parseIpNeighJson("not json"), []);
  });

  test("lease first, then agent, then arp; one entry per address with every source", () => {
    const got = mergeNicAddresses(MAC, {
      leases: ["10.0.0.50"],
      agent: [
        { mac: "52:54:00:aa:bb:cc", address: "10.0.0.50", prefix: 24, family: "ipv4" },
        { mac: "52:54:00:aa:bb:cc", address: "192.168.5.5", prefix: 16, family: "ipv4" },
        { mac: "52:54:00:aa:bb:cc", address: "fe80::5054:ff:feaa:bbcc", prefix: 64, family: "ipv6" },
        { mac: "52:54:00:aa:bb:cc", address: "fd00::5", prefix: 64, family: "ipv6" },
        { mac: null, address: "127.0.0.1", prefix: 8, family: "ipv4" },
        { mac: "52:54:00:11:22:33", address: "10.0.0.60", prefix: 24, family: "ipv4" },
      ],
      neigh,
    });
    assert.deepEqual(got, [
      { ip: "10.0.0.50", family: "ipv4", prefix: 24, source: "lease", sources: ["lease", "agent", "arp"] },
      { ip: "192.168.5.5", family: "ipv4", prefix: 16, source: "agent", sources: ["agent"] },
      { ip: "fd00::5", family: "ipv6", prefix: 64, source: "agent", sources: ["agent"] },
      { ip: "10.0.0.77", family: "ipv4", source: "arp", sources: ["arp"] },
    ]);
  });

  test("a NIC on a bridge whose DHCP is not ours: agent and arp alone", () => {
    const got = mergeNicAddresses(MAC, { leases: [], agent: [], neigh });
    assert.deepEqual(got.map((a) => [a.ip, a.source]), [["10.0.0.50", "arp"], ["10.0.0.77", "arp"]]);
    assert.deepEqual(mergeNicAddresses("52:54:00:00:00:01", { leases: [], agent: [], neigh }), []);
  });

  test("after a live NIC move, the old bridge's neighbour entries no longer count", () => {
    const moved = [...neigh, { ip: "10.78.0.5", mac: "52:54:00:aa:bb:cc", state: "REACHABLE", dev: "kvbr1" }];
    assert.deepEqual(mergeNicAddresses(MAC, { leases: [], agent: [], neigh: moved, link: "kvbr1" }).map((a) => a.ip), ["10.78.0.5"]);
    assert.deepEqual(mergeNicAddresses(MAC, { leases: [], agent: [], neigh: moved, link: "kvbr0" }).map((a) => a.ip), ["10.0.0.50", "10.0.0.77"]);
  });
});

describe("event filter", () => {
  const stats = { type: "vm.stats", vm: "a", sample: {} } as never;
  const state = { type: "vm.state", vm: "b", state: "running" } as const;
  const net = { type: "net.state", network: "n1", active: true } as const;

  test("types, prefixes, VMs and networks", () => {
    const all = parseEventFilter({});
    assert.ok([stats, state, net].every((e) => matchesFilter(all, e)));
    const f = parseEventFilter({ types: "vm.stats,vm.state", vm: "a" });
    assert.equal(matchesFilter(f, stats), true);
    assert.equal(matchesFilter(f, state), false, "another VM");
    assert.equal(matchesFilter(f, net), false);
    const vmAll = parseEventFilter({ types: ["vm.*"] });
    assert.equal(matchesFilter(vmAll, state), true);
    assert.equal(matchesFilter(vmAll, net), false);
    assert.equal(matchesFilter(parseEventFilter({ network: "n1" }), net), true);
    assert.equal(matchesFilter(parseEventFilter({ network: "n1" }), state), false, "an event without the field fails the criterion");
  });

  test("an unknown type is one clear sentence", () => {
    assert.throws(
      () => parseEventFilter({ types: "vm.stat" }),
      (e: unknown) => e instanceof KvmgrError && e.code === "KVMGR_ERR_INPUT_INVALID" && /Unknown event type 'vm.stat'/.test(e.message),
    );
    assert.throws(() => parseEventFilter({ types: "nope.*" }), KvmgrError);
  });
});

describe("RFB helper", () => {
  test("version string", () => {
    assert.deepEqual(parseVersion(Buffer.from("RFB 003.008\n")), { major: 3, minor: 8 });
    assert.throws(() => parseVersion(Buffer.from("HTTP/1.1 40")), /not an RFB version/);
  });

  test("ServerInit head", () => {
    const b = Buffer.alloc(24);
    b.writeUInt16BE(720, 0);
    b.writeUInt16BE(400, 2);
    b.writeUInt8(32, 4);
    b.writeUInt8(24, 5);
    b.writeUInt8(0, 6);
    b.writeUInt8(1, 7);
    b.writeUInt32BE(10, 20);
    const h = parseServerInitHead(b);
    assert.deepEqual(h, { width: 720, height: 400, pixelFormat: { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true }, nameLength: 10 });
    assert.throws(() => parseServerInitHead(Buffer.alloc(10)));
  });

  test("FramebufferUpdateRequest and rectangle header", () => {
    assert.deepEqual([...framebufferUpdateRequest(false, 0, 0, 720, 400)], [3, 0, 0, 0, 0, 0, 2, 208, 1, 144]);
    const r = Buffer.from([0, 1, 0, 2, 0, 3, 0, 4, 0xff, 0xff, 0xff, 0x21]);
    assert.deepEqual(parseRectHeader(r), { x: 1, y: 2, w: 3, h: 4, encoding: -223 });
  });
});
