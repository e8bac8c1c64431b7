// npm run bench: kvmgr's own overhead against the hand-made floor, in a lab it creates and removes.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { KvmgrClient } from "../src/client/client.js";
import { renderDnsmasqConf } from "../src/core/render/dnsmasq-conf.js";
import { renderQemuArgv, testGuestCmdline } from "../src/core/render/qemu-argv.js";
import { networkRunPaths } from "../src/core/plan/network-plan.js";
import { vmRunPaths } from "../src/core/plan/vm-plan.js";
import { validateNetworkCreate } from "../src/core/validate/network.js";
import { SPEC_DEFAULTS, type VmSpec } from "../src/core/validate/vm.js";
import { testGuestPaths } from "../src/daemon/services/vms.js";
import { readPidFile, readProc, terminate } from "../src/host/proc.js";
import { loadOsinfo, OSINFO_DIRS } from "../src/host/osinfo/osinfo-db.js";
import { runCli, startLabDaemon, until } from "../src/testing/lab.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CACHE = process.env.KVMGR_CACHE_DIR ?? "/var/cache/kvmgr";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const mac = (i: number, net: number) => `52:54:00:be:${net.toString(16).padStart(2, "0")}:${i.toString(16).padStart(2, "0")}`;

function hasLease(file: string, m: string): boolean {
  try {
    return readFileSync(file, "utf8").includes(m);
  } catch {
    return false;
  }
}

/** Milliseconds since boot on performance.now()'s clock; /proc's start ticks are 10 ms each. */
const bootOffset = (() => {
  const up = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
  return up - performance.now();
})();
const startedAt = (pidFile: string): number => {
  const pid = readPidFile(pidFile);
  const ticks = pid ? (readProc(pid)?.startTicks ?? 0) : 0;
  return ticks * 10 - bootOffset;
};

/**
 * This machine is itself a VM whose host takes back freed memory (virtio-balloon free page
 * reporting): a QEMU that faults in pages the host has reclaimed spends up to ~300 ms more
 * zeroing them, at random. Touching and freeing 1 GiB just before each timed start gives
 * kvmgr's QEMU and the floor's the same pool of backed pages, so the ratio shows kvmgr.
 */
function warmMemory(): void {
  spawnSync(process.execPath, ["-e", "Buffer.alloc(1 << 30, 1)"], { stdio: "ignore" });
}

