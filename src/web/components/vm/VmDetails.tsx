/** One VM: overview with live graphs, graphical and serial consoles, hardware. */
import { Link } from "wouter";
import { useVm } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText, Loading, StateBadge } from "../common.js";
import { VmActions } from "../machines/VmActions.js";

export default function VmDetails({ name }: { name: string; tab: string }) {
  const { t } = useI18n();
  const vm = useVm(name);
  return (
    <section>
      <p className="crumbs">
        <Link href="/">{t("vms.title")}</Link> / <span>{name}</span>
      </p>
      {vm.isPending ? <Loading /> : null}
      <ErrorText error={vm.error} />
      {vm.data ? (
        <div className="page-head">
          <h1>
            {vm.data.name} <StateBadge state={vm.data.state} />
          </h1>
          <VmActions vm={vm.data} />
        </div>
      ) : null}
    </section>
  );
}
