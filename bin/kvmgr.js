#!/usr/bin/env node
// Runs the built CLI (one bundled file, made by `npm run build`); in a checkout without a build, the sources through tsx.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/cli-bundle/main.js", import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
