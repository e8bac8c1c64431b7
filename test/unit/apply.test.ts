import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applySteps } from "../../src/host/apply.js";
import { hostNs } from "../../src/host/netns.js";
import { HostCommandError, RecordingRunner, commandGist, stderrGist } from "../../src/host/runner.js";
import type { HostStep } from "../../src/core/plan/host-step.js";

test("consecutive ip steps go to one `ip -n NS -b -` process", async () => {
  const run = new RecordingRunner();
  const steps: HostStep[] = [
    { kind: "bridge.add", name: "kvbr0" },
    { kind: "addr.add", dev: "kvbr0", cidr: "10.0.0.1/24" },
    { kind: "link.up", dev: "kvbr0" },
  ];
  await applySteps({ run, ns: hostNs("lab") }, steps);
  assert.equal(run.calls.length, 1);
  assert.deepEqual(run.calls[0]?.argv, ["ip", "-n", "lab", "-b", "-"]);
  assert.equal(
    run.calls[0]?.stdin,
    "link add kvbr0 type bridge stp_state 0 forward_delay 0\naddr add 10.0.0.1/24 brd + dev kvbr0\nlink set kvbr0 up\n",
  );
});

test("a failing step rolls back what came before it, and the original error surfaces", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmgr-apply-"));
  try {
    const conf = join(dir, "dnsmasq.conf");
    // dnsmasq fails to start; everything before it must be undone.
    const run = new RecordingRunner((argv) => (argv.includes("dnsmasq") ? { code: 2, stdout: "", stderr: "dnsmasq: failed to bind DHCP server socket: Address in use" } : { code: 0, stdout: "", stderr: "" }));
    const steps: HostStep[] = [
      { kind: "bridge.add", name: "kvbr0" },
      { kind: "link.up", dev: "kvbr0" },
      { kind: "file.write", path: conf, content: "x\n" },
      { kind: "dnsmasq.start", network: "n", confFile: conf, pidFile: join(dir, "pid") },
    ];
    await assert.rejects(applySteps({ run, ns: hostNs("lab") }, steps), /failed to bind DHCP server socket/);
    assert.equal(existsSync(conf), false, "the config file written by the plan is removed");
    const last = run.calls.at(-1);
    assert.deepEqual(last?.argv, ["ip", "-n", "lab", "link", "del", "kvbr0"], "the bridge is deleted last");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the real host runs commands without a namespace wrapper", () => {
  assert.deepEqual(hostNs(null).argv(["nft", "list", "ruleset"]), ["nft", "list", "ruleset"]);
  assert.deepEqual(hostNs("x").argv(["nft", "list", "ruleset"]), ["ip", "netns", "exec", "x", "nft", "list", "ruleset"]);
});

test("a failed host command is told by its program and the line that says what went wrong", () => {
  assert.equal(commandGist(["ip", "netns", "exec", "lab1", "nft", "-f", "-"]), "nft -f");
  assert.equal(commandGist(["ip", "-n", "lab1", "-b", "-"]), "ip -n");
  const nft = "/dev/stdin:2:56-70: Error: invalid priority expression value in this context.\nadd chain inet kvmgr x { type nat hook output priority dstnat; }\n                                                       ^^^^^^^^^^^^^^^\n";
  assert.equal(stderrGist(nft), "/dev/stdin:2:56-70: Error: invalid priority expression value in this context.");
  assert.equal(stderrGist("first\nCannot find device \"kvbr9\"\n"), 'Cannot find device "kvbr9"');
  const e = new HostCommandError(["ip", "netns", "exec", "lab1", "nft", "-f", "-"], { code: 1, stdout: "", stderr: nft });
  assert.equal(e.message, "Host command 'nft -f' failed: /dev/stdin:2:56-70: Error: invalid priority expression value in this context.");
  assert.match(new HostCommandError(["dnsmasq"], { code: 2, stdout: "", stderr: "" }).message, /exit code 2/);
});
