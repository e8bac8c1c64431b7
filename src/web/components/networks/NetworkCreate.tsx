/**
 * Create a network. Each mode says in one line who can talk to whom; fields are checked
 * against the API's own schema as they are typed, and the daemon's refusals appear next to
 * the field it names (`error.field`).
 */
import { useMemo, useState, type FormEvent } from "react";
import { Link, useLocation } from "wouter";
import { NETWORK_MODES, NetworkCreate, type NetworkMode } from "../../../api/network.js";
import { useApiMutation } from "../../api/hooks.js";
import type { ApiError } from "../../api/client.js";
import { useI18n } from "../../i18n/index.js";
import type { MessageKey } from "../../i18n/en.js";
import { checkFields } from "../../lib/validate.js";
import { ErrorText, Field, fieldAria } from "../common.js";
import { MODE_TEXT } from "./modes.js";
import { has, toBody, type Form } from "./form-body.js";

type TextField = "name" | "subnet" | "gateway" | "bridge" | "uplink" | "tftpRoot" | "bootFile";
const TEXT_FIELDS: Record<TextField, [MessageKey, MessageKey]> = {
  name: ["net.field.name", "net.help.name"],
  subnet: ["net.field.subnet", "net.help.subnet"],
  gateway: ["net.field.gateway", "net.help.gateway"],
  bridge: ["net.field.bridge", "net.help.bridge"],
  uplink: ["net.field.uplink", "net.help.uplink"],
  tftpRoot: ["net.field.tftpRoot", "net.help.tftpRoot"],
  bootFile: ["net.field.bootFile", "net.help.bootFile"],
};

