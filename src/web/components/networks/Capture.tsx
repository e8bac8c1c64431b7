import { useI18n } from "../../i18n/index.js";

export default function Capture(_props: { network?: unknown }) {
  const { t } = useI18n();
  return <p className="muted">{t("common.notYet")}</p>;
}
