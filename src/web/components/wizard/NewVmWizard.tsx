/**
 * The new-VM wizard, virt-manager's five steps: install source; OS type and version (from
 * osinfo, filling in recommended defaults); memory and CPUs; storage; name, network and
 * "customize configuration before install". Begin Installation lands on the console.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { useQuery } from "@tanstack/react-query";
import { VmCreate } from "../../../api/vm.js";
import { useApi } from "../../auth.js";
import { keys, useApiMutation, useHostStorage, useNetworks } from "../../api/hooks.js";
import { ApiError } from "../../api/client.js";
import type { OsInfo } from "../../api/extra-types.js";
import { stepOfField, wizardBody, type Source, type WizardState } from "./body.js";
import { useI18n } from "../../i18n/index.js";
import type { MessageKey } from "../../i18n/en.js";
import { checkFields } from "../../lib/validate.js";
import { ErrorText, Field, fieldAria, formatBytes } from "../common.js";

const SOURCES: { id: Source; name: MessageKey; line: MessageKey }[] = [
  { id: "pxe", name: "wiz.src.pxe", line: "wiz.src.pxe.line" },
  { id: "iso", name: "wiz.src.iso", line: "wiz.src.iso.line" },
  { id: "import", name: "wiz.src.import", line: "wiz.src.import.line" },
  { id: "kernel", name: "wiz.src.kernel", line: "wiz.src.kernel.line" },
  { id: "test", name: "wiz.src.test", line: "wiz.src.test.line" },
];
const STEPS: MessageKey[] = ["wiz.step.source", "wiz.step.os", "wiz.step.cpumem", "wiz.step.storage", "wiz.step.finish"];

export default function NewVmWizard() {
  const { t, hint } = useI18n();
  const [, navigate] = useLocation();
  const nets = useNetworks();
  const [step, setStep] = useState(0);
  /** Networks are null until the user picks one: the first network (with PXE, for PXE) is the default, as in virt-manager. */
  const [picked, setS] = useState<Omit<WizardState, "network" | "pxeNetwork"> & { network: string | null; pxeNetwork: string | null }>({
    source: "test",
    pxeNetwork: null,
    iso: "",
    importPath: "",
    kernel: "",
    initrd: "",
    cmdline: "",
    os: null,
    memoryMiB: "128",
    vcpus: "1",
    disk: true,
    diskGiB: "8",
    alloc: "sparse",
    name: "",
    network: null,
    customize: false,
  });
  const s: WizardState = useMemo(
    () => ({
      ...picked,
      network: picked.network ?? nets.data?.[0]?.name ?? "",
      pxeNetwork: picked.pxeNetwork ?? nets.data?.find((n) => n.tftpRoot)?.name ?? nets.data?.[0]?.name ?? "",
    }),
    [picked, nets.data],
  );
  const [shown, setShown] = useState<Set<number>>(new Set());
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const [spaceWarning, setSpaceWarning] = useState<string | null>(null);
  const [phase, setPhase] = useState<null | "creating" | "starting">(null);
  const set = <K extends keyof WizardState>(k: K, v: WizardState[K]) => {
    setS((x) => ({ ...x, [k]: v }));
    setServerError(null);
  };

  // Keyboard and screen-reader flow: a new step puts the focus on its first field; a step
  // held back by errors, on the first field in error.
  const stepBody = useRef<HTMLDivElement>(null);
  const [attempt, setAttempt] = useState(0);
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const el = stepBody.current;
    const target = el?.querySelector<HTMLElement>('[aria-invalid="true"]') ?? el?.querySelector<HTMLElement>("input:checked, input:not([type=radio]), select, textarea");
    target?.focus();
  }, [step, attempt]);

  const body = useMemo(() => wizardBody(s, false), [s]);
  const problems = useMemo(() => checkFields(VmCreate, body), [body]);
  /** Own checks the schema cannot make: a source must name its file; a disk needs a size. */
  const localErrors = useMemo(() => {
    const e = new Map<string, string>();
    if (s.source === "iso" && !s.iso.trim()) e.set("cdrom", t("form.required"));
    if (s.source === "import" && !s.importPath.trim()) e.set("disks.import", t("form.required"));
    if (s.source === "kernel" && !s.kernel.trim()) e.set("kernel", t("form.required"));
    if (s.source === "pxe" && !s.pxeNetwork) e.set("pxe", t("wiz.needNetwork"));
    if (s.disk && s.source !== "import" && s.source !== "test" && !(Number(s.diskGiB) > 0)) e.set("disks.sizeBytes", t("wiz.diskSizeInvalid"));
    return e;
  }, [s, t]);
  const errorFor = (field: string, forStep: number): string | null => {
    if (serverError?.field === field) return serverError.message;
    if (!shown.has(forStep)) return null;
    const local = localErrors.get(field);
    if (local) return local;
    const p = problems.get(field);
    if (!p) return null;
    // Fields the wizard supports only on a newer daemon (e.g. os) are reported by the daemon.
    if (p.kind === "unknown") return null;
    return p.kind === "required" ? t("form.required") : hint(p.hint ?? "");
  };
  const stepHasErrors = (i: number) =>
    [...problems.values()].some((p) => p.kind !== "unknown" && stepOfField(p.field) === i) || [...localErrors.keys()].some((f) => stepOfField(f === "pxe" ? "image" : f) === i);

  const next = () => {
    setShown((x) => new Set(x).add(step));
    if (stepHasErrors(step)) return setAttempt((n) => n + 1);
    setStep((x) => Math.min(x + 1, STEPS.length - 1));
  };

  const api = useApi();
  const create = useApiMutation(async (_a, force: boolean) => {
    setPhase("creating");
    const vm = await api.createVm(wizardBody(s, force));
    if (!s.customize) {
      setPhase("starting");
      await api.startVm(vm.name);
    }
    return vm;
  });
  const begin = (force: boolean) => {
    setShown(new Set([0, 1, 2, 3, 4]));
    const bad = [0, 1, 2, 3, 4].find(stepHasErrors);
    if (bad !== undefined) {
      setStep(bad);
      return setAttempt((n) => n + 1);
    }
    create.mutate(force, {
      onSuccess: (vm) => {
        const base = `/vms/${encodeURIComponent(vm.name)}`;
        navigate(s.customize ? `${base}/hardware?install=1` : `${base}/console`);
      },
      onError: (e) => {
        setPhase(null);
        if (e.code === "KVMGR_ERR_DISK_SPACE") {
          setSpaceWarning(e.message);
          setStep(3);
          return;
        }
        setServerError(e);
        if (e.field) setStep(stepOfField(e.field));
        setAttempt((n) => n + 1);
      },
    });
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (step < STEPS.length - 1) next();
    else begin(false);
  };

  return (
    <section className="narrow">
      <div className="page-head">
        <h1>{t("wiz.title")}</h1>
      </div>
      <ol className="steps" aria-label={t("wiz.steps")}>
        {STEPS.map((k, i) => (
          <li key={k} className={i === step ? "current" : i < step ? "done" : ""} aria-current={i === step ? "step" : undefined}>
            <span className="step-no">{i + 1}</span> {t(k)}
          </li>
        ))}
      </ol>
      <form className="card form" onSubmit={submit} noValidate aria-labelledby="wiz-step-title">
        <h2 id="wiz-step-title">{t("wiz.stepOf", { n: step + 1, total: STEPS.length, title: t(STEPS[step]!) })}</h2>
        <div ref={stepBody} className="step-body">
          {step === 0 ? <SourceStep s={s} set={set} errorFor={(f) => errorFor(f, 0)} networks={nets.data?.map((n) => ({ name: n.name, pxe: !!n.tftpRoot })) ?? []} /> : null}
          {step === 1 ? <OsStep s={s} set={set} /> : null}
          {step === 2 ? <CpuMemStep s={s} set={set} errorFor={(f) => errorFor(f, 2)} /> : null}
          {step === 3 ? <StorageStep s={s} set={set} errorFor={(f) => errorFor(f, 3)} warning={spaceWarning} onForce={() => begin(true)} busy={create.isPending} /> : null}
          {step === 4 ? <FinishStep s={s} set={set} errorFor={(f) => errorFor(f, 4)} networks={nets.data?.map((n) => n.name) ?? []} /> : null}
        </div>
        {serverError && (!serverError.field || stepOfField(serverError.field) !== step) ? <ErrorText error={serverError} /> : null}
        {phase ? (
          <div className="progress" role="status" aria-live="polite">
            <span className="spinner" aria-hidden="true" />
            {phase === "creating" ? t("wiz.creating") : t("wiz.starting")}
          </div>
        ) : null}
        <div className="row spread">
          <Link className="button" href="/">
            {t("common.cancel")}
          </Link>
          <div className="row">
            <button type="button" disabled={step === 0 || create.isPending} onClick={() => setStep((x) => Math.max(0, x - 1))}>
              {t("wiz.back")}
            </button>
            {step < STEPS.length - 1 ? (
              <button type="submit" className="primary">
                {t("wiz.forward")}
              </button>
            ) : (
              <button type="submit" className="primary" disabled={create.isPending}>
                {create.isPending ? t("common.working") : s.customize ? t("wiz.finishCustomize") : t("wiz.begin")}
              </button>
            )}
          </div>
        </div>
      </form>
    </section>
  );
}