function sh(argv: string[], input?: string): void {
  const r = spawnSync(argv[0] ?? "", argv.slice(1), { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
}

async function main(): Promise<void> {
  const d = await startLabDaemon({ prefix: "kvb" });
  const env = { KVMGR_STATE_DIR: d.stateDir };
  const client = new KvmgrClient({ socketPath: `${d.stateDir}/kvmgr.sock` });
  const floorDir = `${d.stateDir}/floor`;
  let floorDnsmasq: number | null = null;
  try {
    // --- net start (kvmgr CLI) ---
    await d.ok("net", "create", "bn", "--mode", "hostonly", "--subnet", "10.9.0.0/24");
    const netStart: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await d.ok("net", "start", "bn");
      netStart.push(performance.now() - t0);
      await d.ok("net", "stop", "bn");
    }
    // --- net start by hand (the floor: one ip batch + dnsmasq) ---
    const floorSpec = validateNetworkCreate({ name: "floor", mode: "hostonly", bridge: "flbr0", subnet: "10.8.0.0/24" }, { networks: [], hostLinks: [], hostSubnets: [] });
    const fp = networkRunPaths(floorDir, "floor");
    mkdirSync(fp.dir, { recursive: true });
    const conf = renderDnsmasqConf(floorSpec, fp, { upstreamDns: false, leaseTime: "1h" });
    const floorNetStart: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      sh(["ip", "-n", d.lab, "-b", "-"], "link add flbr0 type bridge stp_state 0 forward_delay 0\naddr add 10.8.0.1/24 brd + dev flbr0\nlink set flbr0 up\n");
      writeFileSync(fp.confFile, conf);
      sh(["ip", "netns", "exec", d.lab, "dnsmasq", `--conf-file=${fp.confFile}`]);
      floorNetStart.push(performance.now() - t0);
      floorDnsmasq = readPidFile(fp.pidFile);
      if (i < RUNS - 1) {
        if (floorDnsmasq) await terminate(floorDnsmasq, fp.confFile);
        sh(["ip", "-n", d.lab, "link", "del", "flbr0"]);
      }
    }
    await d.ok("net", "start", "bn");

    // --- vm start to lease: kvmgr vs floor, alternating ---
    const kv: number[] = [];
    const floor: number[] = [];
    // Where the time goes: before QEMU's process exists, and from there to the lease.
    const kvPre: number[] = [], kvBoot: number[] = [], flPre: number[] = [], flBoot: number[] = [];
    const bootPaths = testGuestPaths(CACHE);
    const leaseFile = networkRunPaths(`${d.stateDir}/run`, "bn").leaseFile;
    for (let i = 0; i < RUNS; i++) {
      const name = `b${i}`;
      await d.ok("vm", "create", name, "--image", "test-guest", "--network", `bn,mac=${mac(i, 1)}`);
      warmMemory();
      const t0 = performance.now();
      await d.ok("vm", "start", name);
      await until("kvmgr lease", 120000, () => (hasLease(leaseFile, mac(i, 1)) ? true : undefined), 10);
      const tLease = performance.now();
      kv.push(tLease - t0);
      const kvQemu = startedAt(vmRunPaths(`${d.stateDir}/run`, name).pidFile);
      kvPre.push(kvQemu - t0);
      kvBoot.push(tLease - kvQemu);
      const vm = await client.showVm(name);
      await d.ok("vm", "delete", name, "--force");

      // The seed's way: a tap on the bridge and the same qemu command, run directly.
      const spec: VmSpec = { name: `f${i}`, memoryMiB: 128, vcpus: 1, nics: [{ network: "floor", mac: mac(i, 2), model: "virtio" }], image: "test-guest", kernel: null, initrd: null, cmdline: null, autostart: false, ...SPEC_DEFAULTS };
      const paths = vmRunPaths(floorDir, spec.name);
      mkdirSync(paths.dir, { recursive: true });
      const argv = renderQemuArgv({
        spec,
        accel: vm.accel ?? "tcg",
        taps: ["flt0"],
        paths,
        boot: { kernel: bootPaths.kernel, initrd: bootPaths.initrd, cmdline: testGuestCmdline(spec.name, null) },
      });
      warmMemory();
      const t1 = performance.now();
      sh(["ip", "-n", d.lab, "-b", "-"], "tuntap add dev flt0 mode tap\nlink set flt0 master flbr0 up\n");
      sh(["ip", "netns", "exec", d.lab, ...argv]);
      await until("floor lease", 120000, () => (hasLease(fp.leaseFile, mac(i, 2)) ? true : undefined), 10);
      const tFloor = performance.now();
      floor.push(tFloor - t1);
      const flQemu = startedAt(paths.pidFile);
      flPre.push(flQemu - t1);
      flBoot.push(tFloor - flQemu);
      const qpid = readPidFile(paths.pidFile);
      if (qpid) await terminate(qpid, paths.pidFile);
      sh(["ip", "-n", d.lab, "link", "del", "flt0"]);
    }
    await d.ok("net", "stop", "bn");

    // --- vm list with 500 defined VMs ---
    await d.ok("net", "create", "many", "--mode", "internal");
    for (let i = 0; i < 500; i++) await client.createVm({ name: `many${i}`, image: "test-guest", nics: [{ network: "many" }] });
    const list: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = await runCli(["vm", "list"], env);
      list.push(performance.now() - t0);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const listed = (await client.listVms());

    // --- the OS database: first parse, then from its cache file ---
    const osCache = `${floorDir}/osinfo-cache.json`;
    let t = performance.now();
    const osCount = loadOsinfo(OSINFO_DIRS, osCache, "2024-01-01").length;
    const osCold = performance.now() - t;
    t = performance.now();
    loadOsinfo(OSINFO_DIRS, osCache, "2024-01-01");
    const osWarm = performance.now() - t;

    const kvM = median(kv), flM = median(floor);
    console.log(`\nkvmgr benchmark (${RUNS} runs each, medians; guest test-guest, virtio NIC, accel ${process.env.KVMGR_ACCEL ?? "auto"})`);
    console.log(`vm start -> DHCP lease   kvmgr ${fmt(kvM)}   floor ${fmt(flM)}   ratio ${(kvM / flM).toFixed(3)}   (target: ratio <= 1.05, lease < 3000 ms)`);
    console.log(`  runs kvmgr: ${kv.map((v, i) => `${fmt(v)} (${(kvPre[i] ?? 0).toFixed(0)}+${(kvBoot[i] ?? 0).toFixed(0)})`).join(", ")}`);
    console.log(`  runs floor: ${floor.map((v, i) => `${fmt(v)} (${(flPre[i] ?? 0).toFixed(0)}+${(flBoot[i] ?? 0).toFixed(0)})`).join(", ")}`);
    console.log(`  until QEMU runs: kvmgr ${fmt(median(kvPre))}, floor ${fmt(median(flPre))}; QEMU to lease: kvmgr ${fmt(median(kvBoot))}, floor ${fmt(median(flBoot))}`);
    // The same qemu command boots on both sides, so what kvmgr adds is its part before QEMU runs;
    // unlike the ratio, this figure is free of the guest's boot-to-boot noise (±100 ms here).
    const own = median(kvPre) - median(flPre);
    console.log(`  kvmgr's own part: ${fmt(own)} more than the floor before QEMU runs = ${((100 * own) / flM).toFixed(1)} % of the floor's lease time`);
    console.log(`net start                kvmgr CLI ${fmt(median(netStart))}   by hand ${fmt(median(floorNetStart))}   (libvirt net-start 103 ms, by hand 25 ms, measured elsewhere)`);
    console.log(`vm list, ${listed.length} VMs      kvmgr CLI ${fmt(median(list))}   (virsh list --all with 500 domains: 102 ms, measured elsewhere)`);
    console.log(`osinfo-db, ${osCount} OSes    first parse ${fmt(osCold)}   from cache ${fmt(osWarm)}   (loaded once per daemon, on first use)`);
  } finally {
    if (floorDnsmasq) await terminate(floorDnsmasq, networkRunPaths(floorDir, "floor").confFile);
    rmSync(floorDir, { recursive: true, force: true });
    await d.close();
  }
}

await main();
