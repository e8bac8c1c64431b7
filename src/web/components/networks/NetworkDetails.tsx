/** One network: its bridge, ports, leases, DHCP reservations, port forwards; live capture. */
import { lazy, Suspense, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "wouter";
import { useQuery } from "@tanstack/react-query";
import type { DhcpHost, Network, NetworkEdit } from "../../../api/network.js";
import { useApi } from "../../auth.js";
import { keys, useApiMutation, useNetwork, useVms } from "../../api/hooks.js";
import { ApiError } from "../../api/client.js";
import type { PortForward } from "../../api/extra-types.js";
import { useI18n } from "../../i18n/index.js";
import { ActiveBadge, AutostartToggle, ErrorText, Field, Loading, errorMessage, fieldAria, useToast } from "../common.js";
import { DataTable } from "../DataTable.js";
import { Tabs } from "../Tabs.js";
import { MODE_TEXT } from "./modes.js";
import { NetworkActions } from "./NetworkActions.js";

const Capture = lazy(() => import("./Capture.js"));

export function NetworkDetails({ name, tab }: { name: string; tab: string }) {
  const { t } = useI18n();
  const net = useNetwork(name);
  const base = `/networks/${encodeURIComponent(name)}`;
  return (
    <section>
      <p className="crumbs">
        <Link href="/networks">{t("nets.title")}</Link> / <span>{name}</span>
      </p>
      {net.isPending ? <Loading /> : null}
      <ErrorText error={net.error} />
      {net.data ? (
        <>
          <div className="page-head">
            <h1>
              {net.data.name} <ActiveBadge active={net.data.active} />
            </h1>
            <NetworkActions net={net.data} goBack />
          </div>
          <Tabs
            base={base}
            current={tab}
            label={t("net.tabs")}
            tabs={[
              { id: "overview", label: t("net.tab.overview") },
              { id: "capture", label: t("net.tab.capture") },
            ]}
          />
          <div role="tabpanel" aria-labelledby={`tab-${tab}`}>
            {tab === "capture" ? (
              <Suspense fallback={<Loading />}>
                <Capture network={net.data} />
              </Suspense>
            ) : (
              <Overview net={net.data} />
            )}
          </div>
        </>
      ) : null}
    </section>
  );
}

function Overview({ net }: { net: Network }) {
  const { t } = useI18n();
  const vms = useVms();
  const ownerOfTap = (tap: string) => vms.data?.find((v) => v.nics.some((n) => n.tap === tap));
  const edit = useApiMutation((a, body: NetworkEdit) => a.editNetwork(net.name, body));
  const rows: [string, ReactNode][] = [
    [t("nets.col.mode"), `${t(MODE_TEXT[net.mode].name)} — ${t(MODE_TEXT[net.mode].line)}`],
    [t("nets.col.bridge"), <code key="b">{net.bridge}</code>],
    [t("nets.col.subnet"), net.subnet ?? "—"],
    [t("net.field.gateway"), net.gateway ?? "—"],
    [t("net.dhcpRange"), net.dhcp ? `${net.dhcp.start} – ${net.dhcp.end}` : t("net.noDhcp")],
    [t("net.field.uplink"), net.uplink ?? "—"],
    [t("net.pxe"), net.tftpRoot ? `${net.tftpRoot} · ${net.bootFile ?? ""}` : "—"],
    [t("net.field.autostart"), <AutostartToggle key="a" on={net.autostart} name={net.name} save={(on) => edit.mutateAsync({ autostart: on })} />],
    [t("net.dnsmasq"), net.dnsmasqPid ? t("net.dnsmasqPid", { pid: net.dnsmasqPid }) : "—"],
  ];
  return (
    <div className="grid2">
      <div className="card">
        <h2>{t("net.settings")}</h2>
        <dl className="props">
          {rows.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      </div>
      <div className="card">
        <h2>{t("net.ports")}</h2>
        {net.ports.length === 0 ? (
          <p className="muted">{t("net.noPorts")}</p>
        ) : (
          <ul className="plain" aria-label={t("net.ports")}>
            {net.ports.map((p) => {
              const vm = ownerOfTap(p);
              return (
                <li key={p}>
                  <code>{p}</code>
                  {vm ? (
                    <>
                      {" → "}
                      <Link href={`/vms/${encodeURIComponent(vm.name)}`}>{vm.name}</Link>
                    </>
                  ) : null}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      <div className="card">
        <h2>{t("net.leases")}</h2>
        {net.leases.length === 0 ? (
          <p className="muted">{t("net.noLeases")}</p>
        ) : (
          <DataTable
            rows={net.leases}
            label={t("net.leases")}
            variant="small"
            rowKey={(l) => l.mac}
            rowProps={(l) => ({ "data-lease": l.ip })}
            columns={[
              { label: "net.lease.ip", cell: (l) => l.ip },
              { label: "net.lease.mac", cell: (l) => <code>{l.mac}</code> },
              { label: "net.lease.hostname", cell: (l) => l.hostname ?? "—" },
              { label: "net.lease.expires", cell: (l) => (l.expires ? new Date(l.expires * 1000).toLocaleString() : t("net.lease.never")) },
            ]}
          />
        )}
      </div>
      <Reservations net={net} />
      {net.mode === "nat" ? <Forwards net={net} /> : null}
    </div>
  );
}

/** DHCP reservations, added and removed live: the network's dnsmasq re-reads them. */
function Reservations({ net }: { net: Network }) {
  const { t } = useI18n();
  const toast = useToast();
  const [form, setForm] = useState({ mac: "", ip: "", hostname: "" });
  const save = useApiMutation((a, dhcpHosts: DhcpHost[]) => a.editNetwork(net.name, { dhcpHosts }));
  const onError = (e: unknown) => toast(errorMessage(e, t("error.generic")), "error");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const mac = form.mac.trim().toLowerCase();
    const added: DhcpHost = { mac, ip: form.ip.trim(), ...(form.hostname.trim() ? { hostname: form.hostname.trim() } : {}) };
    save.mutate([...net.dhcpHosts.filter((h) => h.mac !== mac), added], { onSuccess: () => (setForm({ mac: "", ip: "", hostname: "" }), toast(t("net.res.saved", { mac }))) });
  };
  // The daemon names the field dhcpHosts for both inputs; its sentence says which one is wrong.
  const resErr = save.error?.field?.startsWith("dhcpHosts") ? save.error.message : null;
  const macErr = resErr && /MAC|mac/.test(resErr) ? resErr : null;
  const ipErr = resErr && !macErr ? resErr : null;
  return (
    <div className="card">
      <h2>{t("net.reservations")}</h2>
      {net.dhcpHosts.length === 0 ? (
        <p className="muted">{t("net.noReservations")}</p>
      ) : (
        <DataTable
          rows={net.dhcpHosts}
          label={t("net.reservations")}
          variant="small"
          rowKey={(h) => h.mac}
          rowProps={(h) => ({ "data-reservation": h.mac })}
          columns={[
            { label: "net.res.mac", cell: (h) => <code>{h.mac}</code> },
            { label: "net.res.ip", cell: (h) => h.ip },
            { label: "net.res.hostname", cell: (h) => h.hostname ?? "—" },
            {
              label: "nets.col.actions",
              cell: (h) => (
                <button type="button" className="danger small" aria-label={t("net.res.removeOf", { mac: h.mac })} disabled={save.isPending} onClick={() => save.mutate(net.dhcpHosts.filter((x) => x.mac !== h.mac), { onError })}>
                  {t("common.remove")}
                </button>
              ),
            },
          ]}
        />
      )}
      {net.dhcp ? (
        <form className="field-row wrap" onSubmit={submit} aria-label={t("net.res.add")}>
          <Field id="res-mac" label={t("net.res.mac")} error={macErr}>
            <input {...fieldAria("res-mac", macErr)} value={form.mac} placeholder="52:54:00:12:34:56" onChange={(e) => setForm({ ...form, mac: e.target.value })} />
          </Field>
          <Field id="res-ip" label={t("net.res.ip")} error={ipErr}>
            <input {...fieldAria("res-ip", ipErr)} value={form.ip} onChange={(e) => setForm({ ...form, ip: e.target.value })} />
          </Field>
          <Field id="res-hostname" label={t("net.res.hostname")}>
            <input id="res-hostname" value={form.hostname} onChange={(e) => setForm({ ...form, hostname: e.target.value })} />
          </Field>
          <button type="submit" className="primary" disabled={save.isPending || !form.mac || !form.ip}>
            {t("net.res.reserve")}
          </button>
          {save.error && !resErr ? <ErrorText error={save.error} /> : null}
        </form>
      ) : null}
    </div>
  );
}

function Forwards({ net }: { net: Network }) {
  const { t } = useI18n();
  const api = useApi();
  const toast = useToast();
  const vms = useVms();
  const fw = useQuery({ queryKey: keys.forwards(net.name), queryFn: () => api.listForwards(net.name), retry: false });
  const [form, setForm] = useState({ proto: "tcp" as "tcp" | "udp", hostPort: "", vm: "", port: "" });
  const add = useApiMutation((a, v: { hostPort: number; vm: string; port: number; proto: "tcp" | "udp" }) => a.addForward(net.name, v));
  const remove = useApiMutation((a, f: PortForward) => a.removeForward(net.name, f.proto, f.hostPort));
  const unavailable = fw.error instanceof ApiError && fw.error.status === 404;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate(
      { proto: form.proto, hostPort: Number(form.hostPort), vm: form.vm, port: Number(form.port) },
      { onSuccess: () => (setForm({ ...form, hostPort: "", port: "" }), void fw.refetch()) },
    );
  };
  const fieldErr = (f: string) => (add.error?.field === f ? add.error.message : null);
  const vmsHere = vms.data?.filter((v) => v.nics.some((n) => n.network === net.name)) ?? [];
  return (
    <div className="card">
      <h2>{t("fw.title")}</h2>
      {unavailable ? <p className="muted">{t("fw.unavailable")}</p> : <ErrorText error={fw.error} />}
      {fw.data && fw.data.length === 0 ? <p className="muted">{t("fw.none")}</p> : null}
      {fw.data && fw.data.length > 0 ? (
        <ul className="plain" aria-label={t("fw.title")}>
          {fw.data.map((f) => (
            <li key={`${f.proto}:${f.hostPort}`} className="row spread">
              <span>
                {f.proto.toUpperCase()} {t("fw.hostPort")} {f.hostPort} → {f.vm}:{f.port}
                {f.ip ? <code className="muted"> ({f.ip})</code> : <span className="muted"> {t("fw.noLease")}</span>}
              </span>
              <button type="button" className="danger small" onClick={() => remove.mutate(f, { onSuccess: () => void fw.refetch(), onError: (e) => toast(errorMessage(e, t("error.generic")), "error") })}>
                {t("common.remove")}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {!unavailable ? (
        <form className="field-row wrap" onSubmit={submit}>
          <Field id="fw-proto" label={t("fw.proto")}>
            <select id="fw-proto" value={form.proto} onChange={(e) => setForm({ ...form, proto: e.target.value as "tcp" | "udp" })}>
              <option value="tcp">TCP</option>
              <option value="udp">UDP</option>
            </select>
          </Field>
          <Field id="fw-hostPort" label={t("fw.hostPort")} error={fieldErr("hostPort")}>
            <input {...fieldAria("fw-hostPort", fieldErr("hostPort"))} inputMode="numeric" value={form.hostPort} onChange={(e) => setForm({ ...form, hostPort: e.target.value })} />
          </Field>
          <Field id="fw-vm" label={t("fw.vm")} error={fieldErr("vm")}>
            <select {...fieldAria("fw-vm", fieldErr("vm"))} value={form.vm} onChange={(e) => setForm({ ...form, vm: e.target.value })}>
              <option value="">{t("fw.pickVm")}</option>
              {vmsHere.map((v) => (
                <option key={v.name} value={v.name}>
                  {v.name}
                </option>
              ))}
            </select>
          </Field>
          <Field id="fw-port" label={t("fw.vmPort")} error={fieldErr("port")}>
            <input {...fieldAria("fw-port", fieldErr("port"))} inputMode="numeric" value={form.port} onChange={(e) => setForm({ ...form, port: e.target.value })} />
          </Field>
          <button type="submit" className="primary" disabled={add.isPending}>
            {t("fw.add")}
          </button>
          {add.error && !["hostPort", "vm", "port"].includes(add.error.field ?? "") ? <ErrorText error={add.error} /> : null}
        </form>
      ) : null}
    </div>
  );
}
