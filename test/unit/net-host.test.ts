// Parsers of host command output and renderers of host commands for networks (recorded outputs, no host).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isUnconditional, parseNftRuleset, ruleVerdict } from "../../src/core/model/nft-json.js";
import { networkChains, networkRules, renderNetworkNftRemoval } from "../../src/core/render/nft-ruleset.js";
import { ipLines, routeArgs } from "../../src/host/apply.js";
import { parseDhcpListeners, servesBridge } from "../../src/host/dhcp-listeners.js";
import { parseAddrSpecs, parseMovableRoutes } from "../../src/host/iproute/links.js";
import { kvmgrChains } from "../../src/host/nft/nft.js";
import { parseForwarding } from "../../src/host/sysctl.js";

const ruleset = readFileSync(new URL("../../fixtures/host/nft-ruleset.json", import.meta.url), "utf8");

describe("nft -j", () => {
  const rs = parseNftRuleset(ruleset);
  test("tables, chains with hooks and policies, rules with comments", () => {
    assert.deepEqual(rs.tables.map((t) => `${t.family} ${t.name}`).sort(), ["inet firewalld", "inet kvmgr", "ip filter"]);
    const fwd = rs.chains.find((c) => c.table === "filter" && c.name === "FORWARD");
    assert.equal(fwd?.hook, "forward");
    assert.equal(fwd?.policy, "drop");
    assert.deepEqual(kvmgrChains(rs).sort(), ["fwd-n1", "in-n1", "nat-post-n1", "nat-pre-n1"]);
    const ours = rs.rules.filter((r) => r.comment === "kvmgr:n1");
    assert.equal(ours.length, 1);
    assert.equal(ours[0]?.chain, "FORWARD");
  });
  test("verdicts and unconditional rules", () => {
    const fw = rs.rules.filter((r) => r.table === "firewalld");
    assert.deepEqual(fw.map(ruleVerdict), ["accept", "reject"]);
    assert.deepEqual(fw.map(isUnconditional), [false, true]);
    const jump = rs.rules.find((r) => r.table === "filter" && ruleVerdict(r) === "jump");
    assert.ok(jump);
    assert.equal(isUnconditional(jump), false, "a jump is not a drop");
  });
  test("an empty or missing ruleset parses to nothing", () => {
    assert.deepEqual(parseNftRuleset(""), { tables: [], chains: [], rules: [] });
  });
});

describe("kvmgr's rules per mode", () => {
  const base = { name: "n", bridge: "kvbr0", subnet: "10.0.0.0/24", dhcp: true, tftp: false, uplink: null, forwards: [], inbound: null };
  test("hostonly and internal forward nothing but traffic between their own ports", () => {
    for (const mode of ["hostonly", "internal"] as const) {
      const r = networkRules({ ...base, mode });
      assert.equal(r.fwd?.[0], 'iifname "kvbr0" oifname "kvbr0" accept');
      assert.ok(r.fwd?.slice(1).every((x) => x.includes("reject")), mode);
      assert.equal(r["nat-post"], undefined);
      assert.equal(r.in?.at(-1), 'iifname "kvbr0" drop');
    }
    assert.deepEqual(networkRules({ ...base, mode: "internal" }).in, ['iifname "kvbr0" drop'], "an internal network offers the host nothing");
  });
  test("nat masquerades, routed does not; bridge mode has no rules", () => {
    assert.ok(networkRules({ ...base, mode: "nat" })["nat-post"]?.some((x) => x.endsWith("masquerade")));
    assert.equal(networkRules({ ...base, mode: "routed" })["nat-post"], undefined);
    assert.ok(networkRules({ ...base, mode: "routed" }).fwd?.includes('oifname "kvbr0" ip daddr 10.0.0.0/24 accept'));
    assert.deepEqual(networkRules({ ...base, mode: "bridge" }), {});
  });
  test("TFTP is opened only with PXE, DHCP/DNS only with dnsmasq", () => {
    assert.ok(networkRules({ ...base, mode: "nat", tftp: true }).in?.includes('iifname "kvbr0" udp dport 69 accept'));
    assert.ok(!networkRules({ ...base, mode: "nat" }).in?.some((x) => x.includes("dport 69")));
    assert.ok(!networkRules({ ...base, mode: "hostonly", dhcp: false }).in?.some((x) => x.includes("dport")));
  });
  test("removal deletes every chain of the network whether or not it exists", () => {
    const t = renderNetworkNftRemoval("n");
    for (const c of networkChains("n")) assert.match(t, new RegExp(`add chain inet kvmgr ${c}\\nflush chain inet kvmgr ${c}\\ndelete chain inet kvmgr ${c}`));
    assert.doesNotMatch(t, /delete table/);
  });
});

