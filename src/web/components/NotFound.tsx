import { Link } from "wouter";
import { useI18n } from "../i18n/index.js";

export function NotFound() {
  const { t } = useI18n();
  return (
    <section>
      <h1>{t("notfound.title")}</h1>
      <p>
        <Link href="/">{t("notfound.back")}</Link>
      </p>
    </section>
  );
}
