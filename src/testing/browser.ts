/**
 * Test fixture: Debian's chromium driven by playwright-core (no browser download), with a
 * fresh profile, screenshots under test-results/, and a free TCP port for the daemon's UI.
 */
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.KVMGR_CHROMIUM ?? "/usr/bin/chromium";
const RESULTS = new URL("../../test-results/", import.meta.url).pathname;

/** A TCP port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** saves test-results/<suite>/<NN-name>.png and returns its path */
  shot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(suite: string, opts: { width?: number; height?: number } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "kvmgr-chromium-"));
  // A fresh profile per run: playwright takes it as the persistent context's directory.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    locale: "en-US",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  const dir = join(RESULTS, suite);
  // Only this run's pictures: numbering restarts, so old ones would mislead.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return {
    context,
    page,
    shot: async (name, p = page) => {
      const file = join(dir, `${String(++n).padStart(2, "0")}-${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
