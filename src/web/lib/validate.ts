/**
 * Client-side check of a request body against the API's own TypeBox schema: the same
 * schema and the same one-sentence hints (`errorHint`) the daemon uses, per field.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { hintOf } from "../../api/common.js";

/** Field path as the daemon names it in `error.field` (e.g. "dhcpRange.start"). */
export function fieldOf(path: string): string {
  return (
    path
      .split("/")
      .filter((p) => p !== "" && !/^\d+$/.test(p))
      .join(".") || "body"
  );
}

export interface FieldProblem {
  field: string;
  /** the schema's hint (English; the UI translates it), or null when the field is missing */
  hint: string | null;
  kind: "invalid" | "required" | "unknown";
}

/** Every problem of `value` against `schema`, at most one per field (the first). */
export function checkFields(schema: TSchema, value: unknown): Map<string, FieldProblem> {
  const out = new Map<string, FieldProblem>();
  if (Value.Check(schema, value)) return out;
  for (const e of Value.Errors(schema, value)) {
    const field = fieldOf(e.path);
    if (out.has(field)) continue;
    if (e.message.startsWith("Unexpected property")) out.set(field, { field, hint: null, kind: "unknown" });
    else if (e.value === undefined) out.set(field, { field, hint: null, kind: "required" });
    else out.set(field, { field, hint: hintOf(e.schema) ?? e.message, kind: "invalid" });
  }
  return out;
}
