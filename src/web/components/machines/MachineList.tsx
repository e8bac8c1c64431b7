/** The virt-manager main window: every VM with its state, live CPU, memory, addresses, actions. */
import { Link } from "wouter";
import type { Vm } from "../../../api/vm.js";
import { useVms } from "../../api/hooks.js";
import { useVmSeries } from "../../api/events.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText, Loading, Sparkline, StateBadge, formatMiB } from "../common.js";
import { VmActions } from "./VmActions.js";

function CpuCell({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const series = useVmSeries(vm.name);
  if (vm.state !== "running") return <span className="muted">—</span>;
  return <Sparkline values={series.map((p) => p.cpuPercent)} label={t("vm.cpuUsageOf", { name: vm.name })} />;
}

function MemCell({ vm }: { vm: Vm }) {
  return <span>{formatMiB(vm.memoryMiB)}</span>;
}

export function MachineList() {
  const { t } = useI18n();
  const vms = useVms();
  return (
    <section>
      <div className="page-head">
        <h1>{t("vms.title")}</h1>
        <Link className="button primary" href="/vms/new">
          {t("vms.new")}
        </Link>
      </div>
      {vms.isPending ? <Loading /> : null}
      <ErrorText error={vms.error} />
      {vms.data && vms.data.length === 0 ? <p className="empty">{t("vms.empty")}</p> : null}
      {vms.data && vms.data.length > 0 ? (
        <div className="table-wrap">
          <table className="list" aria-label={t("vms.title")}>
            <thead>
              <tr>
                <th scope="col">{t("vms.col.name")}</th>
                <th scope="col">{t("vms.col.state")}</th>
                <th scope="col">{t("vms.col.cpu")}</th>
                <th scope="col">{t("vms.col.memory")}</th>
                <th scope="col">{t("vms.col.ips")}</th>
                <th scope="col">{t("vms.col.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {vms.data.map((vm) => (
                <tr key={vm.name} data-vm={vm.name}>
                  <th scope="row" data-label={t("vms.col.name")}>
                    <Link href={`/vms/${encodeURIComponent(vm.name)}`}>{vm.name}</Link>
                  </th>
                  <td data-label={t("vms.col.state")}>
                    <StateBadge state={vm.state} />
                  </td>
                  <td data-label={t("vms.col.cpu")}>
                    <CpuCell vm={vm} />
                  </td>
                  <td data-label={t("vms.col.memory")}>
                    <MemCell vm={vm} />
                  </td>
                  <td data-label={t("vms.col.ips")} className="ips">
                    {vm.nics.flatMap((n) => n.ips).join(", ") || <span className="muted">—</span>}
                  </td>
                  <td data-label={t("vms.col.actions")}>
                    <VmActions vm={vm} compact />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