interface StepProps {
  s: WizardState;
  set: <K extends keyof WizardState>(k: K, v: WizardState[K]) => void;
  errorFor?: (field: string) => string | null;
}

function TextField({ id, label, value, onChange, error, help, placeholder }: { id: string; label: string; value: string; onChange: (v: string) => void; error?: string | null; help?: string; placeholder?: string }) {
  return (
    <Field id={id} label={label} error={error} help={help}>
      <input {...fieldAria(id, error)} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} autoComplete="off" spellCheck={false} />
    </Field>
  );
}

function SourceStep({ s, set, errorFor = () => null, networks }: StepProps & { networks: { name: string; pxe: boolean }[] }) {
  const { t } = useI18n();
  let extra: ReactNode = null;
  if (s.source === "pxe") {
    const err = errorFor("pxe");
    extra = (
      <Field id="wiz-pxe-net" label={t("wiz.pxeNetwork")} error={err} help={t("wiz.pxeHelp")}>
        <select {...fieldAria("wiz-pxe-net", err)} value={s.pxeNetwork} onChange={(e) => set("pxeNetwork", e.target.value)}>
          {networks.length === 0 ? <option value="">{t("wiz.noNetworks")}</option> : null}
          {networks.map((n) => (
            <option key={n.name} value={n.name}>
              {n.pxe ? t("wiz.netWithPxe", { name: n.name }) : n.name}
            </option>
          ))}
        </select>
      </Field>
    );
  } else if (s.source === "iso") {
    extra = <TextField id="wiz-iso" label={t("wiz.isoPath")} value={s.iso} onChange={(v) => set("iso", v)} error={errorFor("cdrom")} help={t("wiz.hostPathHelp")} placeholder="/var/lib/kvmgr/iso/debian-12.iso" />;
  } else if (s.source === "import") {
    extra = <TextField id="wiz-import" label={t("wiz.importPath")} value={s.importPath} onChange={(v) => set("importPath", v)} error={errorFor("disks.import")} help={t("wiz.hostPathHelp")} placeholder="/var/lib/kvmgr/images/disk.qcow2" />;
  } else if (s.source === "kernel") {
    extra = (
      <>
        <TextField id="wiz-kernel" label={t("wiz.kernel")} value={s.kernel} onChange={(v) => set("kernel", v)} error={errorFor("kernel")} placeholder="/boot/vmlinuz" />
        <TextField id="wiz-initrd" label={t("wiz.initrd")} value={s.initrd} onChange={(v) => set("initrd", v)} error={errorFor("initrd")} placeholder="/boot/initrd.img" />
        <TextField id="wiz-cmdline" label={t("wiz.cmdline")} value={s.cmdline} onChange={(v) => set("cmdline", v)} error={errorFor("cmdline")} placeholder="console=ttyS0" />
      </>
    );
  }
  return (
    <>
      <fieldset className="modes">
        <legend>{t("wiz.howInstall")}</legend>
        {SOURCES.map((src) => (
          <label key={src.id} className={`mode${s.source === src.id ? " selected" : ""}`}>
            <input
              type="radio"
              name="source"
              value={src.id}
              checked={s.source === src.id}
              onChange={() => {
                set("source", src.id);
                if (src.id === "test") {
                  set("memoryMiB", "128");
                  set("vcpus", "1");
                }
              }}
            />
            <span>
              <strong>{t(src.name)}</strong>
              <span className="muted">{t(src.line)}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {extra}
    </>
  );
}

function OsStep({ s, set }: StepProps) {
  const { t } = useI18n();
  const api = useApi();
  const [q, setQ] = useState(s.os?.name ?? "");
  const [debounced, setDebounced] = useState(q);
  useEffect(() => {
    const h = setTimeout(() => setDebounced(q.trim()), 200);
    return () => clearTimeout(h);
  }, [q]);
  const list = useQuery({ queryKey: keys.os(debounced), queryFn: () => api.osList(debounced), retry: false, staleTime: 60000 });
  const unavailable = list.error instanceof ApiError && list.error.status === 404;
  const choose = (os: OsInfo | null) => {
    set("os", os);
    if (!os) return;
    setQ(os.name);
    // Recommended defaults of the chosen OS, as virt-manager fills them in.
    if (os.recommended.memoryMiB) set("memoryMiB", String(os.recommended.memoryMiB));
    if (os.recommended.vcpus) set("vcpus", String(os.recommended.vcpus));
    if (os.recommended.diskBytes) set("diskGiB", String(Math.ceil(os.recommended.diskBytes / 1024 ** 3)));
  };
  return (
    <>
      <p className="muted">{s.source === "test" ? t("wiz.osOptionalTest") : t("wiz.osIntro")}</p>
      {unavailable ? (
        <p className="muted">{t("wiz.osUnavailable")}</p>
      ) : (
        <>
          <Field id="wiz-os-search" label={t("wiz.osSearch")} help={t("wiz.osSearchHelp")}>
            <input id="wiz-os-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} autoComplete="off" aria-controls="wiz-os-list" />
          </Field>
          <ErrorText error={list.error} />
          <div className="os-list" id="wiz-os-list" role="radiogroup" aria-label={t("wiz.osList")}>
            <label className={`os-item${s.os === null ? " selected" : ""}`}>
              <input type="radio" name="os" checked={s.os === null} onChange={() => choose(null)} />
              <span>{t("wiz.osGeneric")}</span>
            </label>
            {list.data?.slice(0, 50).map((os) => (
              <label key={os.id} className={`os-item${s.os?.id === os.id ? " selected" : ""}`}>
                <input type="radio" name="os" checked={s.os?.id === os.id} onChange={() => choose(os)} />
                <span>
                  <strong>{os.name}</strong> <code className="muted">{os.id}</code>
                  {os.recommended.memoryMiB || os.recommended.diskBytes ? (
                    <span className="muted small">
                      {" "}
                      {t("wiz.osRecommended", { memory: os.recommended.memoryMiB ? `${os.recommended.memoryMiB} MiB` : "—", disk: os.recommended.diskBytes ? formatBytes(os.recommended.diskBytes) : "—" })}
                    </span>
                  ) : null}
                </span>
              </label>
            ))}
            {list.data && list.data.length === 0 ? <p className="muted">{t("wiz.osNone")}</p> : null}
          </div>
        </>
      )}
    </>
  );
}

function CpuMemStep({ s, set, errorFor = () => null }: StepProps) {
  const { t } = useI18n();
  const memErr = errorFor("memoryMiB");
  const cpuErr = errorFor("vcpus");
  return (
    <div className="field-row">
      <Field id="wiz-mem" label={t("hw.memoryMiB")} error={memErr} help={s.os?.recommended.memoryMiB ? t("wiz.recommended", { value: `${s.os.recommended.memoryMiB} MiB` }) : undefined}>
        <input {...fieldAria("wiz-mem", memErr)} type="number" min={16} step={16} value={s.memoryMiB} onChange={(e) => set("memoryMiB", e.target.value)} />
      </Field>
      <Field id="wiz-cpus" label={t("vm.vcpus")} error={cpuErr} help={s.os?.recommended.vcpus ? t("wiz.recommended", { value: s.os.recommended.vcpus }) : undefined}>
        <input {...fieldAria("wiz-cpus", cpuErr)} type="number" min={1} max={255} value={s.vcpus} onChange={(e) => set("vcpus", e.target.value)} />
      </Field>
    </div>
  );
}

function StorageStep({ s, set, errorFor = () => null, warning, onForce, busy }: StepProps & { warning: string | null; onForce: () => void; busy: boolean }) {
  const { t } = useI18n();
  if (s.source === "import") return <p className="muted">{t("wiz.storageImport", { path: s.importPath })}</p>;
  if (s.source === "test") return <p className="muted">{t("wiz.storageTest")}</p>;
  const sizeErr = errorFor("disks.sizeBytes") ?? errorFor("disks");
  return (
    <>
      <label className="check">
        <input type="checkbox" checked={s.disk} onChange={(e) => set("disk", e.target.checked)} />
        {t("wiz.createDisk")}
      </label>
      {s.disk ? (
        <div className="field-row">
          <Field id="wiz-disk" label={t("hw.newDiskGiB")} error={sizeErr} help={s.os?.recommended.diskBytes ? t("wiz.recommended", { value: formatBytes(s.os.recommended.diskBytes) }) : undefined}>
            <input {...fieldAria("wiz-disk", sizeErr)} type="number" min={1} value={s.diskGiB} onChange={(e) => set("diskGiB", e.target.value)} />
          </Field>
          <Field id="wiz-alloc" label={t("wiz.alloc")} help={s.alloc === "sparse" ? t("wiz.sparseHelp") : t("wiz.fullHelp")}>
            <select id="wiz-alloc" value={s.alloc} onChange={(e) => set("alloc", e.target.value as "sparse" | "full")}>
              <option value="sparse">{t("wiz.sparse")}</option>
              <option value="full">{t("wiz.full")}</option>
            </select>
          </Field>
        </div>
      ) : null}
      {s.disk && !warning ? <FreeSpace sizeGiB={Number(s.diskGiB)} /> : null}
      {warning ? (
        <div className="warning" role="alert">
          <strong>{t("wiz.spaceTitle")}</strong>
          <p>{warning}</p>
          <button type="button" className="warn" disabled={busy} onClick={onForce}>
            {t("wiz.createAnyway")}
          </button>
        </div>
      ) : null}
    </>
  );
}

/** virt-manager's "N GiB available in the default location", and the seed's warning as soon as the size is too large. */
function FreeSpace({ sizeGiB }: { sizeGiB: number }) {
  const { t } = useI18n();
  const storage = useHostStorage();
  if (!storage.data) return null;
  const { dir, freeBytes } = storage.data;
  const size = Number.isFinite(sizeGiB) && sizeGiB > 0 ? sizeGiB * 2 ** 30 : 0;
  if (size > freeBytes) {
    return (
      <p className="warning" role="status" data-testid="wiz-space-early">
        {t("wiz.tooBig", { size: formatBytes(size), free: formatBytes(freeBytes), dir })}
      </p>
    );
  }
  return (
    <p className="muted" data-testid="wiz-free">
      {t("wiz.freeSpace", { free: formatBytes(freeBytes), dir })}
    </p>
  );
}

function FinishStep({ s, set, errorFor = () => null, networks }: StepProps & { networks: string[] }) {
  const { t } = useI18n();
  const nameErr = errorFor("name");
  const netErr = errorFor("nics.network") ?? errorFor("nics");
  return (
    <>
      <Field id="wiz-name" label={t("net.field.name")} error={nameErr} help={t("wiz.nameHelp")}>
        <input {...fieldAria("wiz-name", nameErr)} value={s.name} onChange={(e) => set("name", e.target.value)} autoComplete="off" spellCheck={false} />
      </Field>
      {s.source === "pxe" ? (
        <p className="muted">{t("wiz.pxeNetworkChosen", { name: s.pxeNetwork })}</p>
      ) : (
        <Field id="wiz-net" label={t("hw.network")} error={netErr}>
          <select {...fieldAria("wiz-net", netErr)} value={s.network} onChange={(e) => set("network", e.target.value)}>
            <option value="">{t("wiz.noNic")}</option>
            {networks.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
      )}
      <label className="check">
        <input type="checkbox" checked={s.customize} onChange={(e) => set("customize", e.target.checked)} />
        {t("wiz.customize")}
      </label>
      <dl className="props summary">
        <div>
          <dt>{t("wiz.step.source")}</dt>
          <dd>{t(SOURCES.find((x) => x.id === s.source)!.name)}</dd>
        </div>
        <div>
          <dt>{t("vm.os")}</dt>
          <dd>{s.os?.name ?? t("wiz.osGeneric")}</dd>
        </div>
        <div>
          <dt>{t("wiz.step.cpumem")}</dt>
          <dd>{t("wiz.cpumemSummary", { memory: s.memoryMiB, vcpus: s.vcpus })}</dd>
        </div>
        <div>
          <dt>{t("wiz.step.storage")}</dt>
          <dd>{s.source === "import" ? s.importPath : s.disk && s.source !== "test" ? t("wiz.diskSummary", { size: s.diskGiB, alloc: s.alloc === "sparse" ? t("wiz.sparse") : t("wiz.full") }) : t("wiz.noDisk")}</dd>
        </div>
      </dl>
    </>
  );
}
