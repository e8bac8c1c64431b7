// Sums the gzip size of the JavaScript a first visit loads (the entry script and the chunks
// it preloads) and fails above the budget. Lazy chunks (consoles, graphs) are not counted.
// Usage: node scripts/web-size.mjs [DIST] [--budget KB] [--json]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const args = process.argv.slice(2);
const dist = args.find((a) => !a.startsWith("--")) ?? new URL("../web/dist", import.meta.url).pathname;
const budgetKb = Number(args[args.indexOf("--budget") + 1] ?? "") || 500;

const html = readFileSync(join(dist, "index.html"), "utf8");
const urls = new Set();
for (const m of html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)) urls.add(m[1]);
for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) urls.add(m[1]);
for (const m of html.matchAll(/<link[^>]*href="([^"]+)"[^>]*rel="modulepreload"/g)) urls.add(m[1]);
const files = [...urls].filter((u) => u.endsWith(".js")).map((u) => {
  const bytes = readFileSync(join(dist, u.replace(/^\//, "")));
  return { file: u, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const total = files.reduce((s, f) => s + f.gzip, 0);
const result = { files, totalGzipBytes: total, budgetBytes: budgetKb * 1024, ok: files.length > 0 && total <= budgetKb * 1024 };
if (args.includes("--json")) console.log(JSON.stringify(result));
else console.log(`web UI first load: ${(total / 1024).toFixed(1)} KB of JavaScript gzipped in ${files.length} file(s) (budget ${budgetKb} KB)`);
if (!result.ok) {
  console.error(files.length === 0 ? "no entry script found in index.html" : `over the budget of ${budgetKb} KB`);
  process.exit(1);
}
