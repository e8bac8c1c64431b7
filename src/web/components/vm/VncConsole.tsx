/** The graphical console: noVNC over the daemon's WebSocket bridge to the VM's VNC socket. */
import { useEffect, useRef, useState } from "react";
import RFB from "@novnc/novnc";
import type { Vm } from "../../../api/vm.js";
import { useApi } from "../../auth.js";
import { useI18n } from "../../i18n/index.js";
import type { MessageKey } from "../../i18n/en.js";

type Status = "connecting" | "connected" | "disconnected";
const STATUS: Record<Status, MessageKey> = { connecting: "console.connecting", connected: "console.connected", disconnected: "console.disconnected" };

export default function VncConsole({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const api = useApi();
  const screen = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const [status, setStatus] = useState<Status>("connecting");
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const el = screen.current;
    if (!el) return;
    setStatus("connecting");
    const r = new RFB(el, api.wsUrl(`/v1/vms/${encodeURIComponent(vm.name)}/vnc`), { wsProtocols: ["binary"] });
    r.scaleViewport = true;
    r.resizeSession = false;
    r.focusOnClick = true;
    r.addEventListener("connect", () => setStatus("connected"));
    r.addEventListener("disconnect", () => setStatus("disconnected"));
    rfb.current = r;
    return () => {
      rfb.current = null;
      try {
        r.disconnect();
      } catch {
        /* already closed */
      }
    };
  }, [api, vm.name, vm.pid, attempt]);

  return (
    <div className="console">
      <div className="console-bar row spread">
        <span className={`console-status ${status}`} role="status">
          {t(STATUS[status])}
        </span>
        <div className="row">
          <button type="button" onClick={() => rfb.current?.sendCtrlAltDel()} disabled={status !== "connected"}>
            {t("console.ctrlAltDel")}
          </button>
          <button type="button" onClick={() => void screen.current?.requestFullscreen?.()} disabled={status !== "connected"}>
            {t("console.fullscreen")}
          </button>
          {status === "disconnected" ? (
            <button type="button" className="primary" onClick={() => setAttempt((a) => a + 1)}>
              {t("console.reconnect")}
            </button>
          ) : null}
        </div>
      </div>
      <div ref={screen} className="vnc-screen" data-testid="vnc-screen" aria-label={t("console.screenOf", { name: vm.name })} />
      <p className="muted small">{t("console.keyboardHint")}</p>
    </div>
  );
}
