#!/usr/bin/env node
// Runs the built CLI (dist/, made by `npm run build`); in a checkout without a build, the sources through tsx.
import { existsSync } from "node:fs";

const dist = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
