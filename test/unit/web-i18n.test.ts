// The web UI's two catalogues: same keys, no empty or untranslated entries, every schema
// hint of the API translated, and no visible English left as a literal in a component.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { en } from "../../src/web/i18n/en.js";
import { zh } from "../../src/web/i18n/zh.js";
import { hintsZh } from "../../src/web/i18n/hints.js";
import * as apiCommon from "../../src/api/common.js";
import * as apiNetwork from "../../src/api/network.js";
import * as apiVm from "../../src/api/vm.js";
import * as apiHost from "../../src/api/host.js";

const WEB = new URL("../../src/web/", import.meta.url).pathname;

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(f) ? [p] : [];
  });
}

test("both catalogues have the same keys and no empty message", () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries({ ...en })) assert.ok(v.trim(), `en ${k} is empty`);
  for (const [k, v] of Object.entries(zh)) assert.ok(v.trim(), `zh ${k} is empty`);
});

test("Chinese messages are translated (not copies of the English) and keep the placeholders", () => {
  // Words that are the same in both languages: product and protocol names.
  const same = new Set(["NAT", "MAC", "CPU", "dnsmasq", "kvmgr"]);
  for (const [k, v] of Object.entries(en) as [keyof typeof en, string][]) {
    if (!same.has(v)) assert.notEqual(zh[k], v, `zh ${k} is the English text`);
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(ph(zh[k]), ph(v), `zh ${k} has the same {placeholders}`);
  }
});

test("every key used by a component exists", () => {
  const used = new Set<string>();
  for (const f of files(WEB, /\.tsx?$/)) {
    for (const m of readFileSync(f, "utf8").matchAll(/\bt\(\s*"([\w.]+)"/g)) used.add(m[1]!);
  }
  assert.ok(used.size > 50);
  for (const k of used) assert.ok(k in en, `t("${k}") has no message`);
});

function collectHints(x: unknown, out: Set<string>, seen = new Set<unknown>()): void {
  if (x === null || typeof x !== "object" || seen.has(x)) return;
  seen.add(x);
  const h = (x as { errorHint?: unknown }).errorHint;
  if (typeof h === "string") out.add(h);
  for (const v of Object.values(x)) collectHints(v, out, seen);
}

test("every schema hint of the API has a Chinese sentence", () => {
  const hints = new Set<string>();
  for (const mod of [apiCommon, apiNetwork, apiVm, apiHost]) collectHints(Object.values(mod), hints);
  assert.ok(hints.size >= 10, `found ${hints.size} hints`);
  for (const h of hints) assert.ok(hintsZh[h], `no Chinese for the hint "${h}"`);
});

/** Visible text that should come from the catalogue: a phrase, or a word of letters only. */
function looksVisible(s: string): boolean {
  const v = s.trim();
  if (!/[A-Za-z]{2,}|[\u4e00-\u9fff]/.test(v)) return false;
  if (/[\u4e00-\u9fff]/.test(v)) return true;
  // Technical examples (addresses, interface names, paths) carry digits, dots, slashes or colons.
  if (/[\d./:]/.test(v) && !/\s/.test(v)) return false;
  return true;
}

test("no visible literal text in components", () => {
  // Names shown the same in every language: the product, protocols, and each language's own name.
  // Text inside <code> is a command or an identifier, the same in every language.
  const allowed = new Set(["kvmgr", "TCP", "UDP", "English", "简体中文", "dnsmasq"]);
  const problems: string[] = [];
  for (const f of files(WEB, /\.tsx$/)) {
    const rel = f.slice(WEB.length);
    const sf = ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
    const check = (what: string, s: string) => {
      if (looksVisible(s) && !allowed.has(s.trim())) problems.push(`${rel}: ${what} ${JSON.stringify(s.trim())}`);
    };
    const inCode = (n: ts.Node) => {
      const el = n.parent;
      return ts.isJsxElement(el) && el.openingElement.tagName.getText(sf) === "code";
    };
    const visit = (n: ts.Node): void => {
      if (ts.isJsxText(n) && !inCode(n)) check("JSX text", n.text);
      if (ts.isJsxExpression(n) && n.expression && ts.isStringLiteralLike(n.expression) && ts.isJsxElement(n.parent) && !inCode(n)) check("string child", n.expression.text);
      if (ts.isJsxAttribute(n) && /^(placeholder|title|aria-label|alt|label)$/.test(n.name.getText(sf))) {
        const init = n.initializer;
        if (init && ts.isStringLiteral(init)) check(`${n.name.getText(sf)}=`, init.text);
        if (init && ts.isJsxExpression(init) && init.expression && ts.isStringLiteralLike(init.expression)) check(`${n.name.getText(sf)}=`, init.expression.text);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  assert.deepEqual(problems, []);
});
