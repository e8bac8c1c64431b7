/** The host in one view: the seed's `brctl show`, `ip link`, `iptables -t nat -L`, dnsmasq. */
import { Link } from "wouter";
import { useHost } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText, Loading } from "../common.js";
import { DataTable } from "../DataTable.js";

export function HostPage() {
  const { t } = useI18n();
  const host = useHost();
  const h = host.data;
  return (
    <section>
      <div className="page-head">
        <h1>{t("host.title")}</h1>
      </div>
      {host.isPending ? <Loading /> : null}
      <ErrorText error={host.error} />
      {h ? (
        <div className="grid2">
          <div className="card">
            <h2>{t("host.summary")}</h2>
            <dl className="props">
              <div>
                <dt>{t("host.mode")}</dt>
                <dd>{h.mode === "lab" ? t("host.modeLab", { lab: h.lab ?? "" }) : t("host.modeHost")}</dd>
              </div>
              {h.netns ? (
                <div>
                  <dt>{t("host.netns")}</dt>
                  <dd>
                    <code>{h.netns}</code>
                    {h.lanNetns ? (
                      <>
                        {" · "}
                        {t("host.lan")} <code>{h.lanNetns}</code>
                      </>
                    ) : null}
                  </dd>
                </div>
              ) : null}
              <div>
                <dt>{t("host.accel")}</dt>
                <dd>
                  <strong>{h.accel.toUpperCase()}</strong> <span className="muted">{h.accelReason}</span>
                </dd>
              </div>
              <div>
                <dt>{t("host.ipForward")}</dt>
                <dd>
                  <span className={`badge ${h.ipForward ? "state-running" : "state-shutoff"}`}>{h.ipForward ? t("host.on") : t("host.off")}</span>
                </dd>
              </div>
              <div>
                <dt>{t("host.stateDir")}</dt>
                <dd>
                  <code>{h.stateDir}</code>
                </dd>
              </div>
              <div>
                <dt>{t("host.version")}</dt>
                <dd>{h.version}</dd>
              </div>
            </dl>
          </div>
          <div className="card">
            <h2>
              {t("host.bridges")} <code className="muted cmd">brctl show</code>
            </h2>
            {h.bridges.length === 0 ? (
              <p className="muted">{t("host.noBridges")}</p>
            ) : (
              <DataTable
                rows={h.bridges}
                label={t("host.bridges")}
                variant="small"
                rowKey={(b) => b.name}
                rowProps={(b) => ({ "data-bridge": b.name })}
                columns={[
                  { label: "host.bridge", rowHeader: true, cell: (b) => <code>{b.name}</code> },
                  { label: "host.state", cell: (b) => (b.up ? t("host.up") : t("host.down")) },
                  { label: "host.addresses", cell: (b) => b.addresses.join(", ") || "—" },
                  { label: "host.interfaces", cell: (b) => b.ports.join(", ") || "—" },
                ]}
              />
            )}
          </div>
          <div className="card wide">
            <h2>
              {t("host.links")} <code className="muted cmd">ip link</code>
            </h2>
            <DataTable
              rows={h.links ?? []}
              label={t("host.links")}
              variant="small"
              rowKey={(l) => l.name}
              columns={[
                { label: "host.link", rowHeader: true, cell: (l) => <code>{l.name}</code> },
                { label: "host.kind", cell: (l) => l.kind ?? "—" },
                { label: "host.state", cell: (l) => (l.up ? t("host.up") : t("host.down")) },
                { label: "host.master", cell: (l) => l.master ?? "—" },
                { label: "host.mac", cell: (l) => <code>{l.mac ?? "—"}</code> },
                { label: "host.addresses", cell: (l) => l.addresses.join(", ") || "—" },
              ]}
            />
          </div>
          <div className="card wide">
            <h2>
              {t("host.nft")} <code className="muted cmd">nft list table inet kvmgr</code>
            </h2>
            {h.nftables.trim() ? <pre className="code">{h.nftables}</pre> : <p className="muted">{t("host.noNft")}</p>}
          </div>
          <div className="card">
            <h2>{t("host.dnsmasq")}</h2>
            {h.dnsmasq.length === 0 ? (
              <p className="muted">{t("host.noDnsmasq")}</p>
            ) : (
              <ul className="plain">
                {h.dnsmasq.map((d) => (
                  <li key={d.network}>
                    <Link href={`/networks/${encodeURIComponent(d.network)}`}>{d.network}</Link> — {t("net.dnsmasqPid", { pid: d.pid })}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      ) : null}
    </section>
  );
}
