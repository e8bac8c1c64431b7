// VM lifecycle under QMP, in one lab with one test-guest VM: state follows QEMU's events
// (guest power-off, pause, reset), ACPI shutdown with its timeout, a QEMU killed with -9
// shows crashed with its taps gone, edits pending while running, autostart.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { autostartMarker } from "../../src/daemon/reconcile.js";
import type { Vm } from "../../src/api/vm.js";
import { startLabDaemon, until, type LabDaemon } from "../../src/testing/lab.js";
import { SerialConsole, serialPath } from "../../src/testing/serial.js";

function taps(lab: string): string[] {
  const r = spawnSync("ip", ["-n", lab, "-j", "-d", "link", "show"], { encoding: "utf8" });
  const links = JSON.parse(r.stdout || "[]") as { ifname: string; linkinfo?: { info_kind?: string } }[];
  return links.filter((l) => l.linkinfo?.info_kind === "tun").map((l) => l.ifname);
}

describe("VM lifecycle through QMP", () => {
  let d: LabDaemon;
  const show = (name = "vm1") => d.json<Vm>("vm", "show", name);
  const state = async (name = "vm1") => (await show(name)).state;
  /** starts vm1 and returns a serial console with a live shell */
  const boot = async (name = "vm1"): Promise<{ vm: Vm; con: SerialConsole }> => {
    const vm = await d.json<Vm>("vm", "start", name);
    assert.equal(vm.state, "running");
    const con = await SerialConsole.open(serialPath(d.stateDir, name));
    await con.waitForShell();
    return { vm, con };
  };

  /** Stops the daemon and powers the guest off from its serial console, which is then free. */
  const powerOffWhileDaemonAway = async (o: { hard: boolean }) => {
    await d.stopDaemon(o);
    const direct = await SerialConsole.openDirect(serialPath(d.stateDir, "vm1"));
    try {
      direct.send("poweroff");
      await direct.expect(/Power down/);
    } finally {
      direct.close();
    }
  };

  before(async () => {
    d = await startLabDaemon({ prefix: "kvl" });
    await d.ok("net", "create", "n1", "--mode", "hostonly", "--subnet", "10.0.7.0/24");
    await d.ok("net", "start", "n1");
    await d.ok("vm", "create", "vm1", "--image", "test-guest", "--network", "n1", "--disk", "64M");
  });
  after(async () => {
    await d?.close();
  });

  test("a defined VM is edited at once; the guest sees its disk; pause, resume, reboot and reset follow QMP", async () => {
    const edited = await d.json<Vm>("vm", "edit", "vm1", "--memory", "160", "--vcpus", "2");
    assert.equal(edited.memoryMiB, 160);
    assert.equal(edited.vcpus, 2);
    assert.equal(edited.pending, null);
    const { vm, con } = await boot();
    try {
      assert.match(vm.nics[0]?.tap ?? "", /^vnet\d+$/);
      // 64 MiB = 131072 sectors of 512 bytes, on a virtio-blk disk.
      assert.equal((await con.run("cat /sys/block/vda/size")).output, "131072");
      assert.equal((await con.run("grep -c ^processor /proc/cpuinfo")).output, "2");

      assert.equal((await d.json<Vm>("vm", "pause", "vm1")).state, "paused");
      assert.equal(await state(), "paused");
      assert.match((await d.cli("vm", "shutdown", "vm1")).stderr, /is paused/);
      assert.equal((await d.json<Vm>("vm", "resume", "vm1")).state, "running");

      // Edits to a running VM wait for its next start.
      const pending = await d.json<Vm>("vm", "edit", "vm1", "--memory", "192M");
      assert.equal(pending.memoryMiB, 160);
      assert.deepEqual(pending.pending, { memoryMiB: 192 });
      assert.match(await d.ok("vm", "show", "vm1"), /changes apply at next start/);

      // Reboot is the guest's own (power button, off, restarted in the same QEMU); --force the reset button.
      const bootId = async () => (await con.run("cat /proc/sys/kernel/random/boot_id")).output;
      const first = await bootId();
      assert.equal((await d.json<Vm>("vm", "reboot", "vm1")).state, "running");
      await con.expect(/reboot: Power down/); // the guest powered itself down first
      await con.waitForShell();
      const second = await bootId();
      assert.notEqual(second, first, "the guest booted again");
      assert.equal((await d.ok("vm", "reboot", "vm1", "--force")).trim(), "VM vm1 reset.");
      await con.waitForShell();
      assert.notEqual(await bootId(), second, "and again after the reset");
      const v = await show();
      assert.equal(v.state, "running");
      assert.equal(v.pid, vm.pid, "a reboot keeps the same QEMU");
    } finally {
      con.close();
    }
  });

  test("the guest powering itself off shows shutoff and frees its taps", async () => {
    await d.ok("vm", "shutdown", "vm1", "--timeout", "60");
    assert.equal(await state(), "shutoff");
    const { vm, con } = await boot();
    try {
      assert.equal(vm.memoryMiB, 192, "the pending edit applied at this start");
      assert.equal(vm.pending, null);
      assert.equal((await con.run("grep MemTotal /proc/meminfo")).code, 0);
      const tap = vm.nics[0]?.tap ?? "";
      assert.ok(taps(d.lab).includes(tap));
      con.send("poweroff");
      await until("vm1 shut off after the guest's poweroff", 30000, async () => ((await state()) === "shutoff" ? true : undefined), 100);
      assert.ok(!taps(d.lab).includes(tap), "tap removed");
      assert.equal((await show()).pid, null);
    } finally {
      con.close();
    }
  });

  test("a guest that powers off while the daemon is away shows shutoff when it is back", async () => {
    const { vm, con } = await boot();
    con.close();
    await powerOffWhileDaemonAway({ hard: false });
    assert.ok(vm.pid && existsSync(`/proc/${vm.pid}`), "QEMU waits for the daemon (-no-shutdown)");
    await d.startDaemon();
    const v = await show();
    assert.equal(v.state, "shutoff");
    assert.ok(!existsSync(`/proc/${vm.pid}/cmdline`) || !readFileSync(`/proc/${vm.pid}/cmdline`, "utf8").includes(d.stateDir), "QEMU ended");
    assert.deepEqual(taps(d.lab), []);
  });

  test("ACPI shutdown and reboot of a guest that ignores them time out with one sentence; a standing reboot request survives a daemon restart; QEMU killed with -9 shows crashed", async () => {
    const { vm, con } = await boot();
    try {
      // Without its power-button handler the guest ignores the ACPI request.
      assert.equal((await con.run("rm -rf /etc/acpi/PWRF")).code, 0);
    } finally {
      con.close();
    }
    const r = await d.cli("vm", "shutdown", "vm1", "--timeout", "2");
    assert.equal(r.code, 3);
    assert.match(r.stderr, /still running 2 s after the ACPI power-down request.*'kvmgr vm stop vm1' forces it off/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.equal(await state(), "running");
    const rb = await d.cli("vm", "reboot", "vm1", "--timeout", "2");
    assert.equal(rb.code, 3);
    assert.equal(rb.stderr, "kvmgr: VM 'vm1' has not rebooted 2 s after the ACPI power-down request (the guest ignored it or is still shutting down); 'kvmgr vm reboot vm1 --force' resets it at once.\n");
    assert.equal(await state(), "running");

    // The reboot request outlives the daemon: a guest that powers off while the daemon is away
    // is restarted in the same QEMU when the daemon is back (libvirt's fake reboot does the same).
    await powerOffWhileDaemonAway({ hard: true });
    await d.startDaemon();
    const back = await show();
    assert.deepEqual([back.state, back.pid], ["running", vm.pid], "restarted in the same QEMU");
    const again = await SerialConsole.open(serialPath(d.stateDir, "vm1"));
    try {
      await again.waitForShell();
      // A fresh boot has its power-button handler back; ignore it again for the shutdown below.
      assert.equal((await again.run("rm -rf /etc/acpi/PWRF")).code, 0);
    } finally {
      again.close();
    }
    // A shutdown request withdraws a reboot request that is still standing. --timeout 0 asks
    // without waiting (virsh's way); the guest, ignoring the button, runs on.
    assert.equal(await d.ok("vm", "reboot", "vm1", "--timeout", "0"), "VM vm1: asked to reboot (ACPI power button), not waiting; it restarts when its guest has powered off.\n");
    assert.equal(await d.ok("vm", "shutdown", "vm1", "--timeout", "0"), "VM vm1: asked to power off (ACPI power button), not waiting.\n");
    assert.equal(await state(), "running");
    await powerOffWhileDaemonAway({ hard: true });
    await d.startDaemon();
    assert.equal(await state(), "shutoff", "powered off as last asked, not rebooted");
    const { vm: vm2, con: con2 } = await boot();
    con2.close();

    const tap = vm2.nics[0]?.tap ?? "";
    assert.ok(vm2.pid);
    process.kill(vm2.pid, "SIGKILL");
    // Deadlines, not timings: a loaded CI machine may take seconds to run the CLI.
    await until("vm1 crashed", 15000, async () => ((await state()) === "crashed" ? true : undefined), 50);
    await until("tap removed", 15000, () => (taps(d.lab).includes(tap) ? undefined : true), 50);
    // stop clears the crashed state
    assert.equal((await d.json<Vm>("vm", "stop", "vm1")).state, "shutoff");
  });

  test("an autostart VM starts with the first daemon of a host boot", async () => {
    await d.ok("vm", "autostart", "vm1", "on");
    assert.equal((await show()).autostart, true);
    assert.equal(await state(), "shutoff");
    await d.restart();
    assert.equal(await state(), "shutoff", "a daemon restart within the same boot starts nothing");
    // A new host boot is a new boot id: forgetting the recorded one stands in for a reboot.
    rmSync(autostartMarker(join(d.stateDir, "run")));
    await d.restart();
    await until("vm1 autostarted", 10000, async () => ((await state()) === "running" ? true : undefined));
    await d.ok("vm", "autostart", "vm1", "off");
    assert.equal((await show()).autostart, false);
    await d.ok("vm", "stop", "vm1");
    await d.restart();
    assert.equal(await state(), "shutoff", "autostart off: stays off");
    assert.match((await d.cli("vm", "autostart", "vm1", "maybe")).stderr, /'on' or 'off'/);
  });

  test("rename: a VM that is shut off takes another name with its disks, MACs and serial logs; it boots under it", async () => {
    const before = await show();
    const runDir = (vm: string) => join(d.stateDir, "run", "vms", vm);
    assert.ok(existsSync(join(runDir("vm1"), "serial.log")));
    await d.ok("vm", "start", "vm1");
    const running = await d.cli("vm", "rename", "vm1", "vm2");
    assert.deepEqual([running.code, running.stderr], [3, "kvmgr: VM 'vm1' is running; only a VM that is shut off can be renamed.\n"]);
    await d.ok("vm", "stop", "vm1");
    assert.match((await d.cli("vm", "rename", "vm1", "bad/name")).stderr, /Invalid name 'bad\/name'/);
    assert.equal(await d.ok("vm", "rename", "vm1", "vm2"), "VM vm1 renamed to vm2.\n");
    const after = await show("vm2");
    assert.deepEqual([after.disks, after.nics.map((n) => n.mac)], [before.disks, before.nics.map((n) => n.mac)]);
    assert.equal((await d.cli("vm", "show", "vm1")).code, 3);
    assert.ok(existsSync(join(runDir("vm2"), "serial.log")) && !existsSync(runDir("vm1")), "the serial logs moved");
    const { con } = await boot("vm2");
    try {
      assert.equal((await con.run("cat /sys/block/vda/size")).output, "131072", "the same disk");
    } finally {
      con.close();
    }
    await d.ok("vm", "stop", "vm2");
    assert.equal(await d.ok("vm", "rename", "vm2", "vm1"), "VM vm2 renamed to vm1.\n");
  });

  test("delete removes the VM and its disk", async () => {
    const disk = (await show()).disks[0]?.path ?? "";
    assert.ok(disk.startsWith(`${d.stateDir}/disks/`));
    await d.ok("vm", "delete", "vm1");
    assert.equal((await d.cli("vm", "show", "vm1")).code, 3);
    assert.equal(spawnSync("test", ["-e", disk]).status, 1, "disk removed");
    assert.deepEqual(taps(d.lab), []);
  });
});
