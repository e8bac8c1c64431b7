/** Start / stop / delete for one network. */
import { useState } from "react";
import { useLocation } from "wouter";
import type { Network } from "../../../api/network.js";
import { useApiMutation } from "../../api/hooks.js";
import { useI18n } from "../../i18n/index.js";
import { Confirm, errorMessage, useToast } from "../common.js";

export function NetworkActions({ net, goBack = false }: { net: Network; goBack?: boolean }) {
  const { t } = useI18n();
  const toast = useToast();
  const [, navigate] = useLocation();
  const [askDelete, setAskDelete] = useState(false);
  const onError = (e: unknown) => toast(errorMessage(e, t("error.generic")), "error");
  const start = useApiMutation((api, n: string) => api.startNetwork(n));
  const stop = useApiMutation((api, n: string) => api.stopNetwork(n));
  const del = useApiMutation((api, n: string) => api.deleteNetwork(n));
  const busy = start.isPending || stop.isPending || del.isPending;
  return (
    <div className="actions compact" role="group" aria-label={t("net.actionsFor", { name: net.name })}>
      {net.active ? (
        <button type="button" disabled={busy} aria-label={t("net.stopNamed", { name: net.name })} onClick={() => stop.mutate(net.name, { onError })}>
          {stop.isPending ? t("common.working") : t("net.stop")}
        </button>
      ) : (
        <button type="button" className="primary" disabled={busy} aria-label={t("net.startNamed", { name: net.name })} onClick={() => start.mutate(net.name, { onError })}>
          {start.isPending ? t("common.working") : t("net.start")}
        </button>
      )}
      <button type="button" className="danger" disabled={busy} aria-label={t("net.deleteNamed", { name: net.name })} onClick={() => setAskDelete(true)}>
        {t("common.delete")}
      </button>
      <Confirm
        open={askDelete}
        title={t("net.deleteTitle", { name: net.name })}
        body={<p>{t("net.deleteBody")}</p>}
        confirmLabel={t("common.delete")}
        danger
        busy={del.isPending}
        error={del.error}
        onCancel={() => (setAskDelete(false), del.reset())}
        onConfirm={() =>
          del.mutate(net.name, {
            onSuccess: () => {
              setAskDelete(false);
              if (goBack) navigate("/networks");
            },
          })
        }
      />
    </div>
  );
}
