/** The virt-manager main window: every VM with its state, live CPU, memory, addresses, actions. */
import { Link } from "wouter";
import type { Vm } from "../../../api/vm.js";
import { useVms } from "../../api/hooks.js";
import { useVmSeries } from "../../api/events.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText, Loading, Sparkline, StateBadge, formatMiB } from "../common.js";
import { DataTable } from "../DataTable.js";
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
          <DataTable
            rows={vms.data}
            label={t("vms.title")}
            rowKey={(vm) => vm.name}
            rowProps={(vm) => ({ "data-vm": vm.name })}
            columns={[
              {
                label: "vms.col.name",
                rowHeader: true,
                cell: (vm) => <Link href={`/vms/${encodeURIComponent(vm.name)}`}>{vm.name}</Link>,
              },
              { label: "vms.col.state", cell: (vm) => <StateBadge state={vm.state} /> },
              { label: "vms.col.cpu", cell: (vm) => <CpuCell vm={vm} /> },
              { label: "vms.col.memory", cell: (vm) => <MemCell vm={vm} /> },
              {
                label: "vms.col.ips",
                className: "ips",
                cell: (vm) => vm.nics.flatMap((n) => n.ips).join(", ") || <span className="muted">—</span>,
              },
              { label: "vms.col.actions", cell: (vm) => <VmActions vm={vm} compact /> },
            ]}
          />
        </div>
      ) : null}
    </section>
  );
}
