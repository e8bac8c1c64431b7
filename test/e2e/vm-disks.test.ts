// Disks and install sources, in one lab with few boots: qemu-img images (sparse vs full),
// the free-space refusal, imports in place / as copy / linked, resize, snapshots (offline
// with qemu-img, live with memory), clones, the OS database, CD-ROM and boot order.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OsInfo, Snapshot, Vm } from "../../src/api/vm.js";
import { startLabDaemon, type LabDaemon } from "../../src/testing/lab.js";
import { SerialConsole, serialPath } from "../../src/testing/serial.js";

const MiB = 1024 * 1024;

function qemuImg(...args: string[]): string {
  const r = spawnSync("qemu-img", args, { encoding: "utf8" });
  assert.equal(r.status, 0, `qemu-img ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** qemu-io on an image no QEMU holds: write or check a pattern at offset 0. */
function qemuIo(path: string, cmd: string): boolean {
  const r = spawnSync("qemu-io", ["-f", "qcow2", "-c", cmd, path], { encoding: "utf8" });
  return r.status === 0 && !/Pattern verification failed|error/i.test(r.stdout + r.stderr);
}

describe("disks, snapshots, clones and install sources", () => {
  let d: LabDaemon;
  let tmp: string;
  const show = (name: string) => d.json<Vm>("vm", "show", name);
  const diskFiles = () => readdirSync(join(d.stateDir, "disks")).sort();

  before(async () => {
    d = await startLabDaemon({ prefix: "kvk" });
    tmp = mkdtempSync(join(tmpdir(), "kvmgr-disks-"));
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await d?.close();
  });

  test("sparse and fully allocated qcow2 disks; vm show lists virtual and allocated size", async () => {
    const v = await d.json<Vm>("vm", "create", "sp", "--kernel", "/boot/none", "--disk", "64M", "--disk", "32M,alloc=full,bus=sata");
    assert.equal(v.disks.length, 2);
    const [sparse, full] = v.disks;
    assert.ok(sparse && full);
    assert.equal(sparse.format, "qcow2");
    assert.equal(sparse.virtualSizeBytes, 64 * MiB);
    assert.ok(sparse.allocatedBytes < 2 * MiB, `sparse: ${sparse.allocatedBytes} bytes allocated`);
    assert.equal(full.virtualSizeBytes, 32 * MiB);
    assert.equal(full.bus, "sata");
    assert.ok(full.allocatedBytes >= 32 * MiB, `full: ${full.allocatedBytes} bytes allocated`);
    assert.ok(sparse.path.startsWith(`${d.stateDir}/disks/`) && sparse.owned);
    assert.match(await d.ok("vm", "show", "sp"), /64M\s+\d/);
    await d.ok("vm", "delete", "sp");
    assert.deepEqual(diskFiles(), []);
  });

  test("a disk larger than the free space is refused without --force and nothing changes", async () => {
    const st = statfsSync(join(d.stateDir, "disks"));
    const free = st.bavail * st.bsize;
    const tooBig = `${Math.ceil((free * 2) / 1024 ** 3)}G`;
    const r = await d.cli("vm", "create", "big", "--kernel", "/boot/none", "--disk", tooBig);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /The disk is larger than the free space: .* asked, .* free in .*; nothing was created \(--force creates it anyway\)\./);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.equal((await d.cli("vm", "show", "big")).code, 3, "no VM defined");
    assert.deepEqual(diskFiles(), [], "no file made");
    // Forced, a sparse image that large is made (it takes almost nothing yet).
    const forced = await d.json<Vm>("vm", "create", "big", "--kernel", "/boot/none", "--disk", tooBig, "--force");
    assert.ok((forced.disks[0]?.virtualSizeBytes ?? 0) > free);
    await d.ok("vm", "delete", "big");
  });

  test("import in place, as a copy, or linked; delete keeps what is not kvmgr's; --keep-disks keeps all", async () => {
    const base = join(tmp, "base.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", base, "48M");
    assert.ok(qemuIo(base, "write -P 0x5a 0 64k"));
    const inPlace = await d.json<Vm>("vm", "create", "imp", "--kernel", "/boot/none", "--import", base);
    assert.deepEqual(
      inPlace.disks.map((x) => [x.path, x.format, x.virtualSizeBytes, x.owned]),
      [[base, "qcow2", 48 * MiB, false]],
    );
    const dup = await d.cli("vm", "create", "imp2", "--kernel", "/boot/none", "--import", base);
    assert.match(dup.stderr, /already a disk of VM 'imp'/);
    // No guest writes a text file, nor kvmgr's own database behind a link: refused, nothing made.
    const notes = join(tmp, "notes.txt");
    writeFileSync(notes, "not a disk\n");
    const text = await d.cli("vm", "create", "txt", "--kernel", "/boot/none", "--import", notes);
    assert.match(text.stderr, /is not a disk image: it is raw data of 11 bytes/);
    const dbLink = join(tmp, "db.img");
    symlinkSync(join(d.stateDir, "kvmgr.db"), dbLink);
    const own = await d.cli("vm", "create", "own", "--kernel", "/boot/none", "--import", dbLink);
    assert.match(own.stderr, /belongs to the system or to kvmgr, and a guest never writes there/);
    assert.deepEqual((await d.json<Vm[]>("vm", "list")).map((v) => v.name), ["imp"]);
    const copy = await d.json<Vm>("vm", "create", "cpy", "--kernel", "/boot/none", "--import", base, "--copy");
    const linked = await d.json<Vm>("vm", "create", "lnk", "--kernel", "/boot/none", "--import", base, "--linked");
    assert.notEqual(copy.disks[0]?.path, base);
    assert.equal(copy.disks[0]?.virtualSizeBytes, 48 * MiB);
    assert.equal(linked.disks[0]?.backing, base);
    assert.ok(qemuIo(copy.disks[0]?.path ?? "", "read -P 0x5a 0 64k"), "the copy holds the data");
    assert.ok(qemuIo(linked.disks[0]?.path ?? "", "read -P 0x5a 0 64k"), "the overlay reads through to its base");

    await d.ok("vm", "delete", "imp");
    assert.ok(existsSync(base), "an image imported in place is the user's: it stays");
    await d.ok("vm", "delete", "cpy");
    assert.ok(!existsSync(copy.disks[0]?.path ?? ""), "the copy goes with its VM");
    await d.ok("vm", "delete", "lnk", "--keep-disks");
    assert.ok(existsSync(linked.disks[0]?.path ?? ""), "--keep-disks keeps it");
    rmSync(linked.disks[0]?.path ?? "");
  });

  test("resize grows a stopped VM's disk and refuses to shrink it", async () => {
    await d.ok("vm", "create", "rs", "--kernel", "/boot/none", "--disk", "64M");
    const v = await d.json<Vm>("vm", "disk", "resize", "rs", "96M");
    assert.equal(v.disks[0]?.virtualSizeBytes, 96 * MiB);
    const r = await d.cli("vm", "disk", "resize", "rs", "32M");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /only grows disks/);
    assert.equal((await show("rs")).disks[0]?.virtualSizeBytes, 96 * MiB);
    await d.ok("vm", "delete", "rs");
  });

  test("offline snapshots: create, list, revert, delete (qemu-img, every disk)", async () => {
    const v = await d.json<Vm>("vm", "create", "sn", "--kernel", "/boot/none", "--disk", "16M", "--disk", "16M");
    const [a, b] = v.disks.map((x) => x.path);
    assert.ok(a && b);
    assert.ok(qemuIo(a, "write -P 0x11 0 64k") && qemuIo(b, "write -P 0x22 0 64k"));
    const s = await d.json<Snapshot>("vm", "snapshot", "create", "sn", "before");
    assert.equal(s.name, "before");
    assert.equal(s.vmStateBytes, 0);
    assert.equal((await d.cli("vm", "snapshot", "create", "sn", "before")).code, 3, "names are unique");
    assert.ok(qemuIo(a, "write -P 0x33 0 64k") && qemuIo(b, "write -P 0x44 0 64k"));
    await d.ok("vm", "snapshot", "revert", "sn", "before");
    assert.ok(qemuIo(a, "read -P 0x11 0 64k") && qemuIo(b, "read -P 0x22 0 64k"), "both disks are back");
    assert.deepEqual((await d.json<Snapshot[]>("vm", "snapshot", "list", "sn")).map((x) => x.name), ["before"]);
    await d.ok("vm", "snapshot", "delete", "sn", "before");
    assert.deepEqual(await d.json<Snapshot[]>("vm", "snapshot", "list", "sn"), []);
    assert.equal((await d.cli("vm", "snapshot", "revert", "sn", "before")).code, 3);
    await d.ok("vm", "delete", "sn");
  });

  test("full and linked clones get new MACs and their own disks; a linked clone's base is protected", async () => {
    await d.ok("net", "create", "cn", "--mode", "internal");
    await d.ok("vm", "create", "src", "--image", "test-guest", "--network", "cn", "--disk", "16M");
    const src = await show("src");
    const full = await d.json<Vm>("vm", "clone", "src", "full1");
    const linked = await d.json<Vm>("vm", "clone", "src", "lin1", "--linked");
    for (const c of [full, linked]) {
      assert.equal(c.nics[0]?.network, "cn");
      assert.notEqual(c.nics[0]?.mac, src.nics[0]?.mac);
      assert.notEqual(c.disks[0]?.path, src.disks[0]?.path);
      assert.equal(c.image, "test-guest");
    }
    assert.equal(full.disks[0]?.backing, null);
    assert.equal(linked.disks[0]?.backing, src.disks[0]?.path);
    const start = await d.cli("vm", "start", "src");
    assert.match(start.stderr, /base of the linked clone 'lin1'/);
    assert.match((await d.cli("vm", "delete", "src")).stderr, /base of the linked clone 'lin1'/);
    assert.match((await d.cli("vm", "clone", "nosuch", "x")).stderr, /does not exist/);
    await d.ok("vm", "delete", "lin1");
    await d.ok("vm", "delete", "full1");
    await d.ok("vm", "delete", "src");
    await d.ok("net", "delete", "cn");
    assert.deepEqual(diskFiles(), []);
  });

  test("a running guest sees its disk, grows it live, and a live snapshot restores memory too", async () => {
    await d.ok("vm", "create", "live", "--image", "test-guest", "--disk", "32M");
    await d.ok("vm", "start", "live");
    const con = await SerialConsole.open(serialPath(d.stateDir, "live"));
    try {
      await con.waitForShell();
      assert.equal((await con.run("cat /sys/block/vda/size")).output, String((32 * MiB) / 512));
      await d.ok("vm", "disk", "resize", "live", "48M");
      assert.equal((await con.run("cat /sys/block/vda/size")).output, String((48 * MiB) / 512), "the guest sees the new size at once");

      const snap = await d.json<Snapshot>("vm", "snapshot", "create", "live", "s1");
      assert.ok(snap.vmStateBytes > 0, "a live snapshot holds the memory");
      assert.equal((await con.run("touch /tmp/after-s1 && ls /tmp/after-s1")).code, 0);
      const reverted = await d.json<Vm>("vm", "snapshot", "revert", "live", "s1");
      assert.equal(reverted.state, "running");
      await con.waitForShell(20000);
      assert.notEqual((await con.run("ls /tmp/after-s1")).code, 0, "the file made after the snapshot is gone: memory was restored");
      await d.ok("vm", "snapshot", "delete", "live", "s1");
      assert.deepEqual(await d.json<Snapshot[]>("vm", "snapshot", "list", "live"), []);
    } finally {
      con.close();
    }
    await d.ok("vm", "delete", "live", "--force");
  });

  test("os list from osinfo-db; --os fills in defaults; CD-ROM and boot order reach QEMU", async () => {
    const all = await d.json<OsInfo[]>("os", "list");
    assert.ok(all.length > 100, `${all.length} OSes`);
    const deb = await d.json<OsInfo[]>("os", "list", "--search", "debian 11");
    const d11 = deb.find((o) => o.id === "debian11");
    assert.ok(d11, JSON.stringify(deb.map((o) => o.id)));
    assert.deepEqual([d11.recommended.memoryMiB, d11.nicModel, d11.diskBus], [1024, "virtio", "virtio"]);
    assert.match(await d.ok("os", "list", "--search", "cirros"), /cirros/);

    const iso = join(tmp, "install.iso");
    qemuImg("create", "-q", "-f", "raw", iso, "1M");
    const v = await d.json<Vm>("vm", "create", "inst", "--os", "cirros0.5.2", "--disk", "alloc=sparse", "--cdrom", iso);
    assert.equal(v.os, "cirros0.5.2");
    assert.equal(v.memoryMiB, 128, "the OS's recommended memory");
    assert.equal(v.disks[0]?.virtualSizeBytes, 50 * MiB, "the OS's recommended disk size");
    assert.equal(v.cdrom, iso);
    assert.deepEqual(v.bootOrder, ["cdrom", "disk"]);
    assert.match((await d.cli("vm", "create", "x", "--os", "nosuchos")).stderr, /no OS with the id 'nosuchos'/);

    const e = await d.json<Vm>("vm", "edit", "inst", "--boot", "disk,cdrom", "--memory", "96");
    assert.deepEqual(e.bootOrder, ["disk", "cdrom"]);
    await d.ok("vm", "start", "inst");
    const pid = (await show("inst")).pid ?? 0;
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    assert.ok(argv.some((a) => /^virtio-blk-pci,drive=disk0,id=disk0-dev,bootindex=1$/.test(a)), argv.join(" "));
    assert.ok(argv.some((a) => /^ide-cd,bus=ide.1,unit=0,drive=cd0,id=cdrom0,bootindex=2$/.test(a)), argv.join(" "));
    await d.ok("vm", "stop", "inst");
    const noCd = await d.json<Vm>("vm", "edit", "inst", "--no-cdrom");
    assert.equal(noCd.cdrom, null);
    await d.ok("vm", "delete", "inst");
    assert.deepEqual(diskFiles(), []);
  });
});
