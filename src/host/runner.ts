/** Runs host programs from argument arrays (never a shell), with a timeout, optionally in a netns. */
import { spawn } from "node:child_process";
import { KvmgrError } from "../api/errors.js";

export interface RunOptions {
  stdin?: string;
  timeoutMs?: number;
  /** non-zero exit is returned instead of thrown */
  allowFail?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Runner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** A host command failed; its argv and stderr travel in the details. */
/** The program a command line runs, past an `ip netns exec NS` wrapper, with its first argument. */
export function commandGist(argv: readonly string[]): string {
  const inNs = argv[0] === "ip" && argv[1] === "netns" && argv[2] === "exec";
  return argv.slice(inNs ? 4 : 0, inNs ? 6 : 2).join(" ");
}

/** The line of a program's stderr that says what went wrong (nft ends with a caret line). */
export function stderrGist(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !/^[\s^~]+$/.test(l));
  return lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? "";
}

export class HostCommandError extends KvmgrError {
  constructor(argv: readonly string[], result: RunResult | null, cause?: unknown) {
    const what = commandGist(argv);
    const err = result ? stderrGist(result.stderr) || `exit code ${result.code ?? "?"}` : String(cause);
    super("KVMGR_ERR_HOST_COMMAND", `Host command '${what}' failed: ${err}`, {
      details: { argv: [...argv], code: result?.code ?? null, stderr: result?.stderr ?? "" },
      cause,
    });
  }
}

export const processRunner: Runner = {
  run(argv, opts = {}) {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return Promise.reject(new Error("empty argv"));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        stderr += `\n(killed after ${opts.timeoutMs ?? 30000} ms)`;
      }, opts.timeoutMs ?? 30000);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new HostCommandError(argv, null, e));
      });
      // 'close' (not 'exit') so that all output has been read.
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
        if (result.code !== 0 && !opts.allowFail) reject(new HostCommandError(argv, result));
        else resolve(result);
      });
      if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
    });
  },
};

/** A runner that records argv and stdin and executes nothing, for unit tests of adapters. */
export class RecordingRunner implements Runner {
  readonly calls: { argv: string[]; stdin: string | undefined }[] = [];
  constructor(private readonly reply: (argv: readonly string[]) => RunResult = () => ({ code: 0, stdout: "", stderr: "" })) {}
  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], stdin: opts.stdin });
    const r = this.reply(argv);
    if (r.code !== 0 && !opts.allowFail) return Promise.reject(new HostCommandError(argv, r));
    return Promise.resolve(r);
  }
}

/** Wraps a runner to report each command's argv, exit code and duration (debug logging). */
export function timedRunner(inner: Runner, report: (argv: readonly string[], code: number | null, ms: number) => void): Runner {
  return {
    async run(argv, opts) {
      const t0 = performance.now();
      try {
        const r = await inner.run(argv, opts);
        report(argv, r.code, performance.now() - t0);
        return r;
      } catch (e) {
        report(argv, null, performance.now() - t0);
        throw e;
      }
    },
  };
}
