/** Login with the daemon's token (STATE_DIR/token, printed by `npm start`). */
import { useState, type FormEvent } from "react";
import { Api, ApiError } from "../api/client.js";
import { useAuth } from "../auth.js";
import { LANGS, useI18n, type Lang } from "../i18n/index.js";
import { Field, fieldAria } from "./common.js";

export function Login() {
  const { t, lang, setLang } = useI18n();
  const { login, expired } = useAuth();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(expired ? t("login.expired") : null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const tok = token.trim();
    if (!tok) return setError(t("login.empty"));
    setBusy(true);
    setError(null);
    try {
      // Check the token before keeping it: the host view is cheap and needs it.
      await new Api({ token: tok }).host();
      login(tok);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t("login.wrong") : err instanceof ApiError ? err.message : t("error.generic"));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" id="main">
      <form onSubmit={(e) => void submit(e)} className="card" aria-labelledby="login-title">
        <h1 id="login-title">kvmgr</h1>
        <p className="muted">{t("login.intro")}</p>
        <Field id="token" label={t("login.token")} error={error} help={t("login.help")}>
          <input {...fieldAria("token", error)} type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        </Field>
        <div className="row spread">
          <select aria-label={t("nav.language")} value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
            {LANGS.map((l) => (
              <option key={l} value={l}>
                {l === "en" ? "English" : "简体中文"}
              </option>
            ))}
          </select>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t("common.working") : t("login.submit")}
          </button>
        </div>
      </form>
    </main>
  );
}
