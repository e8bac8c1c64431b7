/** A VM at a glance: its settings, addresses, and live CPU, memory, disk and network graphs. */
import { lazy, Suspense, useEffect } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import type { Vm } from "../../../api/vm.js";
import { useEvents, useVmSeries } from "../../api/events.js";
import { useApi } from "../../auth.js";
import { useApiMutation } from "../../api/hooks.js";
import { vmMore } from "../../api/extra-types.js";
import { useI18n } from "../../i18n/index.js";
import { AutostartToggle, Loading, formatBytes, formatMiB } from "../common.js";

const Graphs = lazy(() => import("./Graphs.js"));

export function Overview({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const series = useVmSeries(vm.name);
  const more = vmMore(vm);
  const api = useApi();
  const { stats } = useEvents();
  const autostart = useApiMutation((a, on: boolean) => a.editVm(vm.name, { autostart: on }));
  // The daemon keeps ten minutes of samples: the graphs start full, not empty.
  const history = useQuery({ queryKey: ["stats", vm.name, vm.pid], queryFn: () => api.vmStats(vm.name), enabled: vm.state === "running", retry: false, staleTime: Infinity });
  useEffect(() => {
    if (history.data) stats.seed(vm.name, history.data.samples, vm.vcpus);
  }, [history.data, stats, vm.name, vm.vcpus]);
  const last = series[series.length - 1];
  return (
    <div className="grid2">
      <div className="card">
        <h2>{t("vm.summary")}</h2>
        <dl className="props">
          <div>
            <dt>{t("vm.vcpus")}</dt>
            <dd>{vm.vcpus}</dd>
          </div>
          <div>
            <dt>{t("vms.col.memory")}</dt>
            <dd>
              {formatMiB(vm.memoryMiB)}
              {last?.memUsedMiB != null && vm.state === "running" ? <span className="muted"> · {t("vm.qemuRss", { size: formatMiB(last.memUsedMiB) })}</span> : null}
            </dd>
          </div>
          {more.os ? (
            <div>
              <dt>{t("vm.os")}</dt>
              <dd>{more.os}</dd>
            </div>
          ) : null}
          <div>
            <dt>{t("vm.boot")}</dt>
            <dd>{vm.image ? t("vm.bootImage", { image: vm.image }) : vm.kernel ? t("vm.bootKernel") : more.bootOrder.join(" → ") || "—"}</dd>
          </div>
          <div>
            <dt>{t("host.accel")}</dt>
            <dd>
              {vm.accel ? vm.accel.toUpperCase() : "—"} {vm.accelReason ? <span className="muted">{vm.accelReason}</span> : null}
            </dd>
          </div>
          <div>
            <dt>{t("vm.pid")}</dt>
            <dd>{vm.pid ?? "—"}</dd>
          </div>
          <div>
            <dt>{t("net.field.autostart")}</dt>
            <dd>
              <AutostartToggle on={vm.autostart} name={vm.name} save={(on) => autostart.mutateAsync(on)} />
            </dd>
          </div>
        </dl>
      </div>
      <div className="card">
        <h2>{t("vm.nics")}</h2>
        {vm.nics.length === 0 ? <p className="muted">{t("vm.noNics")}</p> : null}
        <ul className="plain" aria-label={t("vm.nics")}>
          {vm.nics.map((n) => (
            <li key={n.mac}>
              <Link href={`/networks/${encodeURIComponent(n.network)}`}>{n.network}</Link> · <code>{n.mac}</code>
              {n.tap ? (
                <>
                  {" · "}
                  <code>{n.tap}</code>
                </>
              ) : null}
              {" · "}
              <strong className="mono">{n.ips.join(", ") || t("vm.noAddress")}</strong>
            </li>
          ))}
        </ul>
        <h2 className="spaced">{t("vm.disks")}</h2>
        {vm.disks.length === 0 ? <p className="muted">{t("vm.noDisks")}</p> : null}
        <ul className="plain">
          {more.disks.map((d) => (
            <li key={d.path}>
              <code>{d.path}</code> · {d.format} · {formatBytes(d.virtualSizeBytes)}
            </li>
          ))}
        </ul>
      </div>
      <div className="card wide">
        <h2>{t("vm.performance")}</h2>
        {vm.state !== "running" ? (
          <p className="muted">{t("vm.graphsOff")}</p>
        ) : series.length < 2 ? (
          <p className="muted">{t("vm.graphsWaiting")}</p>
        ) : (
          <Suspense fallback={<Loading />}>
            <Graphs series={series} />
          </Suspense>
        )}
      </div>
    </div>
  );
}
