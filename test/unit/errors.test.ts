import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ERROR_CODES } from "../../src/api/errors.js";

test("docs/errors.md lists exactly the codes of the catalogue, with their HTTP status", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const rows = [...doc.matchAll(/^\| `(KVMGR_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(Object.fromEntries(rows), { ...ERROR_CODES });
});
