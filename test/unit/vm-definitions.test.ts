// Pure parts of VM definitions: sizes, osinfo-db parsing (fixture + the real database),
// create/edit validation with disks and OS defaults, pending changes, and the store's
// migration of specs written by an older kvmgr.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { formatSize, parseMemoryMiB, parseSize } from "../../src/core/model/size.js";
import { parseOsinfoXml, searchOs } from "../../src/core/osinfo/osinfo-xml.js";
import { bootIndexes } from "../../src/core/render/qemu-argv.js";
import { specDiff, validateVmCreate, validateVmEdit, type VmContext } from "../../src/core/validate/vm.js";
import { loadOsinfo, OSINFO_DIRS } from "../../src/host/osinfo/osinfo-db.js";
import { openSqliteStore } from "../../src/daemon/store/sqlite-store.js";
import { KvmgrError } from "../../src/api/errors.js";

const FIXTURE = new URL("../../fixtures/osinfo/", import.meta.url).pathname;
const fixtureOs = loadOsinfo([FIXTURE], null, "2024-01-01");

function ctx(extra: Partial<VmContext> = {}): VmContext {
  let n = 0;
  return {
    vms: [],
    networks: ["lab1"],
    randomBytes: () => new Uint8Array([0, 0, ++n]),
    diskDir: "/state/disks",
    takenPaths: new Set(),
    images: new Map(),
    os: (id) => fixtureOs.find((o) => o.id === id || o.aliases.includes(id)) ?? null,
    ...extra,
  };
}

function throwsCode(fn: () => unknown, code: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof KvmgrError && e.code === code && re.test(e.message));
}

describe("sizes", () => {
  test("parse binary units, print them back", () => {
    assert.equal(parseSize("512M"), 512 * 1024 ** 2);
    assert.equal(parseSize("1G"), 1024 ** 3);
    assert.equal(parseSize("1.5GiB"), 1.5 * 1024 ** 3);
    assert.equal(parseSize("10g"), 10 * 1024 ** 3);
    for (const bad of ["10", "G", "-1G", "1X", "1 G B"]) throwsCode(() => parseSize(bad), "KVMGR_ERR_INPUT_INVALID", /number with a unit/);
    assert.equal(formatSize(64 * 1024 ** 2), "64M");
    assert.equal(formatSize(1.5 * 1024 ** 3), "1.5G");
  });

  test("--memory: plain MiB, or a size with a unit that is whole MiB", () => {
    assert.equal(parseMemoryMiB("2048"), 2048);
    assert.equal(parseMemoryMiB("2G"), 2048);
    assert.equal(parseMemoryMiB("512MiB"), 512);
    assert.equal(parseMemoryMiB("1.5G"), 1536);
    throwsCode(() => parseMemoryMiB("1500K"), "KVMGR_ERR_INPUT_INVALID", /not a whole number of MiB/);
    for (const bad of ["lots", "-1", "2X"]) throwsCode(() => parseMemoryMiB(bad), "KVMGR_ERR_INPUT_INVALID", /must be MiB \(e\.g\. 2048\) or a size with a unit/);
  });
});