export function NetworkCreateForm() {
  const { t, hint } = useI18n();
  const [, navigate] = useLocation();
  const [f, setF] = useState<Form>({
    name: "",
    mode: "nat",
    subnet: "",
    gateway: "",
    dhcp: true,
    rangeStart: "",
    rangeEnd: "",
    bridge: "",
    uplink: "",
    tftpRoot: "",
    bootFile: "",
    autostart: false,
    start: true,
    hosts: [],
  });
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setF((x) => ({ ...x, [k]: v }));
    setServerError(null);
  };
  const touch = (k: string) => setTouched((s) => new Set(s).add(k));

  const body = useMemo(() => toBody(f), [f]);
  const problems = useMemo(() => checkFields(NetworkCreate, body), [body]);
  const create = useApiMutation(async (api, v: { body: NetworkCreate; start: boolean }) => {
    const net = await api.createNetwork(v.body);
    return v.start ? api.startNetwork(net.name) : net;
  });

  /** The sentence for a field: the server's, else the schema's (once touched or submitted). */
  const errorFor = (field: string, ...aliases: string[]): string | null => {
    if (serverError?.field && [field, ...aliases].includes(serverError.field)) return serverError.message;
    if (!submitted && !touched.has(field)) return null;
    const p = problems.get(field);
    if (!p) return null;
    if (p.kind === "required") return t("form.required");
    if (p.kind === "unknown") return t("form.unknownField");
    return hint(p.hint ?? "");
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (problems.size > 0) {
      const first = [...problems.keys()][0];
      document.getElementById(`net-${first?.replace(".", "-")}`)?.focus();
      return;
    }
    create.mutate(
      { body, start: f.start },
      {
        onSuccess: (net) => navigate(`/networks/${encodeURIComponent(net.name)}`),
        onError: (err) => setServerError(err),
      },
    );
  };

  const formFields = ["name", "mode", "subnet", "gateway", "dhcpRange", "dhcpRange.start", "dhcpRange.end", "bridge", "uplink", "tftpRoot", "bootFile", "dhcpHosts", "dhcpHosts.mac", "dhcpHosts.ip", "dhcpHosts.hostname"];
  const generalError = serverError && !(serverError.field && formFields.includes(serverError.field)) ? serverError : null;
  const textInput = (field: TextField, id: string, placeholder?: string) => {
    const err = errorFor(field);
    return (
      <Field id={id} label={t(TEXT_FIELDS[field][0])} error={err} help={t(TEXT_FIELDS[field][1])}>
        <input {...fieldAria(id, err)} value={f[field]} placeholder={placeholder} onChange={(e) => set(field, e.target.value)} onBlur={() => touch(field)} autoComplete="off" spellCheck={false} />
      </Field>
    );
  };
  const rangeErr = errorFor("dhcpRange.start", "dhcpRange") ?? errorFor("dhcpRange.end");

  return (
    <section className="narrow">
      <div className="page-head">
        <h1>{t("netnew.title")}</h1>
      </div>
      <form onSubmit={submit} noValidate className="card form">
        {textInput("name", "net-name")}
        <fieldset className="modes">
          <legend>{t("net.field.mode")}</legend>
          {NETWORK_MODES.map((m) => (
            <label key={m} className={`mode${f.mode === m ? " selected" : ""}`}>
              <input type="radio" name="mode" value={m} checked={f.mode === m} onChange={() => set("mode", m)} />
              <span>
                <strong>{t(MODE_TEXT[m].name)}</strong>
                <span className="muted">{t(MODE_TEXT[m].line)}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {has.subnet(f.mode) ? textInput("subnet", "net-subnet", "10.0.0.0/24") : null}
        {has.gateway(f.mode) ? textInput("gateway", "net-gateway", "10.0.0.1") : null}
        {has.dhcp(f.mode) ? (
          <>
            <label className="check">
              <input type="checkbox" checked={f.dhcp} onChange={(e) => set("dhcp", e.target.checked)} />
              {t("net.field.dhcp")}
            </label>
            {f.dhcp ? (
              <div className="field-row">
                <Field id="net-dhcpRange-start" label={t("net.field.rangeStart")} error={rangeErr} help={t("net.help.range")}>
                  <input {...fieldAria("net-dhcpRange-start", rangeErr)} value={f.rangeStart} placeholder="10.0.0.100" onChange={(e) => set("rangeStart", e.target.value)} onBlur={() => touch("dhcpRange.start")} />
                </Field>
                <Field id="net-dhcpRange-end" label={t("net.field.rangeEnd")}>
                  <input id="net-dhcpRange-end" value={f.rangeEnd} placeholder="10.0.0.200" onChange={(e) => set("rangeEnd", e.target.value)} onBlur={() => touch("dhcpRange.end")} />
                </Field>
              </div>
            ) : null}
          </>
        ) : null}
        {has.uplink(f.mode) ? textInput("uplink", "net-uplink", "eth0") : null}
        <details>
          <summary>{t("net.advanced")}</summary>
          {textInput("bridge", "net-bridge", f.mode === "bridge" ? "br0" : "kvbr0")}
          {has.dhcp(f.mode) && f.dhcp ? (
            <>
              {textInput("tftpRoot", "net-tftpRoot", "/srv/tftp")}
              {textInput("bootFile", "net-bootFile", "pxelinux.0")}
              <fieldset>
                <legend>{t("net.reservations")}</legend>
                {errorFor("dhcpHosts", "dhcpHosts.mac", "dhcpHosts.ip", "dhcpHosts.hostname") ? (
                  <small className="field-error" role="alert">
                    {errorFor("dhcpHosts", "dhcpHosts.mac", "dhcpHosts.ip", "dhcpHosts.hostname") ??
                      errorFor("dhcpHosts.mac") ??
                      errorFor("dhcpHosts.ip")}
                  </small>
                ) : null}
                {f.hosts.map((h, i) => (
                  <div className="field-row" key={i}>
                    <input aria-label={t("net.res.mac")} placeholder="52:54:00:12:34:56" value={h.mac} onChange={(e) => set("hosts", f.hosts.map((x, j) => (j === i ? { ...x, mac: e.target.value } : x)))} onBlur={() => touch("dhcpHosts.mac")} />
                    <input aria-label={t("net.res.ip")} placeholder="10.0.0.50" value={h.ip} onChange={(e) => set("hosts", f.hosts.map((x, j) => (j === i ? { ...x, ip: e.target.value } : x)))} onBlur={() => touch("dhcpHosts.ip")} />
                    <input aria-label={t("net.res.hostname")} value={h.hostname} onChange={(e) => set("hosts", f.hosts.map((x, j) => (j === i ? { ...x, hostname: e.target.value } : x)))} />
                    <button type="button" aria-label={t("net.res.remove")} onClick={() => set("hosts", f.hosts.filter((_, j) => j !== i))}>
                      −
                    </button>
                  </div>
                ))}
                <button type="button" onClick={() => set("hosts", [...f.hosts, { mac: "", ip: "", hostname: "" }])}>
                  {t("net.res.add")}
                </button>
              </fieldset>
            </>
          ) : null}
          <label className="check">
            <input type="checkbox" checked={f.autostart} onChange={(e) => set("autostart", e.target.checked)} />
            {t("net.field.autostart")}
          </label>
        </details>
        <label className="check">
          <input type="checkbox" checked={f.start} onChange={(e) => set("start", e.target.checked)} />
          {t("net.field.startNow")}
        </label>
        <ErrorText error={generalError} />
        <div className="row end">
          <Link className="button" href="/networks">
            {t("common.cancel")}
          </Link>
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? t("common.working") : t("netnew.submit")}
          </button>
        </div>
      </form>
    </section>
  );
}
