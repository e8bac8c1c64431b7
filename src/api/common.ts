/**
 * Shared field schemas. Each carries `errorHint`, the one sentence shown when a value does
 * not fit: the API, the CLI and the web UI report the same words.
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";

/** Read the hint sentence attached to a schema, if any. */
export function hintOf(schema: TSchema): string | undefined {
  const h = (schema as { errorHint?: unknown }).errorHint;
  return typeof h === "string" ? h : undefined;
}

/** A network or VM name: a DNS label, so VMs can be resolved as NAME.NET. */
export const NAME_PATTERN = "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";
export const Name = Type.String({
  pattern: NAME_PATTERN,
  maxLength: 63,
  errorHint: "a name must be 1 to 63 letters, digits or '-', and must not start or end with '-'",
});

/** Linux interface names: at most 15 bytes (IFNAMSIZ-1), no '/', ':' or whitespace. */
export const IFNAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$";
export const IfName = Type.String({
  pattern: IFNAME_PATTERN,
  maxLength: 15,
  errorHint: "an interface name must be 1 to 15 letters, digits, '_', '.' or '-'",
});

export const MAC_PATTERN = "^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$";
export const Mac = Type.String({
  pattern: MAC_PATTERN,
  errorHint: "a MAC address must be six hex pairs separated by ':' (e.g. 52:54:00:12:34:56)",
});

export const IPV4_PATTERN = "^(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$";
export const Ipv4 = Type.String({
  pattern: IPV4_PATTERN,
  errorHint: "an IPv4 address must be four numbers 0-255 separated by '.'",
});

export const CIDR_PATTERN = IPV4_PATTERN.slice(0, -1) + "/(?:3[0-2]|[12]?\\d)$";
export const Cidr = Type.String({
  pattern: CIDR_PATTERN,
  errorHint: "a subnet must be an IPv4 address and a prefix length, e.g. 10.0.0.0/24",
});

/** Absolute path without NUL or '..' segments. */
export const PATH_PATTERN = "^/(?!.*(?:^|/)\\.\\.(?:/|$))[^\\u0000]*$";
export const AbsPath = Type.String({
  pattern: PATH_PATTERN,
  maxLength: 4096,
  errorHint: "a path must be absolute and must not contain '..'",
});

export type NameT = Static<typeof Name>;
