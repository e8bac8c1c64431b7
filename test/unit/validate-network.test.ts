import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KvmgrError } from "../../src/api/errors.js";
import type { NetworkCreate } from "../../src/api/network.js";
import { validateNetworkCreate, validateNetworkEdit, type NetworkContext } from "../../src/core/validate/network.js";
import { editedReservations } from "../../src/cli/net.js";
import { contains, parseCidr, parseIpv4, subnetOf } from "../../src/core/model/ipv4.js";

const empty: NetworkContext = { networks: [], hostLinks: ["lo", "eth0"], hostSubnets: ["172.16.0.0/16"] };

function refusal(input: unknown, ctx: NetworkContext = empty): KvmgrError {
  try {
    validateNetworkCreate(input as NetworkCreate, ctx);
  } catch (e) {
    assert.ok(e instanceof KvmgrError, `expected a KvmgrError, got ${String(e)}`);
    // One clear sentence: starts with a capital, ends with a full stop, one line.
    assert.match(e.message, /^[A-Z'-].*[.?]$/);
    assert.doesNotMatch(e.message, /\n/);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be refused`);
}

describe("network validation", () => {
  test("edit: autostart and reservations change, checked as at creation; the rest is fixed", () => {
    const spec = validateNetworkCreate({ name: "n", mode: "nat", subnet: "10.0.0.0/24" }, empty);
    const e = validateNetworkEdit(spec, { autostart: true, dhcpHosts: [{ mac: "52:54:00:AA:00:01", ip: "10.0.0.50", hostname: "web" }] });
    assert.deepEqual([e.autostart, e.dhcpHosts], [true, [{ mac: "52:54:00:aa:00:01", ip: "10.0.0.50", hostname: "web" }]]);
    assert.deepEqual({ ...e, autostart: false, dhcpHosts: [] }, spec, "nothing else changed");
    const refused = (edit: unknown, s = spec) => {
      try {
        validateNetworkEdit(s, edit);
      } catch (err) {
        assert.ok(err instanceof KvmgrError);
        return err.message;
      }
      assert.fail(`expected ${JSON.stringify(edit)} to be refused`);
    };
    assert.match(refused({ dhcpHosts: [{ mac: "52:54:00:aa:00:01", ip: "10.0.1.5" }] }), /outside the subnet 10\.0\.0\.0\/24/);
    assert.match(refused({ dhcpHosts: [{ mac: "52:54:00:aa:00:01", ip: "10.0.0.1" }] }), /is the gateway/);
    assert.match(refused({ subnet: "10.9.0.0/24" }), /subnet/);
    const internal = validateNetworkCreate({ name: "i", mode: "internal" }, empty);
    assert.match(refused({ dhcpHosts: [{ mac: "52:54:00:aa:00:01", ip: "10.0.0.5" }] }, internal), /need a network with DHCP/);
  });

  test("net edit's reservations: removals, then additions replacing a MAC's old one", () => {
    const cur = [{ mac: "52:54:00:00:00:0a", ip: "10.0.0.11" }, { mac: "52:54:00:00:00:02", ip: "10.0.0.12" }];
    assert.deepEqual(editedReservations("n", cur, [{ mac: "52:54:00:00:00:0A", ip: "10.0.0.21" }], ["52:54:00:00:00:02"]), [{ mac: "52:54:00:00:00:0A", ip: "10.0.0.21" }]);
    assert.deepEqual(editedReservations("n", cur, [], ["52:54:00:00:00:0A"]), [cur[1]], "MACs compare in any case");
    assert.throws(() => editedReservations("n", cur, [], ["52:54:00:00:00:09"]), /Network 'n' has no reservation for MAC 52:54:00:00:00:09\./);
  });

  test("fills defaults for a bare hostonly network", () => {
    const spec = validateNetworkCreate({ name: "lab1", mode: "hostonly" }, empty);
    assert.equal(spec.bridge, "kvbr0");
    assert.equal(spec.subnet, "192.168.100.0/24");
    assert.equal(spec.gateway, "192.168.100.1");
    assert.deepEqual(spec.dhcp, { start: "192.168.100.2", end: "192.168.100.254" });
  });

  test("the seed's isolation network: 10.0.0.0/8 with gateway .254", () => {
    const spec = validateNetworkCreate({ name: "isolation", mode: "nat", bridge: "isolationbr", subnet: "10.0.0.0/8", gateway: "10.0.0.254" }, empty);
    assert.equal(spec.gateway, "10.0.0.254");
    assert.deepEqual(spec.dhcp, { start: "10.0.0.255", end: "10.255.255.254" });
  });

  test("skips subnets and bridge names already taken", () => {
    const ctx: NetworkContext = { ...empty, networks: [{ name: "a", bridge: "kvbr0", subnet: "192.168.100.0/24" }], hostLinks: ["lo", "kvbr1"] };
    const spec = validateNetworkCreate({ name: "b", mode: "nat" }, ctx);
    assert.equal(spec.subnet, "192.168.101.0/24");
    assert.equal(spec.bridge, "kvbr2");
  });

  test("internal networks have no address and no DHCP", () => {
    const spec = validateNetworkCreate({ name: "iso", mode: "internal" }, empty);
    assert.equal(spec.gateway, null);
    assert.equal(spec.dhcp, null);
    assert.equal(refusal({ name: "iso", mode: "internal", gateway: "10.0.0.1" }).field, "gateway");
  });

  const bad: [string, unknown, RegExp][] = [
    ["name with ;", { name: "a;rm", mode: "hostonly" }, /name/],
    ["name with /", { name: "a/b", mode: "hostonly" }, /name/],
    ["over-long bridge name", { name: "a", mode: "hostonly", bridge: "averyveryverylongbr" }, /interface name/],
    ["bad CIDR", { name: "a", mode: "hostonly", subnet: "10.0.0.0/33" }, /subnet/],
    ["CIDR with letters", { name: "a", mode: "hostonly", subnet: "ten/8" }, /subnet/],
    ["host bits set", { name: "a", mode: "hostonly", subnet: "10.0.0.5/24" }, /did you mean 10\.0\.0\.0\/24/],
    ["range outside subnet", { name: "a", mode: "hostonly", subnet: "10.0.0.0/24", dhcpRange: { start: "10.0.1.2", end: "10.0.1.9" } }, /outside the subnet/],
    ["range reversed", { name: "a", mode: "hostonly", subnet: "10.0.0.0/24", dhcpRange: { start: "10.0.0.9", end: "10.0.0.2" } }, /ends before it starts/],
    ["range with gateway", { name: "a", mode: "hostonly", subnet: "10.0.0.0/24", dhcpRange: { start: "10.0.0.1", end: "10.0.0.9" } }, /contains the gateway/],
    ["gateway = network", { name: "a", mode: "hostonly", subnet: "10.0.0.0/24", gateway: "10.0.0.0" }, /network address/],
    ["gateway = broadcast", { name: "a", mode: "hostonly", subnet: "10.0.0.0/24", gateway: "10.0.0.255" }, /broadcast address/],
    ["gateway outside", { name: "a", mode: "hostonly", subnet: "10.0.0.0/24", gateway: "10.0.1.1" }, /outside the subnet/],
    ["bad MAC in reservation", { name: "a", mode: "hostonly", dhcpHosts: [{ mac: "52:54:00:zz:00:01", ip: "192.168.100.5" }] }, /MAC/],
    ["multicast MAC", { name: "a", mode: "hostonly", dhcpHosts: [{ mac: "01:00:5e:00:00:01", ip: "192.168.100.5" }] }, /multicast/],
    ["unknown mode", { name: "a", mode: "wifi" }, /mode must be one of/],
    ["unknown field", { name: "a", mode: "nat", colour: "red" }, /Unknown field/],
    ["overlap with the host's LAN", { name: "a", mode: "nat", subnet: "172.16.8.0/24" }, /overlaps 172\.16\.0\.0\/16/],
    ["tftp without boot file", { name: "a", mode: "nat", tftpRoot: "/srv/tftp" }, /go together/],
    ["loopback subnet", { name: "a", mode: "hostonly", subnet: "127.0.0.0/8" }, /overlaps the loopback range \(127\.0\.0\.0\/8\): use a private range/],
    ["multicast subnet", { name: "a", mode: "nat", subnet: "224.0.0.0/24" }, /overlaps the multicast range \(224\.0\.0\.0\/4\)/],
    ["reserved subnet", { name: "a", mode: "routed", subnet: "240.1.0.0/16" }, /the reserved range/],
    ["'this network' subnet", { name: "a", mode: "internal", subnet: "0.0.0.0/8" }, /'this network'/],
  ];
  for (const [what, input, re] of bad) {
    test(`refuses ${what}`, () => {
      assert.match(refusal(input).message, re);
    });
  }

  test("refuses a second network of the same name or overlapping subnet", () => {
    const ctx: NetworkContext = { ...empty, networks: [{ name: "a", bridge: "kvbr0", subnet: "10.0.0.0/16" }] };
    assert.equal(refusal({ name: "a", mode: "nat" }, ctx).code, "KVMGR_ERR_NET_EXISTS");
    assert.equal(refusal({ name: "b", mode: "nat", subnet: "10.0.3.0/24" }, ctx).code, "KVMGR_ERR_NET_CONFLICT");
    assert.equal(refusal({ name: "b", mode: "nat", bridge: "kvbr0" }, ctx).code, "KVMGR_ERR_NET_CONFLICT");
  });

  test("property: a default DHCP range lies in the subnet and avoids gateway, network and broadcast", () => {
    // Every address outside the /8s no subnet may overlap (0, 127, 224 and up).
    const usable = fc.oneof(fc.integer({ min: 0x01000000, max: 0x7effffff }), fc.integer({ min: 0x80000000, max: 0xdfffffff }));
    fc.assert(
      fc.property(usable, fc.integer({ min: 8, max: 30 }), fc.nat(), (addr, prefix, g) => {
        const sn = subnetOf(addr, prefix);
        const size = 2 ** (32 - prefix);
        const gw = sn.network + 1 + (g % (size - 2));
        const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
        const input: NetworkCreate = { name: "p", mode: "nat", subnet: `${toIp(sn.network)}/${prefix}`, gateway: toIp(gw) };
        let spec;
        try {
          spec = validateNetworkCreate(input, { networks: [], hostLinks: [], hostSubnets: [] });
        } catch (e) {
          // Only a /30 with the gateway in the middle may leave no room.
          return e instanceof KvmgrError && prefix === 30;
        }
        const c = parseCidr(spec.subnet ?? "");
        assert.ok(c && spec.dhcp);
        const s = parseIpv4(spec.dhcp.start) ?? -1, e = parseIpv4(spec.dhcp.end) ?? -1;
        const subnet = subnetOf(c.addr, c.prefix);
        return contains(subnet, s) && contains(subnet, e) && s <= e && !(gw >= s && gw <= e) && s > sn.network && e < sn.network + size - 1;
      }),
    );
  });

  describe("bridge mode", () => {
    const lab: NetworkContext = { ...empty, hostLinks: ["lo", "eth0", "br9", "eth1"], hostBridges: ["br9"], hostMasters: { eth1: "br9" } };
    test("--uplink creates br0 around the NIC; --bridge joins an existing bridge", () => {
      const made = validateNetworkCreate({ name: "lan", mode: "bridge", uplink: "eth0" }, lab);
      assert.equal(made.bridge, "br0");
      assert.equal(made.uplink, "eth0");
      assert.equal(made.subnet, null);
      assert.equal(made.dhcp, null);
      const joined = validateNetworkCreate({ name: "lan", mode: "bridge", bridge: "br9" }, lab);
      assert.equal(joined.bridge, "br9");
      assert.equal(joined.uplink, null);
    });
    test("refusals", () => {
      assert.match(refusal({ name: "l", mode: "bridge" }, lab).message, /needs --uplink IFACE/);
      assert.match(refusal({ name: "l", mode: "bridge", bridge: "brnew" }, lab).message, /no bridge named 'brnew'/);
      assert.match(refusal({ name: "l", mode: "bridge", bridge: "br9", uplink: "eth0" }, lab).message, /already exists/);
      assert.match(refusal({ name: "l", mode: "bridge", bridge: "eth0" }, lab).message, /not a bridge/);
      assert.match(refusal({ name: "l", mode: "bridge", uplink: "eth1" }, lab).message, /already a port of 'br9'/);
      assert.match(refusal({ name: "l", mode: "bridge", uplink: "br9" }, lab).message, /itself a bridge/);
      assert.match(refusal({ name: "l", mode: "bridge", uplink: "eth7" }, lab).message, /no interface named 'eth7'/);
      assert.match(refusal({ name: "l", mode: "bridge", uplink: "eth0", subnet: "10.0.0.0/24" }, lab).message, /from the LAN/);
      const used: NetworkContext = { ...lab, networks: [{ name: "lan", bridge: "br0", subnet: null, mode: "bridge", uplink: "eth0" }] };
      assert.match(refusal({ name: "l2", mode: "bridge", uplink: "eth0", bridge: "br1" }, used).message, /already the uplink of bridge-mode network 'lan'/);
    });
  });
});
