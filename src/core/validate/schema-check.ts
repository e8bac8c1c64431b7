/**
 * Checks a value against an API schema and turns the first mismatch into one sentence
 * (the schema's `errorHint`), naming the field. The API, the CLI and the UI all get these words.
 */
import type { TSchema, Static } from "@sinclair/typebox";
import { Value, type ValueError } from "@sinclair/typebox/value";
import { invalid } from "../../api/errors.js";
import { hintOf } from "../../api/common.js";

function fieldOf(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  return parts.filter((p) => !/^\d+$/.test(p)).join(".") || "body";
}

function sentence(e: ValueError, value: unknown): string {
  const field = fieldOf(e.path);
  const hint = hintOf(e.schema);
  if (e.path.endsWith("/") || e.message.startsWith("Unexpected property")) return `Unknown field '${field}'.`;
  if (e.value === undefined) return `The field '${field}' is required.`;
  const shown = typeof e.value === "string" ? `'${e.value}'` : JSON.stringify(e.value);
  void value;
  return hint ? `Invalid ${field} ${shown}: ${hint}.` : `Invalid ${field} ${shown}: ${e.message.toLowerCase()}.`;
}

/** Throws KVMGR_ERR_INPUT_INVALID unless `value` fits `schema`. */
export function checkSchema<S extends TSchema>(schema: S, value: unknown): asserts value is Static<S> {
  if (Value.Check(schema, value)) return;
  // Prefer the most specific error: union schemas report the union, which carries the hint.
  const first = Value.Errors(schema, value).First();
  if (!first) throw invalid("body", "The request body does not fit the API schema.");
  throw invalid(fieldOf(first.path), sentence(first, value));
}
