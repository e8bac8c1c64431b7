// Crash safety: the daemon is SIGKILLed at named points of each VM operation
// (KVMGR_TEST_CRASH_AT), started again, and must have finished or rolled back the
// operation: every running QEMU adopted, no orphan tap, QEMU or dnsmasq, disk files and
// definitions as the store says, the operations journal empty, no definition lost.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Vm } from "../../src/api/vm.js";
import { processesUsing, startLabDaemon, type LabDaemon } from "../../src/testing/lab.js";

function taps(lab: string): string[] {
  const r = spawnSync("ip", ["-n", lab, "-j", "-d", "link", "show"], { encoding: "utf8" });
  const links = JSON.parse(r.stdout || "[]") as { ifname: string; linkinfo?: { info_kind?: string } }[];
  return links.filter((l) => l.linkinfo?.info_kind === "tun").map((l) => l.ifname).sort();
}

describe("daemon killed with -9 in the middle of VM operations", () => {
  let d: LabDaemon;
  /** names of the VMs that must exist */
  let expected = new Set<string>();

  /** runs `args` with the daemon set to die at `point`, waits for its death, starts it again */
  const crashAt = async (point: string, ...args: string[]) => {
    await d.restart({ env: { KVMGR_TEST_CRASH_AT: point } });
    const r = await d.cli(...args);
    assert.notEqual(r.code, 0, `the daemon should have died at ${point}`);
    await d.daemonExited();
    const recovered = () => d.daemonLog().split("interrupted by the daemon's end").length;
    const before = recovered();
    await d.startDaemon();
    assert.equal(recovered(), before + 1, `the restarted daemon found the operation open at ${point}`);
  };

  const invariants = async (what: string) => {
    const vms = await d.json<Vm[]>("vm", "list");
    assert.deepEqual(vms.map((v) => v.name).sort(), [...expected].sort(), `${what}: every definition, no more`);
    const running = vms.filter((v) => v.state === "running");
    for (const v of vms) assert.notEqual(v.state, "crashed", `${what}: ${v.name} is not shown crashed`);
    // every running QEMU is one of the store's, alive, with its taps; nothing else runs
    const procs = processesUsing(d.stateDir);
    const qemus = procs.filter((p) => p.cmd.includes("qemu-system")).map((p) => p.pid).sort();
    assert.deepEqual(qemus, running.map((v) => v.pid ?? 0).sort(), `${what}: QEMU processes = running VMs`);
    assert.equal(procs.filter((p) => p.cmd.includes("dnsmasq")).length, 1, `${what}: one dnsmasq (the network's)`);
    assert.deepEqual(taps(d.lab), running.flatMap((v) => v.nics.map((n) => n.tap ?? "?")).sort(), `${what}: taps = running VMs' NICs`);
    // disk files = the disks of the definitions
    const files = readdirSync(join(d.stateDir, "disks")).map((f) => join(d.stateDir, "disks", f)).sort();
    assert.deepEqual(files, vms.flatMap((v) => v.disks.map((x) => x.path)).sort(), `${what}: disk files = defined disks`);
    const db = new Database(join(d.stateDir, "kvmgr.db"), { readonly: true });
    try {
      assert.deepEqual(db.prepare("SELECT kind, vm FROM operations").all(), [], `${what}: journal empty`);
    } finally {
      db.close();
    }
  };

  before(async () => {
    d = await startLabDaemon({ prefix: "kvc" });
    await d.ok("net", "create", "n1", "--mode", "hostonly", "--subnet", "10.0.9.0/24");
    await d.ok("net", "start", "n1");
    await d.ok("vm", "create", "src", "--image", "test-guest", "--network", "n1", "--disk", "16M");
    await d.ok("vm", "create", "e1", "--image", "test-guest");
    expected = new Set(["src", "e1"]);
  });
  after(async () => {
    await d?.close();
  });

  test("create, edit and clone roll back: no half-made disk, no half-made definition", async () => {
    await crashAt("vm.create:after-disks", "vm", "create", "c1", "--image", "test-guest", "--network", "n1", "--disk", "16M");
    await invariants("create after disks");
    await crashAt("vm.edit:after-disks", "vm", "edit", "e1", "--disk", "16M");
    await invariants("edit after disks");
    assert.deepEqual((await d.json<Vm>("vm", "show", "e1")).disks, []);
    await crashAt("vm.clone:after-disks", "vm", "clone", "src", "k1");
    await invariants("clone after disks");
    // and the same operations still work afterwards
    await d.ok("vm", "clone", "src", "k1", "--linked");
    expected.add("k1");
    await invariants("clone after recovery");
  });

  test("start rolls back before QEMU runs and finishes once it does; stop finishes", async () => {
    await crashAt("vm.start:after-taps", "vm", "start", "e1");
    await invariants("start after taps");
    assert.equal((await d.json<Vm>("vm", "show", "e1")).state, "shutoff");

    await crashAt("vm.start:after-qemu", "vm", "start", "e1");
    await invariants("start after qemu");
    const started = await d.json<Vm>("vm", "show", "e1");
    assert.equal(started.state, "running", "the started QEMU was adopted");
    assert.ok(started.pid && existsSync(`/proc/${started.pid}`));

    await crashAt("vm.stop:after-qemu", "vm", "stop", "e1");
    await invariants("stop after qemu");
    assert.equal((await d.json<Vm>("vm", "show", "e1")).state, "shutoff", "a requested stop is not a crash");
  });

  test("offline snapshots are made whole on every disk: a create undone, a delete completed", async () => {
    await d.ok("vm", "create", "sv", "--image", "test-guest", "--disk", "16M", "--disk", "16M");
    expected.add("sv");
    const snaps = () => d.json<{ name: string }[]>("vm", "snapshot", "list", "sv");
    const disks = (await d.json<Vm>("vm", "show", "sv")).disks.map((x) => x.path);
    const tags = (p: string) => JSON.parse(spawnSync("qemu-img", ["info", "-U", "--output=json", p], { encoding: "utf8" }).stdout).snapshots?.length ?? 0;
    await crashAt("vm.snapshot-create:after-first-disk", "vm", "snapshot", "create", "sv", "s1");
    await invariants("snapshot create after first disk");
    assert.deepEqual(await snaps(), []);
    assert.deepEqual(disks.map(tags), [0, 0], "no disk keeps half a snapshot");
    await d.ok("vm", "snapshot", "create", "sv", "s1");
    assert.deepEqual(disks.map(tags), [1, 1]);
    await crashAt("vm.snapshot-delete:after-first-disk", "vm", "snapshot", "delete", "sv", "s1");
    await invariants("snapshot delete after first disk");
    assert.deepEqual(disks.map(tags), [0, 0], "the delete was completed");
    await d.ok("vm", "delete", "sv");
    expected.delete("sv");
  });

  test("delete finishes: the VM, its QEMU, taps and disks are gone", async () => {
    await d.ok("vm", "start", "e1");
    expected.delete("e1");
    await crashAt("vm.delete:after-stop", "vm", "delete", "e1", "--force");
    await invariants("delete after stop");

    await d.ok("vm", "delete", "k1");
    expected.delete("k1");
    await crashAt("vm.delete:after-disks", "vm", "delete", "src");
    expected.delete("src");
    await invariants("delete after disks");
    assert.deepEqual(readdirSync(join(d.stateDir, "disks")), []);
  });
});