describe("ip", () => {
  test("routes and addresses of an uplink, as recorded from the lab's eth0", () => {
    const routes = parseMovableRoutes(
      '[{"dst":"default","gateway":"172.16.0.1","flags":[]},{"dst":"172.16.0.0/16","protocol":"kernel","scope":"link","prefsrc":"172.16.31.7","flags":[]},{"dst":"10.9.0.0/24","gateway":"172.16.0.9","protocol":"static","metric":50,"flags":["onlink"]}]',
    );
    assert.deepEqual(routes, [
      { dst: "default", gateway: "172.16.0.1" },
      { dst: "10.9.0.0/24", gateway: "172.16.0.9", metric: 50, protocol: "static", onlink: true },
    ]);
    assert.equal(routeArgs(routes[1]!, "br0"), "10.9.0.0/24 via 172.16.0.9 dev br0 proto static metric 50 onlink");
    const a = parseAddrSpecs(
      '[{"ifname":"eth0","address":"2e:8b:0f:3f:40:75","addr_info":[{"family":"inet","local":"172.16.31.7","prefixlen":16,"broadcast":"172.16.255.255"},{"family":"inet6","local":"fe80::1","prefixlen":64}]}]',
    );
    assert.deepEqual(a, { mac: "2e:8b:0f:3f:40:75", addresses: [{ local: "172.16.31.7", prefixlen: 16, broadcast: "172.16.255.255" }] });
  });
  test("enslaving moves addresses, then routes, onto the bridge; release moves them back", () => {
    const move = { dev: "eth0", bridge: "br0", addresses: [{ local: "172.16.31.7", prefixlen: 16 }], routes: [{ dst: "default", gateway: "172.16.0.1" }] };
    assert.deepEqual(ipLines({ kind: "uplink.enslave", ...move }), [
      "link set eth0 master br0",
      "addr del 172.16.31.7/16 dev eth0",
      "addr replace 172.16.31.7/16 dev br0",
      "link set br0 up",
      "route replace default via 172.16.0.1 dev br0",
    ]);
    assert.deepEqual(ipLines({ kind: "uplink.release", ...move }), [
      "link set eth0 nomaster",
      "addr del 172.16.31.7/16 dev br0",
      "addr replace 172.16.31.7/16 dev eth0",
      "link set eth0 up",
      "route replace default via 172.16.0.1 dev eth0",
    ]);
  });
});

describe("other DHCP servers", () => {
  test("ss output: a wildcard listener serves every bridge, a device-bound one only its own", () => {
    const ls = parseDhcpListeners(
      [
        'UNCONN 0      0      0.0.0.0:67 0.0.0.0:* users:(("dnsmasq",pid=30983,fd=4))',
        'UNCONN 0      0      0.0.0.0%kvbr0:67 0.0.0.0:* users:(("dnsmasq",pid=4,fd=4))',
        "UNCONN 0      0      0.0.0.0%virbr0:67 0.0.0.0:*",
      ].join("\n"),
    );
    assert.deepEqual(ls[0], { address: "0.0.0.0", device: null, process: "dnsmasq", pid: 30983 });
    assert.equal(ls[1]?.device, "kvbr0");
    assert.equal(ls[2]?.pid, null);
    assert.deepEqual(ls.map((l) => servesBridge(l, "kvbr1")), [true, false, false]);
    assert.equal(servesBridge(ls[1], "kvbr0"), true);
  });
});

test("sysctl forwarding lines", () => {
  assert.deepEqual(parseForwarding("net.ipv4.conf.all.forwarding = 0\nnet.ipv4.conf.eth0/100.forwarding = 1\n"), { all: false, "eth0.100": true });
});

test("dnsmasq names VM NICs: reservations keep their address and get the VM's name; one name per VM", async () => {
  const { dhcpHostLines } = await import("../../src/core/render/dnsmasq-conf.js");
  const { validateNetworkCreate } = await import("../../src/core/validate/network.js");
  const spec = validateNetworkCreate(
    { name: "n", mode: "hostonly", subnet: "10.3.0.0/24", dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "10.3.0.50" }, { mac: "52:54:00:00:00:09", ip: "10.3.0.59", hostname: "printer" }] },
    { networks: [], hostLinks: [], hostSubnets: [] },
  );
  const lines = dhcpHostLines(spec, [
    { mac: "52:54:00:00:00:01", name: "vm1" },
    { mac: "52:54:00:00:00:02", name: "vm2" },
    { mac: "52:54:00:00:00:03", name: "vm2" },
  ]);
  assert.deepEqual(lines, ["52:54:00:00:00:01,10.3.0.50,vm1", "52:54:00:00:00:09,10.3.0.59,printer", "52:54:00:00:00:02,vm2"]);
});

