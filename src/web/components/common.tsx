/** Small shared pieces: state badges, error text, confirm dialog, toasts, sparkline, sizes. */
import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { VmState } from "../../api/vm.js";
import { useI18n } from "../i18n/index.js";
import type { MessageKey } from "../i18n/en.js";
import { ApiError } from "../api/client.js";

export const STATE_KEYS: Record<VmState, MessageKey> = {
  running: "state.running",
  shutoff: "state.shutoff",
  paused: "state.paused",
  crashed: "state.crashed",
};

export function StateBadge({ state }: { state: VmState }) {
  const { t } = useI18n();
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {t(STATE_KEYS[state] ?? "state.unknown")}
    </span>
  );
}

export function ActiveBadge({ active }: { active: boolean }) {
  const { t } = useI18n();
  return <span className={`badge ${active ? "state-running" : "state-shutoff"}`}>{active ? t("net.active") : t("net.inactive")}</span>;
}

/** The daemon's sentence for an error, or a generic one for anything else. */
export function errorMessage(e: unknown, fallback: string): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return fallback;
}

export function ErrorText({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {errorMessage(error, t("error.generic"))}
    </p>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="muted" aria-busy="true">
      {t("common.loading")}
    </p>
  );
}

/** A modal question with a default-focused Cancel; Escape cancels (native <dialog>). */
export function Confirm(props: {
  open: boolean;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  // One id per dialog: a page holds several (force off, rename, delete), each named by its own title.
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} className="dialog" onCancel={(e) => (e.preventDefault(), props.onCancel())} aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title}</h2>
      <div>{props.body}</div>
      <ErrorText error={props.error} />
      <div className="row end">
        {/* The safe answer has the focus when the dialog opens (HTML's dialog guidance). */}
        {/* eslint-disable-next-line jsx-a11y/no-autofocus */}
        <button type="button" onClick={props.onCancel} autoFocus>
          {t("common.cancel")}
        </button>
        <button type="button" className={props.danger ? "danger" : "primary"} onClick={props.onConfirm} disabled={props.busy}>
          {props.busy ? t("common.working") : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

interface Toast {
  id: number;
  text: string;
  kind: "error" | "info";
}
const ToastCtx = createContext<(text: string, kind?: Toast["kind"]) => void>(() => undefined);

/** Transient messages (failed actions that have no form field to sit next to). */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const { t } = useI18n();
  const push = useCallback((text: string, kind: Toast["kind"] = "info") => {
    const id = Date.now() + Math.random();
    setToasts((ts) => [...ts.slice(-3), { id, text, kind }]);
    setTimeout(() => setToasts((ts) => ts.filter((x) => x.id !== id)), kind === "error" ? 10000 : 4000);
  }, []);
  return (
    <ToastCtx.Provider value={push}>
      {children}
      <div className="toasts" aria-live="polite">
        {toasts.map((x) => (
          <div key={x.id} className={`toast ${x.kind}`} role={x.kind === "error" ? "alert" : "status"}>
            <span>{x.text}</span>
            <button type="button" className="link" aria-label={t("common.dismiss")} onClick={() => setToasts((ts) => ts.filter((y) => y.id !== x.id))}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastCtx.Provider>
  );
}

export function useToast() {
  return useContext(ToastCtx);
}

/** A tiny inline line graph (no library: it is on the first page). */
export function Sparkline({ values, max = 100, label }: { values: readonly (number | null)[]; max?: number; label: string }) {
  const w = 80;
  const h = 20;
  const pts = values.slice(-30);
  if (pts.length < 2) return <span className="muted" aria-label={label}>—</span>;
  const step = w / (pts.length - 1);
  const d = pts.map((v, i) => `${(i * step).toFixed(1)},${(h - ((v ?? 0) / max) * h).toFixed(1)}`).join(" ");
  const last = pts[pts.length - 1];
  return (
    <span className="spark" role="img" aria-label={label}>
      <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-hidden="true">
        <polyline points={d} fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>
      <span className="spark-value">{last === null || last === undefined ? "—" : `${last.toFixed(0)}%`}</span>
    </span>
  );
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[i]}`;
}

export function formatMiB(mib: number): string {
  return formatBytes(mib * 1048576);
}

/** A form field: label, control, the hint or error sentence under it, wired for screen readers. */
export function Field(props: { id: string; label: string; error?: string | null | undefined; help?: string | undefined; children: ReactNode }) {
  return (
    <div className={`field${props.error ? " invalid" : ""}`}>
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
      {props.help && !props.error ? (
        <small id={`${props.id}-help`} className="muted">
          {props.help}
        </small>
      ) : null}
      {props.error ? (
        <small id={`${props.id}-error`} className="field-error" role="alert">
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

/** aria attributes for a control inside <Field>. */
export function fieldAria(id: string, error: string | null | undefined) {
  return { id, "aria-invalid": error ? true : undefined, "aria-describedby": error ? `${id}-error` : `${id}-help` } as const;
}

/** "Start with the daemon", changed where it is shown (a VM's or a network's autostart). */
export function AutostartToggle({ on, name, save }: { on: boolean; name: string; save: (on: boolean) => Promise<unknown> }) {
  const { t } = useI18n();
  const toast = useToast();
  // What was asked shows at once, until the daemon's data moves (or the change fails).
  const [asked, setAsked] = useState<{ want: boolean; from: boolean } | null>(null);
  const shown = asked && asked.from === on ? asked.want : on;
  return (
    <label className="toggle">
      <input
        type="checkbox"
        checked={shown}
        aria-label={t("common.autostartOf", { name })}
        onChange={(e) => {
          const want = e.target.checked;
          setAsked({ want, from: on });
          save(want).catch((err: unknown) => {
            setAsked(null);
            toast(errorMessage(err, t("error.generic")), "error");
          });
        }}
      />
      {shown ? t("common.yes") : t("common.no")}
    </label>
  );
}
