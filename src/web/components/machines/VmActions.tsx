/** Start / shut down / reboot / force off / console / delete for one VM, as buttons with confirmations. */
import { useState } from "react";
import { Link, useLocation } from "wouter";
import type { Vm } from "../../../api/vm.js";
import { useApiMutation } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { Confirm, errorMessage, useToast } from "../common.js";

export function VmActions({ vm, compact = false }: { vm: Vm; compact?: boolean }) {
  const { t } = useI18n();
  const toast = useToast();
  const [, navigate] = useLocation();
  const [ask, setAsk] = useState<null | "stop" | "delete" | "rename">(null);
  const [newName, setNewName] = useState("");
  const onError = (e: unknown) => toast(errorMessage(e, t("error.generic")), "error");
  const start = useApiMutation((api, name: string) => api.startVm(name));
  const shutdown = useApiMutation((api, name: string) => api.shutdownVm(name));
  const reboot = useApiMutation((api, name: string) => api.rebootVm(name));
  const stop = useApiMutation((api, name: string) => api.stopVm(name));
  const del = useApiMutation((api, v: { name: string; force: boolean }) => api.deleteVm(v.name, v.force));
  const rename = useApiMutation((api, v: { name: string; newName: string }) => api.renameVm(v.name, v.newName));
  const doRename = () =>
    rename.mutate(
      { name: vm.name, newName: newName.trim() },
      {
        onSuccess: (v) => {
          setAsk(null);
          toast(t("vm.renamed", { name: vm.name, newName: v.name }));
          navigate(`/vms/${encodeURIComponent(v.name)}/overview`);
        },
      },
    );
  const running = vm.state === "running" || vm.state === "paused";
  const busy = start.isPending || shutdown.isPending || reboot.isPending || stop.isPending || del.isPending || rename.isPending;
  const label = (k: Parameters<typeof t>[0]) => t(k, { name: vm.name });

  return (
    <div className={`actions${compact ? " compact" : ""}`} role="group" aria-label={label("vm.actionsFor")}>
      {!running ? (
        <button type="button" className="primary" disabled={busy} aria-label={label("vm.startNamed")} onClick={() => start.mutate(vm.name, { onError })}>
          {start.isPending ? t("common.working") : t("vm.start")}
        </button>
      ) : (
        <>
          <button type="button" disabled={busy} aria-label={label("vm.shutdownNamed")} onClick={() => shutdown.mutate(vm.name, { onError, onSuccess: () => toast(label("vm.shutdownSent")) })}>
            {shutdown.isPending ? t("common.working") : t("vm.shutdown")}
          </button>
          {/* The list's rows keep to the everyday actions; the details page has them all. */}
          {!compact && (
            <button type="button" disabled={busy} aria-label={label("vm.rebootNamed")} onClick={() => reboot.mutate(vm.name, { onError, onSuccess: () => toast(label("vm.rebooted")) })}>
              {reboot.isPending ? t("common.working") : t("vm.reboot")}
            </button>
          )}
          <button type="button" className="warn" disabled={busy} aria-label={label("vm.forceOffNamed")} onClick={() => setAsk("stop")}>
            {t("vm.forceOff")}
          </button>
          <Link className="button" href={`/vms/${encodeURIComponent(vm.name)}/console`} aria-label={label("vm.consoleNamed")}>
            {t("vm.console")}
          </Link>
        </>
      )}
      {/* A name changes only while the VM is shut off, as with virsh domrename. */}
      {!compact && vm.state === "shutoff" ? (
        <button type="button" disabled={busy} aria-label={label("vm.renameNamed")} onClick={() => (setNewName(vm.name), setAsk("rename"))}>
          {t("vm.rename")}
        </button>
      ) : null}
      <button type="button" className="danger" disabled={busy} aria-label={label("vm.deleteNamed")} onClick={() => setAsk("delete")}>
        {t("common.delete")}
      </button>
      <Confirm
        open={ask === "stop"}
        title={label("vm.forceOffTitle")}
        body={<p>{t("vm.forceOffBody")}</p>}
        confirmLabel={t("vm.forceOff")}
        danger
        busy={stop.isPending}
        error={stop.error}
        onCancel={() => (setAsk(null), stop.reset())}
        onConfirm={() => stop.mutate(vm.name, { onSuccess: () => setAsk(null) })}
      />
      <Confirm
        open={ask === "rename"}
        title={label("vm.renameNamed")}
        body={
          <label className="field">
            <span>{t("vm.newName")}</span>
            <input value={newName} onChange={(e) => setNewName(e.target.value)} onKeyDown={(e) => (e.key === "Enter" ? doRename() : undefined)} />
          </label>
        }
        confirmLabel={t("vm.rename")}
        busy={rename.isPending}
        error={rename.error}
        onCancel={() => (setAsk(null), rename.reset())}
        onConfirm={doRename}
      />
      <Confirm
        open={ask === "delete"}
        title={label("vm.deleteTitle")}
        body={<p>{running ? t("vm.deleteBodyRunning") : t("vm.deleteBody")}</p>}
        confirmLabel={t("common.delete")}
        danger
        busy={del.isPending}
        error={del.error}
        onCancel={() => (setAsk(null), del.reset())}
        onConfirm={() =>
          del.mutate(
            { name: vm.name, force: running },
            {
              onSuccess: () => {
                setAsk(null);
                if (compact === false) navigate("/");
              },
            },
          )
        }
      />
    </div>
  );
}
