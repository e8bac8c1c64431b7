/** Moving a VM's NIC to another network: which NIC, and the definition afterwards. Pure. */
import { KvmgrError, invalid } from "../../api/errors.js";
import { MAC_PATTERN } from "../../api/common.js";
import { normalizeMac } from "../model/mac.js";
import type { VmSpec } from "./vm.js";

export interface NicMove {
  /** index of the NIC: its QEMU device is `nic<index>` and its tap the index-th of the VM's */
  index: number;
  from: string;
  to: string;
  spec: VmSpec;
}

export function validateNicMove(spec: VmSpec, mac: string, network: string, networks: readonly string[]): NicMove {
  if (!new RegExp(MAC_PATTERN).test(mac)) {
    throw invalid("mac", "a MAC address must be six hex pairs separated by ':' (e.g. 52:54:00:12:34:56)");
  }
  const m = normalizeMac(mac);
  const index = spec.nics.findIndex((n) => n.mac === m);
  if (index < 0) throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `VM '${spec.name}' has no NIC with MAC ${m}.`);
  if (!networks.includes(network)) throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `Network '${network}' does not exist.`);
  const from = spec.nics[index]?.network ?? "";
  const nics = spec.nics.map((n, i) => (i === index ? { ...n, network } : n));
  return { index, from, to: network, spec: { ...spec, nics } };
}
