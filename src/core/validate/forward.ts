/** Validation of port forwards of nat networks. Pure. */
import { KvmgrError, invalid } from "../../api/errors.js";
import { PortForwardCreate as PortForwardCreateSchema, type PortForward, type PortForwardCreate } from "../../api/network.js";
import { checkSchema } from "./schema-check.js";
import type { NetworkSpec } from "./network.js";

export interface ForwardContext {
  network: NetworkSpec;
  /** every network, for host ports already forwarded elsewhere */
  networks: readonly Pick<NetworkSpec, "name" | "forwards">[];
  /** names of VMs with a NIC on this network */
  vmsOnNetwork: readonly string[];
  /** whether a VM of that name exists at all */
  vmExists: (name: string) => boolean;
}

export function validateForwardAdd(input: PortForwardCreate, ctx: ForwardContext): PortForward {
  checkSchema(PortForwardCreateSchema, input);
  const net = ctx.network;
  if (net.mode !== "nat") {
    throw invalid("network", `Port forwards apply to nat networks; '${net.name}' is ${net.mode}.`);
  }
  const proto = input.proto ?? "tcp";
  if (!ctx.vmExists(input.vm)) throw invalid("vm", `There is no VM named '${input.vm}'.`);
  if (!ctx.vmsOnNetwork.includes(input.vm)) throw invalid("vm", `VM '${input.vm}' has no NIC on network '${net.name}'.`);
  for (const n of ctx.networks) {
    const dup = n.forwards.find((f) => f.proto === proto && f.hostPort === input.hostPort);
    if (dup) {
      throw new KvmgrError("KVMGR_ERR_NET_CONFLICT", `Host port ${proto}/${input.hostPort} is already forwarded to ${dup.vm}:${dup.port} by network '${n.name}'.`);
    }
  }
  return { proto, hostPort: input.hostPort, vm: input.vm, port: input.port };
}

/** The forwards left after removing host port `proto/hostPort`; refuses one that does not exist. */
export function validateForwardRemove(net: NetworkSpec, proto: "tcp" | "udp", hostPort: number): PortForward[] {
  const left = net.forwards.filter((f) => !(f.proto === proto && f.hostPort === hostPort));
  if (left.length === net.forwards.length) {
    throw new KvmgrError("KVMGR_ERR_NOT_FOUND", `Network '${net.name}' has no port forward of ${proto}/${hostPort}.`);
  }
  return left;
}
