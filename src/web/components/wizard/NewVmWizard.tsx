import { useI18n } from "../../i18n/index.js";

export default function NewVmWizard(_props: object) {
  const { t } = useI18n();
  return <p className="muted">{t("common.notYet")}</p>;
}