describe("port forwards", async () => {
  const { validateForwardAdd, validateForwardRemove } = await import("../../src/core/validate/forward.js");
  const { validateNetworkCreate } = await import("../../src/core/validate/network.js");
  const { KvmgrError } = await import("../../src/api/errors.js");
  const none = { networks: [], hostLinks: [], hostSubnets: [] };
  const nat = validateNetworkCreate({ name: "n", mode: "nat", subnet: "10.0.0.0/24" }, none);
  const ho = validateNetworkCreate({ name: "h", mode: "hostonly", subnet: "10.1.0.0/24" }, none);
  const ctx = { network: nat, networks: [nat], vmsOnNetwork: ["a1"], vmExists: (v: string) => v === "a1" || v === "b1" };
  const refused = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof KvmgrError && re.test(e.message));
  test("tcp by default; refusals name what is wrong", () => {
    assert.deepEqual(validateForwardAdd({ hostPort: 8080, vm: "a1", port: 80 }, ctx), { proto: "tcp", hostPort: 8080, vm: "a1", port: 80 });
    refused(() => validateForwardAdd({ hostPort: 8080, vm: "a1", port: 80 }, { ...ctx, network: ho }), /apply to nat networks/);
    refused(() => validateForwardAdd({ hostPort: 8080, vm: "zz", port: 80 }, ctx), /no VM named 'zz'/);
    refused(() => validateForwardAdd({ hostPort: 8080, vm: "b1", port: 80 }, ctx), /has no NIC on network 'n'/);
    refused(() => validateForwardAdd({ hostPort: 70000, vm: "a1", port: 80 }, ctx), /port must be/);
    const taken = { ...nat, forwards: [{ proto: "tcp" as const, hostPort: 8080, vm: "a1", port: 22 }] };
    refused(() => validateForwardAdd({ hostPort: 8080, vm: "a1", port: 80 }, { ...ctx, networks: [taken] }), /already forwarded to a1:22/);
    assert.equal(validateForwardAdd({ proto: "udp", hostPort: 8080, vm: "a1", port: 80 }, { ...ctx, networks: [taken] }).proto, "udp");
    assert.deepEqual(validateForwardRemove(taken, "tcp", 8080), []);
    refused(() => validateForwardRemove(taken, "udp", 8080), /no port forward of udp\/8080/);
  });
});

test("tcpdump argv: the filter is one element after --, pcap streams unbuffered", async () => {
  const { tcpdumpArgv } = await import("../../src/host/tcpdump.js");
  assert.deepEqual(tcpdumpArgv({ iface: "kvbr0", count: 5, filter: "icmp or (port 67 and $(reboot))", format: "text" }), [
    "tcpdump", "-i", "kvbr0", "-n", "-l", "-c", "5", "--", "icmp or (port 67 and $(reboot))",
  ]);
  assert.deepEqual(tcpdumpArgv({ iface: "vnet0", count: null, filter: null, format: "pcap" }), ["tcpdump", "-i", "vnet0", "-n", "-U", "-w", "-"]);
});

