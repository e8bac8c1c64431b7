/** The serial console: xterm.js over the daemon's WebSocket bridge to the VM's serial port. */
import { useEffect, useRef, useState } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import type { Vm } from "../../../api/vm.js";
import { useApi } from "../../auth.js";
import { useI18n } from "../../i18n/index.js";
import type { MessageKey } from "../../i18n/en.js";

type Status = "connecting" | "connected" | "disconnected";
const STATUS: Record<Status, MessageKey> = { connecting: "console.connecting", connected: "console.connected", disconnected: "console.disconnected" };

export default function SerialConsole({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const api = useApi();
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>("connecting");
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const term = new Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000, theme: { background: "#0f1722" } });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    setStatus("connecting");
    const ws = new WebSocket(api.wsUrl(`/v1/vms/${encodeURIComponent(vm.name)}/serial`));
    ws.binaryType = "arraybuffer";
    const enc = new TextEncoder();
    ws.onopen = () => {
      setStatus("connected");
      term.focus();
      // A fresh prompt, so the user sees the shell is there.
      ws.send(enc.encode("\r"));
    };
    ws.onmessage = (m: MessageEvent<ArrayBuffer | string>) => term.write(typeof m.data === "string" ? m.data : new Uint8Array(m.data));
    ws.onclose = () => setStatus("disconnected");
    const input = term.onData((d) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d));
    });
    const ro = new ResizeObserver(() => fit.fit());
    ro.observe(el);
    return () => {
      ro.disconnect();
      input.dispose();
      ws.close();
      term.dispose();
    };
  }, [api, vm.name, vm.pid, attempt]);

  return (
    <div className="console">
      <div className="console-bar row spread">
        <span className={`console-status ${status}`} role="status">
          {t(STATUS[status])}
        </span>
        {status === "disconnected" ? (
          <button type="button" className="primary" onClick={() => setAttempt((a) => a + 1)}>
            {t("console.reconnect")}
          </button>
        ) : null}
      </div>
      <div ref={box} className="serial-screen" data-testid="serial-screen" aria-label={t("console.serialOf", { name: vm.name })} />
    </div>
  );
}
