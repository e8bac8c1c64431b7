/** Reads a network's dnsmasq lease file. */
import { readFileSync } from "node:fs";
import { parseLeases, type ParsedLease } from "../../core/render/dnsmasq-conf.js";

export function readLeases(leaseFile: string): ParsedLease[] {
  try {
    return parseLeases(readFileSync(leaseFile, "utf8"));
  } catch {
    return [];
  }
}
