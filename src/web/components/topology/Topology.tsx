/**
 * A picture of the host that follows it live: the uplink, each network's bridge, the VMs and
 * their NICs, and how traffic leaves (NAT masquerade, routing, or the bridged uplink).
 */
import { Link, useLocation } from "wouter";
import { useHost, useNetworks, useVms } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import type { MessageKey } from "../../i18n/en.js";
import { ErrorText, Loading, STATE_KEYS } from "../common.js";
import { MODE_TEXT } from "../networks/modes.js";
import { layoutTopology } from "./layout.js";

/** A picture wider than the screen (a phone) opens on its middle, where the uplink is. */
function centre(el: HTMLDivElement | null): void {
  if (el && el.dataset.centred !== "1") {
    el.scrollLeft = (el.scrollWidth - el.clientWidth) / 2;
    el.dataset.centred = "1";
  }
}

const EDGE_KEYS: Record<"nat" | "routed" | "bridge", MessageKey> = { nat: "topo.nat", routed: "topo.routed", bridge: "topo.bridged" };

export default function Topology() {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const host = useHost();
  const nets = useNetworks();
  const vms = useVms();
  if (host.isPending || nets.isPending || vms.isPending) return <Loading />;
  const err = host.error ?? nets.error ?? vms.error;
  if (err) return <ErrorText error={err} />;
  const topo = layoutTopology(host.data, nets.data ?? [], vms.data ?? []);
  const summary = t("topo.summary", { bridges: topo.bridges.length, vms: topo.vms.length, nics: topo.nics.length });
  return (
    <section>
      <div className="page-head">
        <h1>{t("topo.title")}</h1>
      </div>
      <p className="muted">{t("topo.intro")}</p>
      <div className="card topo-wrap" ref={centre}>
        <svg className="topology" viewBox={`0 0 ${topo.width} ${topo.height}`} width={topo.width} height={topo.height} role="img" aria-labelledby="topo-title">
          <title id="topo-title">{summary}</title>
          <defs>
            {(["nat", "routed"] as const).map((k) => (
              <marker key={k} id={`arrow-${k}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" className={`arrow-${k}`} />
              </marker>
            ))}
          </defs>
          {topo.uplinks.map((e) => (
            <g key={`up-${e.bridge}`} className={`uplink-edge ${e.kind}`} data-uplink-edge={e.kind}>
              <line x1={e.from.x} y1={e.from.y} x2={e.to.x} y2={e.to.y} markerEnd={e.kind === "bridge" ? undefined : `url(#arrow-${e.kind})`} />
              <text x={(e.from.x + e.to.x) / 2 + 6} y={(e.from.y + e.to.y) / 2}>
                {t(EDGE_KEYS[e.kind])}
              </text>
            </g>
          ))}
          {topo.nics.map((n) =>
            n.to ? (
              <g key={`nic-${n.mac}`} className={`nic-edge${n.live ? " live" : ""}`} data-nic-edge={`${n.vm}:${n.mac}`}>
                <line x1={n.from.x} y1={n.from.y} x2={n.to.x} y2={n.to.y} />
                <title>{`${n.vm} ${n.mac}${n.tap ? ` ${n.tap}` : ""}${n.ips.length ? ` ${n.ips.join(", ")}` : ""}`}</title>
                {n.tap ? (
                  <text x={(n.from.x + n.to.x) / 2 + 4} y={(n.from.y + n.to.y) / 2} className="tap">
                    {n.tap}
                  </text>
                ) : null}
              </g>
            ) : null,
          )}
          <g className="node uplink">
            <rect x={topo.uplink.x} y={topo.uplink.y} width={topo.uplink.w} height={topo.uplink.h} rx={8} />
            <text x={topo.uplink.x + 12} y={topo.uplink.y + 24} className="title">
              {t("topo.uplink", { name: topo.uplink.name })}
            </text>
            <text x={topo.uplink.x + 12} y={topo.uplink.y + 44} className="sub">
              {topo.uplink.addresses.join(", ") || t("topo.lan")}
            </text>
          </g>
          {topo.bridges.map((b) => (
            <g
              key={b.id}
              className={`node bridge${b.active ? " active" : ""}${b.mode ? ` mode-${b.mode}` : ""}`}
              data-bridge-node={b.bridge}
              tabIndex={b.network ? 0 : undefined}
              role={b.network ? "link" : undefined}
              aria-label={b.network ? t("topo.openNetwork", { name: b.network }) : undefined}
              onClick={() => b.network && navigate(`/networks/${encodeURIComponent(b.network)}`)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && b.network && navigate(`/networks/${encodeURIComponent(b.network)}`)}
            >
              <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={8} />
              <text x={b.x + 10} y={b.y + 20} className="title">
                {b.network ? `${b.network} · ${t(MODE_TEXT[b.mode!].name)}` : t("topo.hostBridge")}
              </text>
              <text x={b.x + 10} y={b.y + 38} className="sub mono">
                {b.bridge}
                {b.gateway ? ` ${b.gateway}` : ""}
              </text>
              <text x={b.x + 10} y={b.y + 55} className="sub">
                {b.subnet ?? (b.active ? t("net.active") : t("net.inactive"))}
              </text>
            </g>
          ))}
          {topo.vms.map((v) => (
            <g
              key={v.name}
              className={`node vm state-${v.state}`}
              data-vm-node={v.name}
              tabIndex={0}
              role="link"
              aria-label={t("topo.openVm", { name: v.name })}
              onClick={() => navigate(`/vms/${encodeURIComponent(v.name)}`)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && navigate(`/vms/${encodeURIComponent(v.name)}`)}
            >
              <rect x={v.x} y={v.y} width={v.w} height={v.h} rx={8} />
              <text x={v.x + 10} y={v.y + 22} className="title">
                {v.name}
              </text>
              <text x={v.x + 10} y={v.y + 40} className="sub">
                {t(STATE_KEYS[v.state])}
              </text>
            </g>
          ))}
        </svg>
      </div>
      <ul className="legend" aria-label={t("topo.legend")}>
        <li>
          <span className="swatch nat" /> {t("topo.legendNat")}
        </li>
        <li>
          <span className="swatch routed" /> {t("topo.legendRouted")}
        </li>
        <li>
          <span className="swatch bridged" /> {t("topo.legendBridge")}
        </li>
        <li>
          <span className="swatch nic" /> {t("topo.legendNic")}
        </li>
      </ul>
      {topo.bridges.length === 0 ? (
        <p className="empty">
          {t("topo.empty")} <Link href="/networks/new">{t("nets.new")}</Link>
        </p>
      ) : null}
    </section>
  );
}