describe("foreign firewalls", async () => {
  const { analyzeForeignFirewall, renderForeignFix, renderForeignRemoval } = await import("../../src/core/plan/firewall-doctor.js");
  const rs = parseNftRuleset(ruleset);
  const nat = { name: "n1", mode: "nat" as const, bridge: "kvbr0", subnet: "10.0.0.0/24", dhcp: true, tftp: false };
  const internal = { name: "iso", mode: "internal" as const, bridge: "kvbr1", subnet: null, dhcp: false, tftp: false };
  test("Docker's FORWARD policy drop and firewalld's final input reject are named, with narrow accepts", () => {
    const f = analyzeForeignFirewall(rs, [nat, internal]);
    const fwd = f.find((x) => x.network === "n1" && x.hook === "forward");
    assert.ok(fwd);
    assert.match(fwd.problem, /^Chain ip filter FORWARD \(hook forward\) drops by default \(policy drop\): forwarded traffic of network n1/);
    assert.deepEqual(fwd.rules, ['iifname "kvbr0" oifname "kvbr0" accept', 'iifname "kvbr0" ip saddr 10.0.0.0/24 accept', 'oifname "kvbr0" ip daddr 10.0.0.0/24 accept']);
    assert.ok(f.every((x) => x.rules.every((r) => !r.includes("ct ") && !r.includes("{"))), "no ct, no sets: iptables-nft can read them");
    assert.equal(fwd.fixed, false, "one kvmgr rule of the three is there");
    const inp = f.find((x) => x.network === "n1" && x.hook === "input");
    assert.match(inp?.problem ?? "", /inet firewalld filter_INPUT \(hook input\) ends with a rule \(handle 3\) that rejects everything/);
    assert.equal(inp?.rules[0], 'iifname "kvbr0" udp dport 67 accept');
    // An internal network has no DHCP (nothing for input), but its ports talk across the bridge.
    assert.deepEqual(f.filter((x) => x.network === "iso").map((x) => x.hook), ["forward"]);
    assert.deepEqual(f.find((x) => x.network === "iso")?.rules, ['iifname "kvbr1" oifname "kvbr1" accept']);
  });
  test("the fix replaces kvmgr's old accepts in one transaction; removal deletes only kvmgr's, by handle", () => {
    const fwd = analyzeForeignFirewall(rs, [nat]).find((x) => x.hook === "forward");
    assert.ok(fwd);
    assert.equal(
      renderForeignFix(rs, fwd),
      [
        "delete rule ip filter FORWARD handle 5",
        'insert rule ip filter FORWARD oifname "kvbr0" ip daddr 10.0.0.0/24 accept comment "kvmgr:n1"',
        'insert rule ip filter FORWARD iifname "kvbr0" ip saddr 10.0.0.0/24 accept comment "kvmgr:n1"',
        'insert rule ip filter FORWARD iifname "kvbr0" oifname "kvbr0" accept comment "kvmgr:n1"',
        "",
      ].join("\n"),
    );
    assert.equal(renderForeignRemoval(rs, "n1"), "delete rule ip filter FORWARD handle 5\n");
    assert.equal(renderForeignRemoval(rs, "other"), "");
  });
  test("a host without foreign drops has no findings", () => {
    const clean = { ...rs, chains: rs.chains.filter((c) => c.table === "kvmgr"), rules: [] };
    assert.deepEqual(analyzeForeignFirewall(clean, [nat]), []);
  });
});

describe("pcap stream", async () => {
  const { PcapReader, summarizeFrame } = await import("../../src/core/model/pcap.js");
  const lo = readFileSync(new URL("../../fixtures/host/lo.pcap", import.meta.url));
  const arp = readFileSync(new URL("../../fixtures/host/arp.pcap", import.meta.url));
  test("packets come out whole however the stream is cut, summarised like tcpdump", () => {
    const r = new PcapReader();
    const got = [];
    // Byte by byte for the first 100 bytes, then the rest at once.
    for (let i = 0; i < 100; i++) got.push(...r.feed(lo.subarray(i, i + 1)));
    got.push(...r.feed(lo.subarray(100)));
    assert.equal(r.linkType, 1);
    assert.equal(got.length, 6);
    const lines = got.map((p) => summarizeFrame(p.raw).info);
    assert.match(lines[0] ?? "", /^127\.0\.0\.1 > 127\.0\.0\.1: ICMP echo request, id \d+, seq 1, length 64$/);
    assert.match(lines[1] ?? "", /ICMP echo reply/);
    assert.match(lines[2] ?? "", /^127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.7000: Flags \[S\], length 0$/);
    assert.match(lines[3] ?? "", /Flags \[S\.\]/);
    assert.match(lines[5] ?? "", /Flags \[F\.\]/);
    assert.ok(got[0]!.time > 1.7e9 && got[0]!.length === 98);
    const a = new PcapReader().feed(arp);
    assert.deepEqual(summarizeFrame(a[0]!.raw), { src: a[0] ? summarizeFrame(a[0].raw).src : "", dst: "ff:ff:ff:ff:ff:ff", proto: "ARP", info: "Request who-has 10.4.0.9 tell 10.4.0.1" });
  });
  test("a stream that is not pcap is refused", () => {
    assert.throws(() => new PcapReader().feed(new TextEncoder().encode("tcpdump: syntax error in filter expression")), /not a pcap stream/);
  });
});
