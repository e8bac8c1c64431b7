/** kvmgr daemon … */
import { Command } from "commander";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { invalid } from "../api/errors.js";
import { stateDirOf } from "./context.js";

function parseHttp(s: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(s);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw invalid("http", `--http '${s}' must be ADDR:PORT, e.g. 127.0.0.1:8780.`);
  return { host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port };
}

export function daemonCommand(): Command {
  return new Command("daemon")
    .description("run the kvmgr daemon (in the foreground)")
    .option("--lab [name]", "manage a lab of network namespaces (the default; name kvmgr-lab)")
    .option("--host", "manage the real host's network namespace")
    .option("--http <addr:port>", "also serve the web UI and the API on TCP, with a token")
    .option("--cache-dir <dir>", "where built images live", process.env.KVMGR_CACHE_DIR ?? "/var/cache/kvmgr")
    .action(async (o: { lab?: string | boolean; host?: boolean; http?: string; cacheDir: string }, cmd: Command) => {
      if (o.host && o.lab !== undefined) throw invalid("lab", "--lab and --host exclude each other.");
      const lab = o.host ? null : typeof o.lab === "string" ? o.lab : "kvmgr-lab";
      if (lab !== null && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/.test(lab)) throw invalid("lab", `Lab name '${lab}' must be 1 to 31 letters, digits, '_' or '-'.`);
      const http = o.http ? parseHttp(o.http) : null;
      const stateDir = stateDirOf(cmd);
      const webRoot = fileURLToPath(new URL("../../web/dist", import.meta.url));
      const { runDaemon } = await import("../daemon/main.js");
      const d = await runDaemon({ stateDir, lab, http, cacheDir: o.cacheDir, webRoot });
      process.stdout.write(`kvmgr daemon ready: socket ${stateDir}/kvmgr.sock${lab ? `, lab ${lab}` : ", real host"}\n`);
      if (http) {
        const token = readFileSync(`${stateDir}/token`, "utf8").trim();
        const shown = http.host.includes(":") ? `[${http.host}]` : http.host;
        process.stdout.write(`web UI: http://${shown}:${http.port}/  token: ${token}\n`);
      }
      let closing = false;
      const stop = () => {
        if (closing) return;
        closing = true;
        d.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
}
