/**
 * Live capture on a network's bridge (or one VM's NIC, or the uplink): the daemon streams
 * tcpdump over HTTP (GET /v1/networks/:name/capture). The view reads the decoded lines as they
 * come; a second stream of the same capture in pcap format is recorded alongside, so "Download"
 * gives Wireshark the packets themselves. Stop aborts both requests, and the daemon ends tcpdump.
 */
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import type { Network } from "../../../api/network.js";
import { useApi } from "../../auth.js";
import { useVms } from "../../api/hooks.js";
import { ApiError } from "../../api/client.js";
import { useI18n } from "../../i18n/index.js";
import { LineSplitter, PcapRecorder, parseTcpdumpLine, type PacketLine } from "../../lib/capture.js";
import { ErrorText, Field, fieldAria } from "../common.js";
import { DataTable } from "../DataTable.js";

/** Rows the view keeps (the pcap recording keeps every packet). */
const KEEP = 2000;

/** Appends tcpdump's lines to the rows: a line without a time stamp continues the packet before. */
function addLines(rows: PacketLine[], lines: string[]): { rows: PacketLine[]; added: number } {
  const out = rows.slice();
  let added = 0;
  for (const line of lines) {
    const p = parseTcpdumpLine(line);
    const last = out[out.length - 1];
    if (p) {
      out.push(p);
      added++;
    } else if (last) out[out.length - 1] = { ...last, info: `${last.info} ${line.trim()}`, line: `${last.line}\n${line}` };
  }
  return { rows: out.length > KEEP ? out.slice(out.length - KEEP) : out, added };
}

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

