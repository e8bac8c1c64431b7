/** Every network: mode, bridge, subnet, state, ports and leases, with start/stop/delete. */
import { Link } from "wouter";
import { useNetworks } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { ActiveBadge, ErrorText, Loading } from "../common.js";
import { DataTable } from "../DataTable.js";
import { MODE_TEXT } from "./modes.js";
import { NetworkActions } from "./NetworkActions.js";

export function NetworkList() {
  const { t } = useI18n();
  const nets = useNetworks();
  return (
    <section>
      <div className="page-head">
        <h1>{t("nets.title")}</h1>
        <Link className="button primary" href="/networks/new">
          {t("nets.new")}
        </Link>
      </div>
      {nets.isPending ? <Loading /> : null}
      <ErrorText error={nets.error} />
      {nets.data && nets.data.length === 0 ? <p className="empty">{t("nets.empty")}</p> : null}
      {nets.data && nets.data.length > 0 ? (
        <div className="table-wrap">
          <DataTable
            rows={nets.data}
            label={t("nets.title")}
            rowKey={(n) => n.name}
            rowProps={(n) => ({ "data-network": n.name })}
            columns={[
              {
                label: "nets.col.name",
                rowHeader: true,
                cell: (n) => <Link href={`/networks/${encodeURIComponent(n.name)}`}>{n.name}</Link>,
              },
              { label: "nets.col.mode", cell: (n) => t(MODE_TEXT[n.mode].name) },
              { label: "nets.col.state", cell: (n) => <ActiveBadge active={n.active} /> },
              { label: "nets.col.bridge", cell: (n) => <code>{n.bridge}</code> },
              { label: "nets.col.subnet", cell: (n) => n.subnet ?? <span className="muted">—</span> },
              { label: "nets.col.ports", cell: (n) => n.ports.length },
              { label: "nets.col.leases", cell: (n) => n.leases.length },
              { label: "nets.col.actions", cell: (n) => <NetworkActions net={n} /> },
            ]}
          />
        </div>
      ) : null}
    </section>
  );
}
