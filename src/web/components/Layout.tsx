/** The frame: brand, navigation, live-link indicator, language switch, logout. */
import { useEffect, useRef, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { useAuth } from "../auth.js";
import { useEvents } from "../api/events.js";
import { LANGS, useI18n, type Lang } from "../i18n/index.js";
import type { MessageKey } from "../i18n/en.js";

const NAV: { href: string; key: MessageKey; match: RegExp }[] = [
  { href: "/", key: "nav.machines", match: /^\/(vms.*)?$/ },
  { href: "/networks", key: "nav.networks", match: /^\/networks/ },
  { href: "/topology", key: "nav.topology", match: /^\/topology/ },
  { href: "/host", key: "nav.host", match: /^\/host/ },
];

const LANG_NAMES: Record<Lang, string> = { en: "English", zh: "简体中文" };

export function Layout({ children }: { children: ReactNode }) {
  const { t, lang, setLang } = useI18n();
  const { logout } = useAuth();
  const { state } = useEvents();
  const [loc] = useLocation();
  const linkKey: MessageKey = state === "live" ? "link.live" : state === "connecting" ? "link.connecting" : "link.offline";
  const linkTitle: MessageKey = state === "offline" ? "link.offlineTitle" : linkKey;
  // Keyboard and screen-reader users: when the link or button that led to a page went away
  // with the old page, the focus starts again at the top of the new one (not at the document).
  const firstPage = useRef(true);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    if (document.activeElement === null || document.activeElement === document.body) document.getElementById("main")?.focus({ preventScroll: true });
  }, [loc]);
  return (
    <div className="app">
      <a className="skip" href="#main">
        {t("nav.skip")}
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          kvmgr
        </Link>
        <nav aria-label={t("nav.label")}>
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={n.match.test(loc) ? "page" : undefined}>
                  {t(n.key)}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-end">
          <span className={`link-state ${state}`} role="status" title={t(linkTitle)}>
            <span className="dot" aria-hidden="true" />
            <span className="link-label">{t(linkKey)}</span>
          </span>
          <label className="sr-only" htmlFor="lang">
            {t("nav.language")}
          </label>
          <select id="lang" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
            {LANGS.map((l) => (
              <option key={l} value={l}>
                {LANG_NAMES[l]}
              </option>
            ))}
          </select>
          <button type="button" onClick={logout}>
            {t("nav.logout")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
