/**
 * A VM's hardware: memory, vCPUs, boot order, disks, NICs. A stopped VM changes at once; a
 * running one keeps changes as pending until its next start (shown at the top). A NIC's
 * network changes live on a running VM (the seed's brctl delif/addif).
 */
import { useState, type FormEvent } from "react";
import type { Vm } from "../../../api/vm.js";
import { useApiMutation, useNetworks } from "../../api/hooks.js";
import { BOOT_DEVICES, vmMore, type BootDevice, type VmEdit } from "../../api/extra-types.js";
import type { ApiError } from "../../api/client.js";
import { useI18n } from "../../i18n/index.js";
import type { MessageKey } from "../../i18n/en.js";
import { ErrorText, Field, fieldAria, formatBytes, useToast, errorMessage } from "../common.js";
import { DataTable } from "../DataTable.js";

const BOOT_KEYS: Record<BootDevice, MessageKey> = { network: "boot.network", disk: "boot.disk", cdrom: "boot.cdrom" };
const PENDING_KEYS: Record<string, MessageKey> = {
  memoryMiB: "vms.col.memory",
  vcpus: "vm.vcpus",
  bootOrder: "hw.bootOrder",
  disks: "vm.disks",
  nics: "vm.nics",
  cdrom: "hw.cdrom",
};

function fieldError(e: ApiError | null, ...fields: string[]): string | null {
  return e?.field && fields.includes(e.field) ? e.message : null;
}

