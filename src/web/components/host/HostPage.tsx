/** The host in one view: the seed's `brctl show`, `ip link`, `iptables -t nat -L`, dnsmasq. */
import { Link } from "wouter";
import { useHost } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText, Loading } from "../common.js";

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
              <table className="list small" aria-label={t("host.bridges")}>
                <thead>
                  <tr>
                    <th scope="col">{t("host.bridge")}</th>
                    <th scope="col">{t("host.state")}</th>
                    <th scope="col">{t("host.addresses")}</th>
                    <th scope="col">{t("host.interfaces")}</th>
                  </tr>
                </thead>
                <tbody>
                  {h.bridges.map((b) => (
                    <tr key={b.name} data-bridge={b.name}>
                      <th scope="row" data-label={t("host.bridge")}>
                        <code>{b.name}</code>
                      </th>
                      <td data-label={t("host.state")}>{b.up ? t("host.up") : t("host.down")}</td>
                      <td data-label={t("host.addresses")}>{b.addresses.join(", ") || "—"}</td>
                      <td data-label={t("host.interfaces")}>{b.ports.join(", ") || "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
          <div className="card wide">
            <h2>
              {t("host.links")} <code className="muted cmd">ip link</code>
            </h2>
            <table className="list small" aria-label={t("host.links")}>
              <thead>
                <tr>
                  <th scope="col">{t("host.link")}</th>
                  <th scope="col">{t("host.kind")}</th>
                  <th scope="col">{t("host.state")}</th>
                  <th scope="col">{t("host.master")}</th>
                  <th scope="col">{t("host.mac")}</th>
                  <th scope="col">{t("host.addresses")}</th>
                </tr>
              </thead>
              <tbody>
                {(h.links ?? []).map((l) => (
                  <tr key={l.name}>
                    <th scope="row" data-label={t("host.link")}>
                      <code>{l.name}</code>
                    </th>
                    <td data-label={t("host.kind")}>{l.kind ?? "—"}</td>
                    <td data-label={t("host.state")}>{l.up ? t("host.up") : t("host.down")}</td>
                    <td data-label={t("host.master")}>{l.master ?? "—"}</td>
                    <td data-label={t("host.mac")}>
                      <code>{l.mac ?? "—"}</code>
                    </td>
                    <td data-label={t("host.addresses")}>{l.addresses.join(", ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
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
