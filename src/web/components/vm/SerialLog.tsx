/** A VM that is off: what its serial console printed when it last ran, read-only (the daemon's serial log). */
import { useEffect, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import type { Vm } from "../../../api/vm.js";
import { useApi } from "../../auth.js";
import { useI18n } from "../../i18n/index.js";
import { ErrorText } from "../common.js";

export default function SerialLog({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const api = useApi();
  // Another state is another run to show (the one that just ended, or a new one).
  const log = useQuery({
    queryKey: ["serial-log", vm.name, vm.state],
    queryFn: () => api.serialLog(vm.name),
  });
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el || !log.data) return;
    // xterm, not <pre>: the log holds the guest's escape sequences (colours, cursor moves).
    const term = new Terminal({
      disableStdin: true,
      convertEol: true,
      fontSize: 14,
      scrollback: 20000,
      theme: { background: "#0f1722" },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    term.write(log.data);
    const ro = new ResizeObserver(() => fit.fit());
    ro.observe(el);
    return () => {
      ro.disconnect();
      term.dispose();
    };
  }, [log.data]);

  return (
    <div className="console serial-log">
      <ErrorText error={log.error} />
      {log.data === "" ? <p className="muted">{t("console.noLog")}</p> : null}
      {log.data ? (
        <>
          <p>{t("console.lastRun")}</p>
          <div
            ref={box}
            className="serial-screen"
            data-testid="serial-log"
            role="log"
            aria-label={t("console.logOf", { name: vm.name })}
          />
        </>
      ) : null}
    </div>
  );
}