describe("osinfo-db", () => {
  test("the fixture: short ids, untranslated names, inheritance along derives-from, x86_64 resources first", () => {
    const raw = parseOsinfoXml(readFileSync(join(FIXTURE, "example.org/exampleos-1.xml"), "utf8"));
    assert.equal(raw.length, 1);
    assert.deepEqual(raw[0]?.shortIds, ["exampleos1", "exampleone"]);
    assert.equal(raw[0]?.name, "ExampleOS 1");
    const one = fixtureOs.find((o) => o.id === "exampleos1");
    const two = fixtureOs.find((o) => o.id === "exampleos2");
    const legacy = fixtureOs.find((o) => o.id === "legacyos1");
    assert.deepEqual(one, {
      id: "exampleos1",
      aliases: ["exampleone"],
      name: "ExampleOS 1",
      vendor: "Example Project",
      family: "linux",
      version: "1",
      releaseDate: "2001-01-01",
      eol: true,
      recommended: { memoryMiB: 512, vcpus: 2, diskBytes: 4294967296 },
      nicModel: "virtio",
      diskBus: "virtio",
    });
    // virtio-net inherited, virtio-block withdrawn; resources inherited as a whole
    assert.deepEqual([two?.nicModel, two?.diskBus, two?.recommended.memoryMiB, two?.eol], ["virtio", "ide", 512, false]);
    assert.deepEqual([legacy?.nicModel, legacy?.diskBus, legacy?.recommended.memoryMiB], ["e1000", "ide", null]);
    assert.deepEqual(searchOs(fixtureOs, "example 2").map((o) => o.id), ["exampleos2"]);
    assert.deepEqual(searchOs(fixtureOs, "EXAMPLEONE").map((o) => o.id), ["exampleos1"]);
    assert.equal(searchOs(fixtureOs, "").length, 3);
  });

  test("the real database: Debian 11 is a virtio guest with 1 GiB recommended, Windows 10 is not", { skip: !existsSync(OSINFO_DIRS[0] ?? "") }, () => {
    const dir = mkdtempSync(join(tmpdir(), "kvmgr-osinfo-"));
    try {
      const list = loadOsinfo(OSINFO_DIRS, join(dir, "cache.json"), "2024-01-01");
      const cached = loadOsinfo(OSINFO_DIRS, join(dir, "cache.json"), "2024-01-01");
      assert.deepEqual(cached, list, "the cache gives the same list");
      const deb = list.find((o) => o.id === "debian11");
      assert.deepEqual([deb?.name, deb?.aliases, deb?.recommended.memoryMiB, deb?.nicModel, deb?.diskBus], ["Debian 11", ["debianbullseye"], 1024, "virtio", "virtio"]);
      const win = list.find((o) => o.id === "win10");
      assert.deepEqual([win?.nicModel, win?.diskBus], ["e1000", "ide"]);
      assert.equal(new Set(list.map((o) => o.id)).size, list.length, "ids are unique");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("VM definitions", () => {
  test("--os gives defaults; explicit values win; new disks are planned, imports probed", () => {
    const images = new Map([["/img/base.qcow2", { format: "qcow2", virtualSizeBytes: 1 << 30, allocatedBytes: 5 << 20 }]]);
    const p = validateVmCreate(
      { name: "v", os: "exampleone", nics: [{ network: "lab1" }], disks: [{}, { sizeBytes: 2000000, alloc: "full", bus: "sata" }, { import: "/img/base.qcow2", linked: true }, { import: "/img/base.qcow2", copy: true }] },
      ctx({ images }),
    );
    assert.deepEqual([p.spec.os, p.spec.memoryMiB, p.spec.vcpus, p.spec.nics[0]?.model], ["exampleos1", 512, 2, "virtio"]);
    assert.deepEqual(p.spec.disks.map((d) => [d.path, d.format, d.bus, d.owned, d.backing]), [
      ["/state/disks/v-disk0.qcow2", "qcow2", "virtio", true, null],
      ["/state/disks/v-disk1.qcow2", "qcow2", "sata", true, null],
      ["/state/disks/v-disk2.qcow2", "qcow2", "virtio", true, "/img/base.qcow2"],
      ["/state/disks/v-disk3.qcow2", "qcow2", "virtio", true, null],
    ]);
    assert.deepEqual(p.diskSteps.map((s) => s.kind), ["disk.create", "disk.create", "disk.overlay", "disk.copy"]);
    assert.deepEqual(p.diskSteps[1], { kind: "disk.create", path: "/state/disks/v-disk1.qcow2", sizeBytes: 2000384, prealloc: "full" });
    assert.equal(p.newBytes, 4294967296 + 2000384 + (5 << 20), "new images + the copy's allocated bytes");
    const explicit = validateVmCreate({ name: "w", os: "exampleos1", memoryMiB: 64, vcpus: 1, nics: [{ network: "lab1", model: "e1000" }] }, ctx());
    assert.deepEqual([explicit.spec.memoryMiB, explicit.spec.vcpus, explicit.spec.nics[0]?.model], [64, 1, "e1000"]);
  });

  test("bad disks get one sentence and plan nothing", () => {
    throwsCode(() => validateVmCreate({ name: "v", disks: [{}] }, ctx()), "KVMGR_ERR_INPUT_INVALID", /give a size .* or --os/);
    throwsCode(() => validateVmCreate({ name: "v", disks: [{ import: "/nope.qcow2" }] }, ctx()), "KVMGR_ERR_INPUT_INVALID", /no image file \/nope.qcow2/);
    throwsCode(() => validateVmCreate({ name: "v", os: "nosuch" }, ctx()), "KVMGR_ERR_INPUT_INVALID", /no OS with the id 'nosuch'/);
    throwsCode(() => validateVmCreate({ name: "v", disks: [{ sizeBytes: 100 }] }, ctx()), "KVMGR_ERR_INPUT_INVALID", /between 1M and 64T/);
    const images = new Map([["/a.img", { format: "raw", virtualSizeBytes: 512, allocatedBytes: 512 }]]);
    const vms = [{ name: "other", nics: [], disks: [{ path: "/a.img", format: "raw", bus: "virtio" as const, owned: false, backing: null }] }];
    throwsCode(() => validateVmCreate({ name: "v", disks: [{ import: "/a.img" }] }, ctx({ images, vms })), "KVMGR_ERR_DISK_IN_USE", /already a disk of VM 'other'/);
    throwsCode(() => validateVmCreate({ name: "v", disks: [{ import: "/a.img", copy: true, linked: true }] }, ctx({ images })), "KVMGR_ERR_INPUT_INVALID", /copy or linked, not both/);
    // a text file is no disk, in place or copied; a CD-ROM image may be any size
    const text = new Map([["/home/u/notes.txt", { format: "raw", virtualSizeBytes: 1331, allocatedBytes: 4096 }]]);
    for (const mode of [{}, { copy: true }, { linked: true }]) {
      throwsCode(() => validateVmCreate({ name: "v", disks: [{ import: "/home/u/notes.txt", ...mode }] }, ctx({ images: text })), "KVMGR_ERR_INPUT_INVALID", /not a disk image: it is raw data of 1331 bytes/);
    }
    assert.equal(validateVmCreate({ name: "v", cdrom: "/home/u/notes.txt" }, ctx({ images: text })).spec.cdrom, "/home/u/notes.txt");
    // the system's files and kvmgr's own are never written in place, also through a link; copies and overlays are fine
    const sys = new Map([
      ["/etc/disk.img", { format: "raw", virtualSizeBytes: 512, allocatedBytes: 512 }],
      ["/srv/link.img", { format: "raw", virtualSizeBytes: 512, allocatedBytes: 512, realPath: "/state/kvmgr.db" }],
      ["/state/disks/mine.qcow2", { format: "qcow2", virtualSizeBytes: 512, allocatedBytes: 512 }],
      ["/srv/vm.qcow2", { format: "qcow2", virtualSizeBytes: 512, allocatedBytes: 512, realPath: "/srv/vm.qcow2" }],
    ]);
    const guarded = ctx({ images: sys, protectedDirs: ["/etc", "/state"], inPlaceDirs: ["/state/disks"] });
    throwsCode(() => validateVmCreate({ name: "v", disks: [{ import: "/etc/disk.img" }] }, guarded), "KVMGR_ERR_INPUT_INVALID", /under \/etc, which belongs to the system or to kvmgr.*--copy/);
    throwsCode(() => validateVmCreate({ name: "v", disks: [{ import: "/srv/link.img" }] }, guarded), "KVMGR_ERR_INPUT_INVALID", /\/srv\/link.img is \(\/state\/kvmgr.db\) under \/state/);
    assert.equal(validateVmCreate({ name: "v", disks: [{ import: "/etc/disk.img", copy: true }] }, guarded).spec.disks[0]?.owned, true);
    assert.equal(validateVmCreate({ name: "v", disks: [{ import: "/etc/disk.img", linked: true }] }, guarded).spec.disks[0]?.backing, "/etc/disk.img");
    assert.equal(validateVmCreate({ name: "v", disks: [{ import: "/state/disks/mine.qcow2" }] }, guarded).spec.disks[0]?.path, "/state/disks/mine.qcow2");
    assert.equal(validateVmCreate({ name: "v", disks: [{ import: "/srv/vm.qcow2" }] }, guarded).spec.disks[0]?.owned, false);
    // a file already in the disk directory is never overwritten: the next name is taken
    const p = validateVmCreate({ name: "v", disks: [{ sizeBytes: 1 << 20 }] }, ctx({ takenPaths: new Set(["/state/disks/v-disk0.qcow2"]) }));
    assert.equal(p.spec.disks[0]?.path, "/state/disks/v-disk1.qcow2");
  });

  test("edit: NICs on the same network keep their MAC, disks are added and removed, the diff names what changed", () => {
    const cur = validateVmCreate({ name: "v", nics: [{ network: "lab1" }], disks: [{ sizeBytes: 1 << 20 }, { sizeBytes: 1 << 20 }], kernel: "/k" }, ctx()).spec;
    const e = validateVmEdit(cur, { memoryMiB: 512, nics: [{ network: "lab1" }, { network: "lab1", model: "e1000" }], removeDisks: [0], disks: [{ sizeBytes: 2 << 20 }], cdrom: null }, ctx({ vms: [cur] }));
    assert.equal(e.spec.nics[0]?.mac, cur.nics[0]?.mac);
    assert.notEqual(e.spec.nics[1]?.mac, cur.nics[0]?.mac);
    assert.deepEqual(e.spec.disks.map((d) => d.path), ["/state/disks/v-disk1.qcow2", "/state/disks/v-disk2.qcow2"]);
    assert.deepEqual(Object.keys(specDiff(cur, e.spec) ?? {}).sort(), ["disks", "memoryMiB", "nics"]);
    assert.equal(specDiff(cur, cur), null);
    throwsCode(() => validateVmEdit(cur, { removeDisks: [5] }, ctx()), "KVMGR_ERR_INPUT_INVALID", /has no disk 5/);
    const img = validateVmEdit(cur, { image: "test-guest" }, ctx());
    assert.deepEqual([img.spec.image, img.spec.kernel], ["test-guest", null], "--image replaces --kernel");
  });

  test("boot order becomes bootindex per device kind", () => {
    const images = new Map([["/cd.iso", { format: "raw", virtualSizeBytes: 1, allocatedBytes: 1 }]]);
    const { spec } = validateVmCreate({ name: "v", nics: [{ network: "lab1" }], disks: [{ sizeBytes: 1 << 20 }, { sizeBytes: 1 << 20 }], cdrom: "/cd.iso", bootOrder: ["disk", "network"] }, ctx({ images }));
    assert.deepEqual(bootIndexes(spec), { disk: [1, 2], nic: [3], cdrom: null });
    const dflt = validateVmCreate({ name: "w", cdrom: "/cd.iso" }, ctx({ images })).spec;
    assert.deepEqual(dflt.bootOrder, ["cdrom", "disk"]);
  });
});

describe("store", () => {
  test("a spec stored by schema 1 gets the later fields' defaults; the journal keeps entries until ended", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvmgr-store-"));
    try {
      const path = join(dir, "kvmgr.db");
      const old = new Database(path);
      old.exec(`CREATE TABLE networks (name TEXT PRIMARY KEY, spec TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE vms (name TEXT PRIMARY KEY, spec TEXT NOT NULL, runtime TEXT, crashed INTEGER NOT NULL DEFAULT 0);
        PRAGMA user_version = 1;`);
      old.prepare("INSERT INTO vms (name, spec) VALUES (?, ?)").run("old", JSON.stringify({ name: "old", memoryMiB: 128, vcpus: 1, nics: [], image: "test-guest", kernel: null, initrd: null, cmdline: null, autostart: false }));
      old.close();
      const store = openSqliteStore(path);
      const v = store.getVm("old");
      assert.deepEqual([v?.spec.disks, v?.spec.os, v?.spec.cdrom, v?.spec.bootOrder, v?.pending], [[], null, null, ["disk"], null]);
      const id = store.beginOp("vm.create", "x", { diskSteps: [] });
      assert.deepEqual(store.listOps(), [{ id, kind: "vm.create", vm: "x", data: { diskSteps: [] } }]);
      store.endOp(id);
      assert.deepEqual(store.listOps(), []);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
