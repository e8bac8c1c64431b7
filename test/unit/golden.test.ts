// Golden files for everything kvmgr renders. UPDATE_GOLDEN=1 rewrites them; review the diff.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { NetworkCreate } from "../../src/api/network.js";
import type { VmCreate } from "../../src/api/vm.js";
import { networkRunPaths, planNetworkStart, planNetworkStop, uplinkMoveOf, type UplinkState } from "../../src/core/plan/network-plan.js";
import type { ResolvedForward } from "../../src/core/render/nft-ruleset.js";
import { planVmStart, vmRunPaths } from "../../src/core/plan/vm-plan.js";
import { renderDnsmasqConf } from "../../src/core/render/dnsmasq-conf.js";
import { renderNetworkNft } from "../../src/core/render/nft-ruleset.js";
import { firewallOf } from "../../src/core/plan/network-plan.js";
import { testGuestCmdline } from "../../src/core/render/qemu-argv.js";
import { validateNetworkCreate } from "../../src/core/validate/network.js";
import { validateVmCreate } from "../../src/core/validate/vm.js";

const root = new URL("../../fixtures/", import.meta.url);

function golden(path: URL, actual: string): void {
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, "utf8"), `golden file ${path.pathname} differs (UPDATE_GOLDEN=1 to accept)`);
}

/** The lab's eth0 as `ip -j` shows it, for bridge-mode plans. */
const UPLINK: UplinkState = {
  mac: "5a:11:22:33:44:55",
  addresses: [{ local: "172.16.31.7", prefixlen: 16, broadcast: "172.16.255.255" }],
  routes: [{ dst: "default", gateway: "172.16.0.1" }],
};

describe("network golden files", () => {
  for (const c of readdirSync(new URL("network/", root))) {
    test(c, () => {
      const dir = new URL(`network/${c}/`, root);
      const input = JSON.parse(readFileSync(new URL("spec.json", dir), "utf8")) as NetworkCreate & { forwards?: ResolvedForward[] };
      const { forwards = [], ...create } = input;
      const spec = validateNetworkCreate(create, { networks: [], hostLinks: ["lo", "eth0"], hostSubnets: [] });
      const paths = networkRunPaths("/run/kvmgr", spec.name);
      if (spec.dhcp) golden(new URL("dnsmasq.conf.expected", dir), renderDnsmasqConf(spec, paths, { upstreamDns: false, leaseTime: "1h" }));
      golden(new URL("nft.expected", dir), renderNetworkNft(firewallOf(spec, forwards)));
      const uplink = spec.mode === "bridge" && spec.uplink ? UPLINK : null;
      const plan = {
        start: planNetworkStart({ spec, paths, dns: { upstreamDns: false, leaseTime: "1h" }, uplink, forwards }),
        stop: planNetworkStop(spec, paths, uplinkMoveOf(spec, uplink)),
      };
      golden(new URL("plan.expected.json", dir), JSON.stringify(plan, null, 2) + "\n");
    });
  }
});

describe("vm golden files", () => {
  for (const c of readdirSync(new URL("vm/", root))) {
    test(c, () => {
      const dir = new URL(`vm/${c}/`, root);
      const input = JSON.parse(readFileSync(new URL("spec.json", dir), "utf8")) as VmCreate;
      // Files the fixtures name, as a probe would find them.
      const images = new Map([
        ["/images/root.qcow2", { format: "qcow2", virtualSizeBytes: 1 << 30, allocatedBytes: 1 << 20 }],
        ["/images/data.raw", { format: "raw", virtualSizeBytes: 1 << 30, allocatedBytes: 1 << 30 }],
        ["/images/old.img", { format: "raw", virtualSizeBytes: 1 << 29, allocatedBytes: 1 << 29 }],
        ["/iso/install,1.iso", { format: "raw", virtualSizeBytes: 1 << 20, allocatedBytes: 1 << 20 }],
      ]);
      const { spec } = validateVmCreate(input, { vms: [], networks: ["lab1"], randomBytes: () => new Uint8Array([1, 2, 3]), images });
      const paths = vmRunPaths("/run/kvmgr", spec.name);
      const steps = planVmStart({
        spec,
        accel: "tcg",
        taps: ["vnet0", "vnet1"],
        bridges: ["kvbr0", "kvbr0"],
        paths,
        boot: spec.image ? { kernel: "/cache/vmlinuz", initrd: "/cache/initrd.img", cmdline: testGuestCmdline(spec.name, null) } : { kernel: null, initrd: null, cmdline: null },
      });
      golden(new URL("plan.expected.json", dir), JSON.stringify(steps, null, 2) + "\n");
    });
  }
});
