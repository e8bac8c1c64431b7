/**
 * The QMP client against a real QEMU: no disk, no NIC, TCG, paused at start
 * (-S). Skipped when qemu-system-x86_64 is not installed.
 */
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { QmpMonitor, type QmpDisconnectInfo } from "../../src/host/qemu/qmp-monitor.js";
import { QmpCommands } from "../../src/host/qemu/qmp-commands.js";
import { QmpCommandError, type QmpEvent } from "../../src/host/qemu/qmp-protocol.js";
import { isOurProcessAlive, isProcessAlive } from "../../src/host/proc.js";
import { untilTrue } from "../../src/testing/until.js";

const QEMU = "qemu-system-x86_64";

function qemuAvailable(): boolean {
  const r = spawnSync(QEMU, ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

void test("real QEMU: handshake, status, cont/stop, quit with SHUTDOWN and disconnect", async (t) => {
  if (!qemuAvailable()) {
    t.skip(`${QEMU} not installed`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmgr-qemu-"));
  const sock = path.join(dir, "qmp.sock");
  const pidfile = path.join(dir, "q.pid");
  let pid: number | undefined;
  const mon = new QmpMonitor(sock, { connectTimeoutMs: 10_000, commandTimeoutMs: 10_000 });
  try {
    const started = spawnSync(
      QEMU,
      [
        ...["-accel", "tcg", "-machine", "pc", "-nodefaults", "-display", "none", "-m", "64"],
        ...["-qmp", `unix:${sock},server=on,wait=off`, "-S", "-daemonize", "-pidfile", pidfile],
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(started.status, 0, `qemu failed to start: ${started.stderr}`);
    // -daemonize returns once QEMU is initialised, so the pidfile and socket exist now.
    pid = Number(fs.readFileSync(pidfile, "utf8").trim());
    assert.ok(Number.isInteger(pid) && pid > 0);

    const events: QmpEvent[] = [];
    mon.on("event", (e) => events.push(e));
    const greeting = await mon.connect();
    assert.ok(greeting.QMP.version.qemu.major >= 2);

    const qmp = new QmpCommands(mon);
    assert.deepEqual(await qmp.queryStatus(), { status: "prelaunch", running: false });

    const resumed = mon.waitForEvent("RESUME", { timeoutMs: 10_000 });
    await qmp.cont();
    await resumed;
    assert.deepEqual(await qmp.queryStatus(), { status: "running", running: true });

    const stopped = mon.waitForEvent("STOP", { timeoutMs: 10_000 });
    await qmp.stop();
    await stopped;
    assert.deepEqual(await qmp.queryStatus(), { status: "paused", running: false });

    const cpus = await qmp.queryCpusFast();
    assert.equal(cpus.length, 1);
    const ourPid = pid;
    assert.ok(
      cpus.every((c) => fs.existsSync(`/proc/${ourPid}/task/${c.threadId}`)),
      "vCPU thread ids are threads of our QEMU",
    );
    assert.match(await qmp.humanMonitorCommand("info version"), /\d+\.\d+\.\d+/);
    await assert.rejects(
      mon.execute("no-such-command"),
      (e: unknown) => e instanceof QmpCommandError && e.class === "CommandNotFound",
    );

    const shutdown = mon.waitForEvent("SHUTDOWN", { timeoutMs: 10_000 });
    const disconnected = new Promise<QmpDisconnectInfo>((resolve) => mon.once("disconnect", resolve));
    await qmp.quit();
    assert.equal((await shutdown).data["reason"], "host-qmp-quit");
    const info = await disconnected;
    assert.equal(info.requested, false);
    assert.equal(mon.state, "idle");
    assert.deepEqual(
      events.map((e) => e.event),
      ["RESUME", "STOP", "SHUTDOWN"],
    );
    await untilTrue("QEMU to exit after quit", 10_000, () => !isProcessAlive(ourPid), 20);
  } finally {
    await mon.close();
    if (pid !== undefined && isOurProcessAlive(pid, sock)) {
      process.kill(pid, "SIGKILL");
      const victim = pid;
      await untilTrue("QEMU to die", 5_000, () => !isProcessAlive(victim), 20).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
