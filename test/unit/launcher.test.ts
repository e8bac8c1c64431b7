// The `kvmgr` launcher: found through a symlink (npm link, npx), and never making Node load
// NODE_EXTRA_CA_CERTS, which the CLI has no use for and which costs every call 36 ms here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KVMGR_BIN } from "../../src/testing/lab.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

test("the launcher runs the CLI through a symlink and drops NODE_EXTRA_CA_CERTS", () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmgr-launcher-"));
  try {
    const link = join(dir, "kvmgr");
    symlinkSync(KVMGR_BIN, link);
    // Node warns on stderr when it is handed a CA file it cannot load: the variable reached it.
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "missing.pem") };
    const direct = spawnSync(process.execPath, ["-e", "0"], { env, encoding: "utf8" });
    assert.match(direct.stderr, /extra certs/, "this Node reads NODE_EXTRA_CA_CERTS at start-up");
    const r = spawnSync(link, ["--version"], { env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    assert.equal(r.stderr, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a reader that stops early (kvmgr … | head) ends the CLI quietly, with no EPIPE trace", async () => {
  const child = spawn(KVMGR_BIN, ["vm", "--help"], { stdio: ["ignore", "pipe", "pipe"] });
  // Closed before Node has started: every write of the CLI meets a broken pipe.
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  assert.equal(stderr, "");
  assert.equal(code, 0);
});
