/** Output of the CLI: aligned tables for people, JSON for scripts. */

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + "\n");
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

export function printTable(headers: string[], rows: string[][]): void {
  process.stdout.write(table(headers, rows));
}

/** `key: value` lines; nested values as compact JSON. */
export function printFields(obj: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  for (const [k, v] of Object.entries(obj)) {
    const shown = v === null || v === undefined ? "-" : typeof v === "string" ? v : JSON.stringify(v);
    process.stdout.write(`${(k + ":").padEnd(width + 2)}${shown}\n`);
  }
}

const MiB = 1024 * 1024;

/** 1.5 GiB, 12.0 MiB, 3.2 KiB, 17 B */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