export default function Capture({ network }: { network: Network }) {
  const { t } = useI18n();
  const api = useApi();
  const vms = useVms();
  const [filter, setFilter] = useState("");
  /** "" (the bridge), "uplink", or "vm:NAME" */
  const [where, setWhere] = useState("");
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  /** the rows kept, and how many packets came in all */
  const [{ rows, seen }, setView] = useState<{ rows: PacketLine[]; seen: number }>({ rows: [], seen: 0 });
  const [iface, setIface] = useState<string | null>(null);
  const [recorded, setRecorded] = useState({ packets: 0, full: false });
  const capture = useRef<AbortController | null>(null);
  const recorder = useRef<PcapRecorder | null>(null);
  const list = useRef<HTMLDivElement>(null);
  const follow = useRef(true);

  const stop = () => {
    capture.current?.abort();
    setRunning(false);
  };
  // Leaving the page ends the capture (the daemon stops tcpdump when the request goes).
  useEffect(() => () => capture.current?.abort(), []);
  // Keep the newest packet in sight unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = list.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [rows]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    capture.current?.abort();
    const ctl = new AbortController();
    capture.current = ctl;
    const rec = new PcapRecorder();
    recorder.current = rec;
    const mine = () => capture.current === ctl && !ctl.signal.aborted;
    setView({ rows: [], seen: 0 });
    setIface(null);
    setRecorded({ packets: 0, full: false });
    setError(null);
    setRunning(true);
    follow.current = true;
    const opts = {
      ...(filter.trim() ? { filter: filter.trim() } : {}),
      ...(where === "uplink" ? { uplink: true } : where.startsWith("vm:") ? { vm: where.slice(3) } : {}),
    };
    const fail = (err: unknown) => {
      if (isAbort(err) || !mine()) return;
      ctl.abort();
      setRunning(false);
      setError(err instanceof Error ? err : new Error(t("error.generic")));
    };
    let text: Response;
    let pcap: Response;
    try {
      [text, pcap] = await Promise.all([api.capture(network.name, { ...opts, format: "text" }, ctl.signal), api.capture(network.name, { ...opts, format: "pcap" }, ctl.signal)]);
    } catch (err) {
      return fail(err);
    }
    if (!mine()) return;
    setIface(text.headers.get("x-capture-interface"));

    const readText = async () => {
      const reader = (text.body ?? new ReadableStream<Uint8Array>()).getReader();
      const utf8 = new TextDecoder();
      const split = new LineSplitter();
      for (;;) {
        const { value, done } = await reader.read();
        if (!mine()) return;
        const lines = done ? [...split.push(utf8.decode()), ...split.end()] : split.push(utf8.decode(value, { stream: true }));
        if (lines.length > 0) {
          setView((v) => {
            const next = addLines(v.rows, lines);
            return { rows: next.rows, seen: v.seen + next.added };
          });
        }
        if (done) return;
      }
    };
    const readPcap = async () => {
      const reader = (pcap.body ?? new ReadableStream<Uint8Array>()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !mine()) return;
        rec.push(value);
        setRecorded({ packets: rec.packets, full: rec.full });
      }
    };
    readPcap().catch(fail);
    try {
      await readText();
    } catch (err) {
      return fail(err);
    }
    // The daemon ended the stream (tcpdump exited: the network stopped, or the VM).
    if (mine()) {
      setRunning(false);
      // Give the pcap stream its last packets: it ends by itself as tcpdump does.
      setTimeout(() => ctl.abort(), 2000);
    }
  };

  const download = () => {
    const file = recorder.current?.file();
    if (!file) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([file as BlobPart], { type: "application/vnd.tcpdump.pcap" }));
    a.download = `${network.name}-${new Date().toISOString().replace(/[:.]/g, "-")}.pcap`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  const fieldError = (f: string) => (error instanceof ApiError && error.field === f ? error.message : null);
  const filterErr = fieldError("filter");
  const whereErr = fieldError("vm") ?? fieldError("uplink");
  const vmsHere = vms.data?.filter((v) => v.nics.some((n) => n.network === network.name)) ?? [];
  const hasUplink = network.mode === "nat" || network.mode === "routed" || network.mode === "bridge";
  return (
    <div className="card capture">
      <form className="field-row wrap" onSubmit={(e) => void start(e)}>
        <Field id="cap-filter" label={t("cap.filter")} help={t("cap.filterHelp")} error={filterErr}>
          <input {...fieldAria("cap-filter", filterErr)} value={filter} onChange={(e) => setFilter(e.target.value)} spellCheck={false} autoComplete="off" disabled={running} />
        </Field>
        <Field id="cap-where" label={t("cap.where")} error={whereErr}>
          <select {...fieldAria("cap-where", whereErr)} value={where} onChange={(e) => setWhere(e.target.value)} disabled={running}>
            <option value="">{t("cap.wholeBridge", { bridge: network.bridge })}</option>
            {vmsHere.map((v) => (
              <option key={v.name} value={`vm:${v.name}`}>
                {t("cap.vmNic", { name: v.name })}
              </option>
            ))}
            {hasUplink ? <option value="uplink">{t("cap.uplink")}</option> : null}
          </select>
        </Field>
        {/* Keys: two elements, so the click on Stop cannot become a submit of the same button turned Start. */}
        {running ? (
          <button key="stop" type="button" className="warn" onClick={stop}>
            {t("cap.stop")}
          </button>
        ) : (
          <button key="start" type="submit" className="primary" disabled={!network.active}>
            {t("cap.start")}
          </button>
        )}
        <button type="button" onClick={download} disabled={recorded.packets === 0}>
          {t("cap.download", { n: recorded.packets })}
        </button>
      </form>
      {!network.active ? <p className="muted">{t("cap.inactive")}</p> : null}
      {error && !filterErr && !whereErr ? <ErrorText error={error} /> : null}
      <p className="muted" role="status">
        {running ? (iface ? t("cap.running", { n: seen, iface }) : t("cap.connecting")) : t("cap.count", { n: seen })}
        {seen > rows.length ? ` ${t("cap.kept", { n: rows.length })}` : ""}
        {recorded.full ? ` ${t("cap.pcapFull")}` : ""}
      </p>
      <div
        className="packets"
        ref={list}
        tabIndex={0}
        role="region"
        aria-label={t("cap.packets")}
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {rows.length === 0 ? <p className="muted empty-packets">{running ? t("cap.waiting") : t("cap.none")}</p> : null}
        <DataTable
          rows={rows}
          variant="small mono"
          hidden={rows.length === 0}
          rowKey={(_p, i) => `${seen - rows.length + i}`}
          rowProps={(p) => ({ "data-packet": p.proto, title: p.line })}
          columns={[
            { label: "cap.time", cell: (p) => p.time },
            { label: "cap.src", cell: (p) => p.src || "—" },
            { label: "cap.dst", cell: (p) => p.dst || "—" },
            { label: "cap.proto", cell: (p) => p.proto },
            { label: "cap.length", cell: (p) => p.length ?? "—" },
            { label: "cap.info", cell: (p) => p.info },
          ]}
        />
      </div>
    </div>
  );
}
