// The serial log's upkeep: the previous run's log kept as .1, the cap, the tail read at start-up.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capSerialLog, keepPreviousSerialLog, readTail } from "../../src/daemon/services/serial-log.js";

describe("serial log", () => {
  const withDir = (fn: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), "kvmgr-serial-log-"));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("over the cap the log becomes .1 and a writer holding it for appending goes on at its start", () =>
    withDir((dir) => {
      const log = join(dir, "serial.log");
      const fd = openSync(log, "a"); // O_APPEND, as QEMU opens it with logappend=on
      try {
        writeSync(fd, "a".repeat(100));
        assert.equal(capSerialLog(log, 100), false, "at the cap, nothing to do");
        writeSync(fd, "b");
        assert.equal(capSerialLog(log, 100), true);
        assert.equal(readFileSync(`${log}.1`, "utf8"), `${"a".repeat(100)}b`);
        assert.equal(readFileSync(log, "utf8"), "");
        writeSync(fd, "after");
        assert.equal(readFileSync(log, "utf8"), "after", "no hole before the new output");
      } finally {
        closeSync(fd);
      }
      assert.equal(capSerialLog(join(dir, "none.log"), 1), false, "no log, nothing to do");
    }));

  test("a start keeps the previous run's log as .1", () =>
    withDir((dir) => {
      const log = join(dir, "serial.log");
      keepPreviousSerialLog(log);
      assert.equal(existsSync(`${log}.1`), false);
      writeFileSync(log, "run 1");
      keepPreviousSerialLog(log);
      assert.deepEqual([existsSync(log), readFileSync(`${log}.1`, "utf8")], [false, "run 1"]);
    }));

  test("the tail: the last n bytes, the whole of a short file, nothing when there is none", () =>
    withDir((dir) => {
      const log = join(dir, "serial.log");
      writeFileSync(log, "0123456789");
      assert.equal(readTail(log, 4).toString(), "6789");
      assert.equal(readTail(log, 64).toString(), "0123456789");
      assert.equal(readTail(join(dir, "none.log"), 4).length, 0);
    }));
});
