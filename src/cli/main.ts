/** kvmgr: the command line, a thin client of the daemon's API (docs/cli.md is its contract). */
import { Command, CommanderError } from "commander";
import { KvmgrError, type ErrorCode } from "../api/errors.js";
import { daemonCommand } from "./daemon.js";
import { hostCommand } from "./host.js";
import { labCommand } from "./lab.js";
import { netCommand } from "./net.js";
import { vmCommand } from "./vm.js";
import { osCommand } from "./os.js";

/** Exit codes by error class (docs/errors.md). */
export function exitCodeOf(code: ErrorCode): number {
  if (code === "KVMGR_ERR_INPUT_INVALID") return 2;
  if (code === "KVMGR_ERR_DAEMON_UNREACHABLE") return 4;
  if (code === "KVMGR_ERR_NOT_FOUND" || /^KVMGR_ERR_(NET|VM|DISK|SNAPSHOT)_/.test(code)) return 3;
  return 1;
}

export function buildProgram(): Command {
  const program = new Command("kvmgr")
    .description("manage QEMU/KVM virtual machines and their virtual networks")
    .version("0.1.0")
    .option("--state-dir <dir>", "the daemon's state directory (env KVMGR_STATE_DIR; default /var/lib/kvmgr)")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  for (const c of [daemonCommand(), netCommand(), vmCommand(), osCommand(), hostCommand(), labCommand()]) {
    // Every level (vm snapshot create…) reports errors instead of exiting.
    const override = (x: Command): void => {
      x.exitOverride();
      x.commands.forEach(override);
    };
    override(c);
    program.addCommand(c);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (kvmgr vm list | head) is no error: the rest is not wanted.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not failures; commander has already printed its message.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof KvmgrError) {
      process.stderr.write(`kvmgr: ${e.message}\n`);
      const stderr = e.details?.stderr;
      if (process.env.KVMGR_DEBUG && typeof stderr === "string") process.stderr.write(stderr);
      process.exitCode = exitCodeOf(e.code);
      return;
    }
    process.stderr.write(`kvmgr: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.KVMGR_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
