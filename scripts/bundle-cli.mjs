// The CLI as one bundled file: a CLI call spends its time loading modules, and one file loads
// several times faster than ~200. The daemon part stays a separate chunk, loaded by `kvmgr daemon` only.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names carry content hashes: without a clean start old chunks pile up.
rmSync("dist/cli-bundle", { recursive: true, force: true });

await build({
  entryPoints: ["src/cli/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  splitting: true,
  outdir: "dist/cli-bundle",
  // native addon and packages that load files of their own at run time
  external: ["better-sqlite3", "fastify", "pino", "@fastify/*"],
  banner: { js: "import { createRequire as __kvmgrCreateRequire } from 'node:module'; const require = __kvmgrCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
