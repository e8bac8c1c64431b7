/**
 * Live capture on a network's bridge (or one VM's NIC): decoded packets stream in over a
 * WebSocket, with a BPF filter, stop, and a pcap download of what was captured.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { Network } from "../../../api/network.js";
import { useApi } from "../../auth.js";
import { useVms } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { fromBase64, pcapFile, type Frame } from "../../lib/pcap.js";
import { Field } from "../common.js";

/** One packet as the capture stream sends it (text frames of JSON). */
interface Packet {
  time: number;
  src: string;
  dst: string;
  proto: string;
  length: number;
  info: string;
  raw: Uint8Array | null;
}

const KEEP = 2000;

function parsePacket(data: unknown): Packet | null {
  if (!data || typeof data !== "object") return null;
  const o = data as Record<string, unknown>;
  if (o.type !== undefined && o.type !== "packet") return null;
  const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : "");
  const t = typeof o.time === "number" ? o.time : Date.now();
  return {
    time: t > 1e12 ? t / 1000 : t,
    src: str("src"),
    dst: str("dst"),
    proto: str("proto") || str("protocol"),
    length: typeof o.length === "number" ? o.length : typeof o.len === "number" ? o.len : 0,
    info: str("info") || str("summary") || str("line"),
    raw: typeof o.raw === "string" ? fromBase64(o.raw) : typeof o.data === "string" ? fromBase64(o.data) : null,
  };
}

export default function Capture({ network }: { network: Network }) {
  const { t } = useI18n();
  const api = useApi();
  const vms = useVms();
  const [filter, setFilter] = useState("");
  const [vm, setVm] = useState("");
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [packets, setPackets] = useState<Packet[]>([]);
  const ws = useRef<WebSocket | null>(null);
  const tableEnd = useRef<HTMLDivElement>(null);

  const stop = () => {
    ws.current?.close();
    ws.current = null;
    setRunning(false);
  };
  useEffect(() => stop, []);
  useEffect(() => tableEnd.current?.scrollIntoView({ block: "nearest" }), [packets.length]);

  const start = (e: FormEvent) => {
    e.preventDefault();
    stop();
    setPackets([]);
    setError(null);
    const q = new URLSearchParams();
    if (filter.trim()) q.set("filter", filter.trim());
    if (vm) q.set("vm", vm);
    const s = new WebSocket(api.wsUrl(`/v1/networks/${encodeURIComponent(network.name)}/capture${q.size ? `?${q}` : ""}`));
    ws.current = s;
    setRunning(true);
    let opened = false;
    s.onopen = () => (opened = true);
    s.onmessage = (m) => {
      if (typeof m.data !== "string") return;
      try {
        const d = JSON.parse(m.data) as unknown;
        if (d && typeof d === "object" && "error" in d) {
          const err = (d as { error: { message?: string } }).error;
          setError(err.message ?? t("error.generic"));
          return;
        }
        const p = parsePacket(d);
        if (p) setPackets((ps) => (ps.length >= KEEP ? [...ps.slice(ps.length - KEEP + 1), p] : [...ps, p]));
      } catch {
        /* not JSON */
      }
    };
    s.onclose = (ev) => {
      if (ws.current === s) ws.current = null;
      setRunning(false);
      if (!opened) setError(t("cap.unavailable"));
      else if (ev.code !== 1000 && ev.code !== 1005 && ev.reason) setError(ev.reason);
    };
  };

  const frames: Frame[] = packets.flatMap((p) => (p.raw ? [{ time: p.time, bytes: p.raw, origLen: Math.max(p.length, p.raw.length) }] : []));
  const download = () => {
    const blob = new Blob([pcapFile(frames) as BlobPart], { type: "application/vnd.tcpdump.pcap" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${network.name}-${new Date().toISOString().replace(/[:.]/g, "-")}.pcap`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  const vmsHere = vms.data?.filter((v) => v.nics.some((n) => n.network === network.name)) ?? [];
  return (
    <div className="card capture">
      <form className="field-row wrap" onSubmit={start}>
        <Field id="cap-filter" label={t("cap.filter")} help={t("cap.filterHelp")}>
          <input id="cap-filter" value={filter} onChange={(e) => setFilter(e.target.value)} spellCheck={false} disabled={running} />
        </Field>
        <Field id="cap-vm" label={t("cap.where")}>
          <select id="cap-vm" value={vm} onChange={(e) => setVm(e.target.value)} disabled={running}>
            <option value="">{t("cap.wholeBridge", { bridge: network.bridge })}</option>
            {vmsHere.map((v) => (
              <option key={v.name} value={v.name}>
                {t("cap.vmNic", { name: v.name })}
              </option>
            ))}
          </select>
        </Field>
        {running ? (
          <button type="button" className="warn" onClick={stop}>
            {t("cap.stop")}
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!network.active}>
            {t("cap.start")}
          </button>
        )}
        <button type="button" onClick={download} disabled={frames.length === 0}>
          {t("cap.download")}
        </button>
      </form>
      {!network.active ? <p className="muted">{t("cap.inactive")}</p> : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <p className="muted" role="status">
        {running ? t("cap.running", { n: packets.length }) : t("cap.count", { n: packets.length })}
      </p>
      <div className="packets" tabIndex={0} aria-label={t("cap.packets")}>
        <table className="list small mono">
          <thead>
            <tr>
              <th scope="col">{t("cap.time")}</th>
              <th scope="col">{t("cap.src")}</th>
              <th scope="col">{t("cap.dst")}</th>
              <th scope="col">{t("cap.proto")}</th>
              <th scope="col">{t("cap.length")}</th>
              <th scope="col">{t("cap.info")}</th>
            </tr>
          </thead>
          <tbody>
            {packets.map((p, i) => (
              <tr key={i} data-packet={p.proto}>
                <td data-label={t("cap.time")}>{new Date(p.time * 1000).toLocaleTimeString(undefined, { hour12: false })}</td>
                <td data-label={t("cap.src")}>{p.src}</td>
                <td data-label={t("cap.dst")}>{p.dst}</td>
                <td data-label={t("cap.proto")}>{p.proto}</td>
                <td data-label={t("cap.length")}>{p.length || "—"}</td>
                <td data-label={t("cap.info")}>{p.info}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div ref={tableEnd} />
      </div>
    </div>
  );
}
