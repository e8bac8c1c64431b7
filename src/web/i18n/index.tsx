/** The UI's two languages: a catalogue per language, a context, and `t(key, params)`. */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { en, type MessageKey } from "./en.js";
import { zh } from "./zh.js";
import { hintSentenceEn, hintSentenceZh } from "./hints.js";

export type Lang = "en" | "zh";
export const LANGS: readonly Lang[] = ["en", "zh"];
const catalogues: Record<Lang, Record<MessageKey, string>> = { en, zh };

export type Params = Record<string, string | number>;

/** Replaces `{name}` placeholders; unknown placeholders stay visible so a gap is noticed. */
export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  return format(catalogues[lang][key], params);
}

export type T = (key: MessageKey, params?: Params) => string;

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: T;
  /** the API's one-sentence schema hints (English) in the UI's language */
  hint: (english: string) => string;
}

const Ctx = createContext<I18n | null>(null);
const STORAGE_KEY = "kvmgr.lang";

function initialLang(): Lang {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "zh") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem(STORAGE_KEY, l);
    document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      lang,
      setLang,
      t: (key, params) => translate(lang, key, params),
      hint: (english) => (lang === "zh" ? hintSentenceZh(english) : hintSentenceEn(english)),
    }),
    [lang, setLang],
  );
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
