/**
 * The UI's one table markup: column headers from the catalogue, and each cell labelled with its
 * column's name (`data-label`), which the narrow layout shows in place of the header row.
 */
import type { HTMLAttributes, ReactNode } from "react";
import { useI18n } from "../i18n/index.js";
import type { MessageKey } from "../i18n/en.js";

export interface Column<R> {
  label: MessageKey;
  cell: (row: R, index: number) => ReactNode;
  /** the cell that names the row: a row header (`<th scope="row">`) for screen readers */
  rowHeader?: boolean;
  className?: string;
  /** left out, header and cells (e.g. actions that only a stopped VM has) */
  omit?: boolean;
}

/** `data-*` attributes and a title a row may carry (tests and tools find rows by them) */
export type RowProps = Record<`data-${string}`, string> & Pick<HTMLAttributes<HTMLTableRowElement>, "title">;

export function DataTable<R>(p: {
  rows: readonly R[];
  columns: readonly Column<R>[];
  rowKey: (row: R, index: number) => string;
  rowProps?: (row: R) => RowProps;
  /** the table's accessible name */
  label?: string;
  /** "small", "mono"… besides "list" */
  variant?: string;
  hidden?: boolean;
}) {
  const { t } = useI18n();
  const cols = p.columns.filter((c) => !c.omit);
  return (
    <table className={p.variant ? `list ${p.variant}` : "list"} aria-label={p.label} hidden={p.hidden}>
      <thead>
        <tr>
          {cols.map((c) => (
            <th key={c.label} scope="col">
              {t(c.label)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r, i) => (
          <tr key={p.rowKey(r, i)} {...p.rowProps?.(r)}>
            {cols.map((c) =>
              c.rowHeader ? (
                <th key={c.label} scope="row" data-label={t(c.label)} className={c.className}>
                  {c.cell(r, i)}
                </th>
              ) : (
                <td key={c.label} data-label={t(c.label)} className={c.className}>
                  {c.cell(r, i)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
