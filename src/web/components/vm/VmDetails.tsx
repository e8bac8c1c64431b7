/** One VM: overview with live graphs, graphical and serial consoles, hardware. */
import { lazy, Suspense } from "react";
import { Link, useLocation, useSearch } from "wouter";
import type { Vm } from "../../../api/vm.js";
import { useApiMutation, useVm } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText, Loading, StateBadge } from "../common.js";
import { VmActions } from "../machines/VmActions.js";
import { Tabs } from "../Tabs.js";
import { Overview } from "./Overview.js";
import { Hardware } from "./Hardware.js";

const VncConsole = lazy(() => import("./VncConsole.js"));
const SerialConsole = lazy(() => import("./SerialConsole.js"));
const SerialLog = lazy(() => import("./SerialLog.js"));

export default function VmDetails({ name, tab }: { name: string; tab: string }) {
  const { t } = useI18n();
  const vm = useVm(name);
  const search = useSearch();
  const installing = new URLSearchParams(search).has("install");
  const base = `/vms/${encodeURIComponent(name)}`;
  return (
    <section>
      <p className="crumbs">
        <Link href="/">{t("vms.title")}</Link> / <span>{name}</span>
      </p>
      {vm.isPending ? <Loading /> : null}
      <ErrorText error={vm.error} />
      {vm.data ? (
        <>
          <div className="page-head">
            <h1>
              {vm.data.name} <StateBadge state={vm.data.state} />
            </h1>
            <VmActions vm={vm.data} />
          </div>
          {installing && vm.data.state === "shutoff" ? <BeginInstall vm={vm.data} /> : null}
          <Tabs
            base={base}
            current={tab}
            label={t("vm.tabs")}
            tabs={[
              { id: "overview", label: t("vm.tab.overview") },
              { id: "console", label: t("vm.tab.console") },
              { id: "serial", label: t("vm.tab.serial") },
              { id: "hardware", label: t("vm.tab.hardware") },
            ]}
          />
          <div role="tabpanel" aria-labelledby={`tab-${tab}`}>
            <Suspense fallback={<Loading />}>
              {tab === "console" ? <NeedsRunning vm={vm.data}>{<VncConsole vm={vm.data} />}</NeedsRunning> : null}
              {tab === "serial" ? (
                <NeedsRunning vm={vm.data} off={<SerialLog vm={vm.data} />}>
                  <SerialConsole vm={vm.data} />
                </NeedsRunning>
              ) : null}
              {tab === "hardware" ? <Hardware vm={vm.data} /> : null}
              {tab !== "console" && tab !== "serial" && tab !== "hardware" ? <Overview vm={vm.data} /> : null}
            </Suspense>
          </div>
        </>
      ) : null}
    </section>
  );
}

/** "Customize configuration before install": the wizard lands here; this starts the install. */
function BeginInstall({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const start = useApiMutation((api, n: string) => api.startVm(n));
  return (
    <div className="card banner" role="region" aria-label={t("wiz.customizeTitle")}>
      <p>{t("wiz.customizeBody")}</p>
      <ErrorText error={start.error} />
      <button type="button" className="primary" disabled={start.isPending} onClick={() => start.mutate(vm.name, { onSuccess: () => navigate(`/vms/${encodeURIComponent(vm.name)}/console`) })}>
        {start.isPending ? t("common.working") : t("wiz.begin")}
      </button>
    </div>
  );
}

/** A console needs a running VM; when it is off, a Start button and `off` (e.g. the serial log) instead. */
function NeedsRunning({ vm, children, off }: { vm: Vm; children: React.ReactNode; off?: React.ReactNode }) {
  const { t } = useI18n();
  const start = useApiMutation((api, n: string) => api.startVm(n));
  if (vm.state === "running" || vm.state === "paused") return <>{children}</>;
  return (
    <>
      <div className="card console-off">
        <p>{t("console.notRunning")}</p>
        <ErrorText error={start.error} />
        <button type="button" className="primary" disabled={start.isPending} onClick={() => start.mutate(vm.name)}>
          {start.isPending ? t("common.working") : t("vm.start")}
        </button>
      </div>
      {off}
    </>
  );
}