export function Hardware({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const more = vmMore(vm);
  const running = vm.state === "running" || vm.state === "paused";
  return (
    <div className="grid2">
      {more.pending ? (
        <div className="card wide banner" role="status">
          <strong>{t("hw.pendingTitle")}</strong>
          <ul className="plain">
            {Object.entries(more.pending).map(([k, v]) => (
              <li key={k}>
                {PENDING_KEYS[k] ? t(PENDING_KEYS[k]) : k}: <code>{JSON.stringify(v)}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : running ? (
        <p className="muted wide">{t("hw.runningNote")}</p>
      ) : null}
      {/* Keyed by the saved values: a change made elsewhere starts the form afresh. */}
      <CpuMemory key={`${vm.memoryMiB}/${vm.vcpus}`} vm={vm} />
      <BootOrder key={more.bootOrder.join(",")} vm={vm} current={more.bootOrder} />
      <Nics vm={vm} />
      <Disks vm={vm} />
    </div>
  );
}

function CpuMemory({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const toast = useToast();
  const [mem, setMem] = useState(String(vm.memoryMiB));
  const [cpus, setCpus] = useState(String(vm.vcpus));
  const edit = useApiMutation((api, body: VmEdit) => api.editVm(vm.name, body));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    edit.mutate({ memoryMiB: Number(mem), vcpus: Number(cpus) }, { onSuccess: () => toast(t("hw.saved")) });
  };
  const memErr = fieldError(edit.error, "memoryMiB");
  const cpuErr = fieldError(edit.error, "vcpus");
  return (
    <form className="card form" onSubmit={submit} aria-labelledby="hw-cpumem">
      <h2 id="hw-cpumem">{t("hw.cpuMemory")}</h2>
      <div className="field-row">
        <Field id="hw-mem" label={t("hw.memoryMiB")} error={memErr}>
          <input {...fieldAria("hw-mem", memErr)} type="number" min={16} step={16} value={mem} onChange={(e) => setMem(e.target.value)} />
        </Field>
        <Field id="hw-cpus" label={t("vm.vcpus")} error={cpuErr}>
          <input {...fieldAria("hw-cpus", cpuErr)} type="number" min={1} max={255} value={cpus} onChange={(e) => setCpus(e.target.value)} />
        </Field>
      </div>
      {edit.error && !memErr && !cpuErr ? <ErrorText error={edit.error} /> : null}
      <div className="row end">
        <button type="submit" className="primary" disabled={edit.isPending}>
          {edit.isPending ? t("common.working") : t("common.apply")}
        </button>
      </div>
    </form>
  );
}

function BootOrder({ vm, current }: { vm: Vm; current: string[] }) {
  const { t } = useI18n();
  const toast = useToast();
  const initial = (): { dev: BootDevice; on: boolean }[] => {
    const on = current.filter((d): d is BootDevice => (BOOT_DEVICES as readonly string[]).includes(d));
    return [...on.map((dev) => ({ dev, on: true })), ...BOOT_DEVICES.filter((d) => !on.includes(d)).map((dev) => ({ dev, on: false }))];
  };
  const [order, setOrder] = useState(initial);
  const edit = useApiMutation((api, body: VmEdit) => api.editVm(vm.name, body));
  const move = (i: number, d: -1 | 1) =>
    setOrder((o) => {
      const j = i + d;
      if (j < 0 || j >= o.length) return o;
      const n = [...o];
      [n[i], n[j]] = [n[j]!, n[i]!];
      return n;
    });
  if (vm.image || vm.kernel) {
    return (
      <div className="card">
        <h2>{t("hw.bootOrder")}</h2>
        <p className="muted">{vm.image ? t("hw.bootFixedImage", { image: vm.image }) : t("hw.bootFixedKernel")}</p>
      </div>
    );
  }
  return (
    <div className="card">
      <h2 id="hw-boot">{t("hw.bootOrder")}</h2>
      <ol className="boot-order" aria-labelledby="hw-boot">
        {order.map((o, i) => (
          <li key={o.dev} className="row spread">
            <label className="check">
              <input type="checkbox" checked={o.on} onChange={(e) => setOrder(order.map((x, j) => (j === i ? { ...x, on: e.target.checked } : x)))} />
              {t(BOOT_KEYS[o.dev])}
            </label>
            <span className="row">
              <button type="button" className="small" aria-label={t("hw.moveUp", { item: t(BOOT_KEYS[o.dev]) })} disabled={i === 0} onClick={() => move(i, -1)}>
                ↑
              </button>
              <button type="button" className="small" aria-label={t("hw.moveDown", { item: t(BOOT_KEYS[o.dev]) })} disabled={i === order.length - 1} onClick={() => move(i, 1)}>
                ↓
              </button>
            </span>
          </li>
        ))}
      </ol>
      <ErrorText error={edit.error} />
      <div className="row end">
        <button type="button" className="primary" disabled={edit.isPending} onClick={() => edit.mutate({ bootOrder: order.filter((o) => o.on).map((o) => o.dev) }, { onSuccess: () => toast(t("hw.saved")) })}>
          {t("common.apply")}
        </button>
      </div>
    </div>
  );
}

function Nics({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const toast = useToast();
  const nets = useNetworks();
  const running = vm.state === "running" || vm.state === "paused";
  const move = useApiMutation((api, v: { mac: string; network: string }) => api.moveNic(vm.name, v.mac, v.network));
  const edit = useApiMutation((api, body: VmEdit) => api.editVm(vm.name, body));
  const [addNet, setAddNet] = useState("");
  const onError = (e: unknown) => toast(errorMessage(e, t("error.generic")), "error");
  const nicList = vm.nics.map((n) => ({ network: n.network, mac: n.mac, model: n.model as "virtio" | "e1000" }));
  const change = (mac: string, network: string) => {
    if (running) move.mutate({ mac, network }, { onError, onSuccess: () => toast(t("hw.nicMoved", { mac, network })) });
    else edit.mutate({ nics: nicList.map((n) => (n.mac === mac ? { ...n, network } : n)) }, { onError, onSuccess: () => toast(t("hw.saved")) });
  };
  return (
    <div className="card wide">
      <h2>{t("vm.nics")}</h2>
      {vm.nics.length === 0 ? <p className="muted">{t("vm.noNics")}</p> : null}
      {vm.nics.length > 0 ? (
        <DataTable
          rows={vm.nics}
          label={t("vm.nics")}
          variant="small"
          rowKey={(n) => n.mac}
          rowProps={(n) => ({ "data-nic": n.mac })}
          columns={[
            { label: "host.mac", cell: (n) => <code>{n.mac}</code> },
            {
              label: "hw.network",
              cell: (n) => (
                <select aria-label={t("hw.networkOf", { mac: n.mac })} value={n.network} disabled={move.isPending || edit.isPending} onChange={(e) => change(n.mac, e.target.value)}>
                  {!nets.data?.some((x) => x.name === n.network) ? <option value={n.network}>{n.network}</option> : null}
                  {nets.data?.map((x) => (
                    <option key={x.name} value={x.name}>
                      {x.name}
                    </option>
                  ))}
                </select>
              ),
            },
            { label: "hw.model", cell: (n) => n.model },
            { label: "hw.tap", cell: (n) => (n.tap ? <code>{n.tap}</code> : "—") },
            { label: "vms.col.ips", className: "ips", cell: (n) => n.ips.join(", ") || "—" },
            {
              label: "vms.col.actions",
              omit: running,
              cell: (n) => (
                <button type="button" className="danger small" onClick={() => edit.mutate({ nics: nicList.filter((x) => x.mac !== n.mac) }, { onError })}>
                  {t("common.remove")}
                </button>
              ),
            },
          ]}
        />
      ) : null}
      {move.isPending ? <p className="muted">{t("hw.moving")}</p> : null}
      {!running ? (
        <div className="row add-row">
          <select aria-label={t("hw.addNicNetwork")} value={addNet} onChange={(e) => setAddNet(e.target.value)}>
            <option value="">{t("hw.pickNetwork")}</option>
            {nets.data?.map((x) => (
              <option key={x.name} value={x.name}>
                {x.name}
              </option>
            ))}
          </select>
          <button type="button" disabled={!addNet || edit.isPending} onClick={() => edit.mutate({ nics: [...nicList, { network: addNet }] }, { onError, onSuccess: () => setAddNet("") })}>
            {t("hw.addNic")}
          </button>
        </div>
      ) : null}
    </div>
  );
}

function Disks({ vm }: { vm: Vm }) {
  const { t } = useI18n();
  const toast = useToast();
  const more = vmMore(vm);
  const running = vm.state === "running" || vm.state === "paused";
  const [size, setSize] = useState("8");
  const [alloc, setAlloc] = useState<"sparse" | "full">("sparse");
  const [needForce, setNeedForce] = useState<string | null>(null);
  const edit = useApiMutation((api, body: VmEdit) => api.editVm(vm.name, body));
  const add = (force: boolean) =>
    edit.mutate(
      { disks: [{ sizeBytes: Math.round(Number(size) * 1024 ** 3), alloc }], ...(force ? { force: true } : {}) },
      {
        onSuccess: () => (setNeedForce(null), toast(t("hw.saved"))),
        onError: (e) => (e.code === "KVMGR_ERR_DISK_SPACE" ? setNeedForce(e.message) : undefined),
      },
    );
  return (
    <div className="card wide">
      <h2>{t("vm.disks")}</h2>
      {more.disks.length === 0 ? <p className="muted">{t("vm.noDisks")}</p> : null}
      {more.disks.length > 0 ? (
        <DataTable
          rows={more.disks}
          label={t("vm.disks")}
          variant="small"
          rowKey={(d) => d.path}
          columns={[
            { label: "hw.path", cell: (d) => <code>{d.path}</code> },
            { label: "hw.format", cell: (d) => d.format },
            { label: "hw.size", cell: (d) => formatBytes(d.virtualSizeBytes) },
            { label: "hw.allocated", cell: (d) => formatBytes(d.allocatedBytes) },
            { label: "hw.bus", cell: (d) => d.bus ?? "—" },
            {
              label: "vms.col.actions",
              omit: running,
              cell: (_d, i) => (
                <button type="button" className="danger small" onClick={() => edit.mutate({ removeDisks: [i] })}>
                  {t("hw.detach")}
                </button>
              ),
            },
          ]}
        />
      ) : null}
      <div className="field-row wrap">
        <Field id="hw-disk-size" label={t("hw.newDiskGiB")} error={fieldError(edit.error, "disks", "disks.sizeBytes")}>
          <input {...fieldAria("hw-disk-size", fieldError(edit.error, "disks", "disks.sizeBytes"))} type="number" min={1} value={size} onChange={(e) => setSize(e.target.value)} />
        </Field>
        <Field id="hw-disk-alloc" label={t("wiz.alloc")}>
          <select id="hw-disk-alloc" value={alloc} onChange={(e) => setAlloc(e.target.value as "sparse" | "full")}>
            <option value="sparse">{t("wiz.sparse")}</option>
            <option value="full">{t("wiz.full")}</option>
          </select>
        </Field>
        <button type="button" disabled={edit.isPending} onClick={() => add(false)}>
          {edit.isPending ? t("common.working") : t("hw.addDisk")}
        </button>
      </div>
      {needForce ? (
        <div className="warning" role="alert">
          <p>{needForce}</p>
          <button type="button" className="warn" onClick={() => add(true)}>
            {t("wiz.createAnyway")}
          </button>
        </div>
      ) : edit.error && !fieldError(edit.error, "disks", "disks.sizeBytes") ? (
        <ErrorText error={edit.error} />
      ) : null}
    </div>
  );
}
