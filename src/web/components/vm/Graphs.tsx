/** Live CPU, memory, disk and network graphs (uPlot, loaded only on this view). */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Point } from "../../api/stats.js";
import { useI18n } from "../../i18n/index.js";
import { formatBytes } from "../common.js";

interface Line {
  label: string;
  color: string;
  values: (number | null)[];
}

function Chart({ title, times, lines, unit, max, floor = 1 }: { title: string; times: number[]; lines: Line[]; unit: (v: number) => string; max?: number; floor?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = [times, ...lines.map((l) => l.values)] as uPlot.AlignedData;
  const shape = lines.map((l) => l.label).join("|");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 140,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: max !== undefined ? { range: [0, max] } : { range: (_u, _min, mx) => [0, Math.max(floor, mx * 1.1)] } },
      axes: [{ stroke: "#5d6b7c" }, { stroke: "#5d6b7c", size: 70, values: (_u, vals) => vals.map((v) => unit(v)) }],
      series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, fill: `${l.color}22`, value: (_u: uPlot, v: number | null) => (v == null ? "—" : unit(v)) }))],
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 140 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, max]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure className="graph">
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

export default function Graphs({ series }: { series: readonly Point[] }) {
  const { t } = useI18n();
  const times = series.map((p) => p.t);
  const rate = (v: number) => `${formatBytes(v)}/s`;
  return (
    <div className="graphs">
      <Chart title={t("graph.cpu")} times={times} max={100} unit={(v) => `${v.toFixed(0)}%`} lines={[{ label: t("graph.cpuLine"), color: "#1d5fd1", values: series.map((p) => p.cpuPercent) }]} />
      <Chart
        title={t("graph.memory")}
        times={times}
        unit={(v) => formatBytes(v * 1048576)}
        lines={[{ label: t("graph.memUsed"), color: "#7c3aed", values: series.map((p) => p.memUsedMiB) }]}
      />
      <Chart
        title={t("graph.disk")}
        times={times}
        unit={rate}
        floor={4096}
        lines={[
          { label: t("graph.read"), color: "#0891b2", values: series.map((p) => p.diskReadBps) },
          { label: t("graph.write"), color: "#d97706", values: series.map((p) => p.diskWriteBps) },
        ]}
      />
      <Chart
        title={t("graph.network")}
        times={times}
        unit={rate}
        floor={4096}
        lines={[
          { label: t("graph.rx"), color: "#16a34a", values: series.map((p) => p.netRxBps) },
          { label: t("graph.tx"), color: "#dc2626", values: series.map((p) => p.netTxBps) },
        ]}
      />
    </div>
  );
}
