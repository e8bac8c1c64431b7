/** Where the CLI finds its daemon. */
import type { Command } from "commander";
import { KvmgrClient } from "../client/client.js";

export const DEFAULT_STATE_DIR = "/var/lib/kvmgr";

export function stateDirOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals<{ stateDir?: string }>();
  return opts.stateDir ?? process.env.KVMGR_STATE_DIR ?? DEFAULT_STATE_DIR;
}

export function clientOf(cmd: Command): KvmgrClient {
  return new KvmgrClient({ socketPath: `${stateDirOf(cmd)}/kvmgr.sock` });
}

export function wantsJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<{ json?: boolean }>().json === true;
}
