/** kvmgr host … : the managed host (lab or real). */
import { spawn } from "node:child_process";
import { Command } from "commander";
import { clientOf, wantsJson } from "./context.js";
import { formatBytes, printJson, printTable } from "./format.js";

export function hostCommand(): Command {
  const host = new Command("host").description("the managed host (lab or real)");

  host
    .command("exec")
    .description("run a command in the managed host namespace (--lan: the lab's LAN namespace)")
    .option("--lan", "in the lab's LAN namespace")
    .argument("<cmd...>", "command and arguments (after --)")
    .action(async (argv: string[], o: { lan?: boolean }, cmd: Command) => {
      const info = await clientOf(cmd).host();
      const ns = o.lan ? info.lanNetns : info.netns;
      if (o.lan && ns === null) throw new Error("--lan needs a daemon that manages a lab.");
      const full = ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(full[0] ?? "", full.slice(1), { stdio: "inherit" });
        child.on("error", reject);
        child.on("exit", (c, sig) => resolve(c ?? (sig ? 128 : 1)));
      });
      process.exitCode = code;
    });

  host
    .command("show")
    .description("bridges and ports, forwarding, kvmgr's firewall, dnsmasq instances")
    .option("--json", "print JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const h = await clientOf(cmd).host();
      if (wantsJson(cmd)) return printJson(h);
      process.stdout.write(`managing: ${h.mode === "lab" ? `lab ${h.lab} (netns ${h.netns}, LAN ${h.lanNetns})` : "the real host"}\n`);
      process.stdout.write(`accel:    ${h.accel} — ${h.accelReason}\nip_forward: ${h.ipForward ? "on" : "off"}\n`);
      process.stdout.write(`disks:    ${h.storage.dir}, ${formatBytes(h.storage.freeBytes)} free of ${formatBytes(h.storage.totalBytes)}\n`);
      printTable(["BRIDGE", "UP", "ADDRESSES", "PORTS"], h.bridges.map((b) => [b.name, b.up ? "yes" : "no", b.addresses.join(",") || "-", b.ports.join(",") || "-"]));
      const fwdOn = Object.entries(h.forwarding).filter(([, on]) => on).map(([i]) => i);
      process.stdout.write(`forwarding on: ${fwdOn.join(", ") || "none"}\n`);
      printTable(["DNSMASQ NETWORK", "PID"], h.dnsmasq.map((d) => [d.network, String(d.pid)]));
      if (h.nftables) process.stdout.write(h.nftables);
    });

  host
    .command("doctor")
    .description("what on this host stops kvmgr's networks from working (other firewalls, lost pieces, forwarding), and the fix")
    .option("--fix", "apply the fixes kvmgr can make")
    .option("--json", "print JSON")
    .action(async (o: { fix?: boolean }, cmd: Command) => {
      const r = await clientOf(cmd).doctor(o.fix === true);
      if (wantsJson(cmd)) printJson(r);
      else if (r.findings.length === 0) process.stdout.write("Nothing on this host stops kvmgr's networks.\n");
      else {
        for (const f of r.findings) {
          const tag = f.status === "fixed" ? (f.applied ? "FIXED NOW" : "handled") : f.status === "open" ? "OPEN" : "MANUAL";
          process.stdout.write(`[${tag}] ${f.problem}\n    fix: ${f.fix}\n`);
        }
        if (!r.healthy && o.fix !== true) process.stdout.write("Run 'kvmgr host doctor --fix' to apply the fixes kvmgr can make.\n");
      }
      if (!r.healthy) process.exitCode = 1;
    });

  return host;
}
