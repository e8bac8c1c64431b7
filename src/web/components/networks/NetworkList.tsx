/** Every network: mode, bridge, subnet, state, ports and leases, with start/stop/delete. */
import { Link } from "wouter";
import { useNetworks } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { ActiveBadge, ErrorText, Loading } from "../common.js";
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
          <table className="list" aria-label={t("nets.title")}>
            <thead>
              <tr>
                <th scope="col">{t("nets.col.name")}</th>
                <th scope="col">{t("nets.col.mode")}</th>
                <th scope="col">{t("nets.col.state")}</th>
                <th scope="col">{t("nets.col.bridge")}</th>
                <th scope="col">{t("nets.col.subnet")}</th>
                <th scope="col">{t("nets.col.ports")}</th>
                <th scope="col">{t("nets.col.leases")}</th>
                <th scope="col">{t("nets.col.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {nets.data.map((n) => (
                <tr key={n.name} data-network={n.name}>
                  <th scope="row" data-label={t("nets.col.name")}>
                    <Link href={`/networks/${encodeURIComponent(n.name)}`}>{n.name}</Link>
                  </th>
                  <td data-label={t("nets.col.mode")}>{t(MODE_TEXT[n.mode].name)}</td>
                  <td data-label={t("nets.col.state")}>
                    <ActiveBadge active={n.active} />
                  </td>
                  <td data-label={t("nets.col.bridge")}>
                    <code>{n.bridge}</code>
                  </td>
                  <td data-label={t("nets.col.subnet")}>{n.subnet ?? <span className="muted">—</span>}</td>
                  <td data-label={t("nets.col.ports")}>{n.ports.length}</td>
                  <td data-label={t("nets.col.leases")}>{n.leases.length}</td>
                  <td data-label={t("nets.col.actions")}>
                    <NetworkActions net={n} />
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
