/** kvmgr net … */
import { Command, Option } from "commander";
import { invalid } from "../api/errors.js";
import { NETWORK_MODES } from "../api/enums.js";
import type { DhcpHost, Network, NetworkCreate, NetworkEdit } from "../api/network.js";
import { normalizeMac } from "../core/model/mac.js";
import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { populateTestGuestTftpRoot } from "../host/pxe.js";
import { clientOf, wantsJson } from "./context.js";
import { printFields, printJson, printTable } from "./format.js";

function parseRange(s: string): { start: string; end: string } {
  const [start, end, ...rest] = s.split(",");
  if (start === undefined || end === undefined || rest.length > 0) throw invalid("dhcpRange", `--dhcp-range '${s}' must be FIRST,LAST.`);
  return { start: start.trim(), end: end.trim() };
}

function parseDhcpHost(s: string, prev: DhcpHost[] = []): DhcpHost[] {
  const [mac, ip, hostname, ...rest] = s.split(",");
  if (mac === undefined || ip === undefined || rest.length > 0) throw invalid("dhcpHosts", `--dhcp-host '${s}' must be MAC,IP[,NAME].`);
  return [...prev, hostname !== undefined ? { mac, ip, hostname } : { mac, ip }];
}

/** The reservations after `net edit`: removals first, then additions replacing a MAC's old one. */
export function editedReservations(net: string, cur: readonly DhcpHost[], add: readonly DhcpHost[], remove: readonly string[]): DhcpHost[] {
  const gone = new Set(remove.map(normalizeMac));
  for (const m of remove) {
    if (!cur.some((h) => normalizeMac(h.mac) === normalizeMac(m))) throw invalid("dhcpHosts", `Network '${net}' has no reservation for MAC ${m}.`);
  }
  for (const a of add) gone.add(normalizeMac(a.mac));
  return [...cur.filter((h) => !gone.has(normalizeMac(h.mac))), ...add];
}

/** Whole numbers stay numbers; anything else goes as typed so the API names what is wrong. */
function intOrRaw(s: string): number | string {
  return /^\d+$/.test(s) ? Number(s) : s;
}

function showNetwork(n: Network): void {
  printFields({
    name: n.name,
    mode: n.mode,
    active: n.active ? "yes" : "no",
    bridge: n.bridge,
    subnet: n.subnet,
    gateway: n.gateway,
    dhcp: n.dhcp ? `${n.dhcp.start} - ${n.dhcp.end}` : null,
    uplink: n.uplink,
    autostart: n.autostart ? "yes" : "no",
    ports: n.ports.join(" ") || null,
    firewall: n.nftChains.join(" ") || null,
    moved: n.moved ? `${n.moved.dev}: ${[...n.moved.addresses, ...n.moved.routes].join(", ")}` : null,
  });
  if (n.dhcpHosts.length > 0) {
    process.stdout.write("reservations:\n");
    printTable(["  MAC", "IP", "HOSTNAME"], n.dhcpHosts.map((h) => [`  ${h.mac}`, h.ip, h.hostname ?? "-"]));
  }
  if (n.forwards.length > 0) {
    process.stdout.write("forwards:\n");
    printTable(["  PROTO", "HOST PORT", "VM", "PORT", "VM ADDRESS"], n.forwards.map((f) => [`  ${f.proto}`, String(f.hostPort), f.vm, String(f.port), f.ip ?? "-"]));
  }
  if (n.leases.length > 0) {
    process.stdout.write("leases:\n");
    printTable(["  MAC", "IP", "HOSTNAME"], n.leases.map((l) => [`  ${l.mac}`, l.ip, l.hostname ?? "-"]));
  }
}

export function netCommand(): Command {
  const net = new Command("net").description("virtual networks");

  net
    .command("create <name>")
    .description("define a network")
    .addOption(new Option("--mode <mode>", "network mode").choices([...NETWORK_MODES]).makeOptionMandatory())
    .option("--bridge <br>", "bridge name (default kvbrN)")
    .option("--subnet <cidr>", "IPv4 subnet, e.g. 10.0.0.0/24 (default: a free 192.168.N.0/24)")
    .option("--gateway <ip>", "the bridge's address (default: the subnet's first address)")
    .option("--dhcp-range <first,last>", "DHCP pool", parseRange)
    .option("--dhcp-host <mac,ip[,name]>", "fixed DHCP reservation (repeatable)", parseDhcpHost)
    .option("--uplink <iface>", "outgoing interface (nat, routed) or NIC to enslave (bridge)")
    .option("--tftp-root <dir>", "serve this directory over TFTP for PXE")
    .option("--boot-file <file>", "PXE boot file, relative to --tftp-root")
    .option("--no-dhcp", "no DHCP server on this network")
    .option("--autostart", "start with the daemon")
    .option("--json", "print JSON")
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const body: NetworkCreate = { name, mode: o.mode as NetworkCreate["mode"] };
      if (typeof o.bridge === "string") body.bridge = o.bridge;
      if (typeof o.subnet === "string") body.subnet = o.subnet;
      if (typeof o.gateway === "string") body.gateway = o.gateway;
      if (o.dhcpRange) body.dhcpRange = o.dhcpRange as { start: string; end: string };
      if (o.dhcpHost) body.dhcpHosts = o.dhcpHost as DhcpHost[];
      if (typeof o.uplink === "string") body.uplink = o.uplink;
      if (typeof o.tftpRoot === "string") body.tftpRoot = o.tftpRoot;
      if (typeof o.bootFile === "string") body.bootFile = o.bootFile;
      if (o.dhcp === false) body.dhcp = false;
      if (o.autostart === true) body.autostart = true;
      const n = await clientOf(cmd).createNetwork(body);
      if (wantsJson(cmd)) printJson(n);
      else process.stdout.write(`Network ${n.name} defined (${n.mode}, bridge ${n.bridge}${n.subnet ? `, ${n.subnet}` : ""}).\n`);
    });

  net
    .command("edit <name>")
    .description("change a network's DHCP reservations or autostart; an active network's DHCP server takes new reservations at once")
    .option("--dhcp-host <mac,ip[,name]>", "reserve IP for MAC, replacing MAC's reservation if it has one (repeatable)", parseDhcpHost)
    .option("--remove-dhcp-host <mac>", "remove the reservation of MAC (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--autostart", "start with the daemon")
    .option("--no-autostart", "do not start with the daemon")
    .option("--json", "print JSON")
    .action(async (name: string, o: { dhcpHost?: DhcpHost[]; removeDhcpHost?: string[]; autostart?: boolean }, cmd: Command) => {
      const c = clientOf(cmd);
      const body: NetworkEdit = {};
      if (o.dhcpHost || o.removeDhcpHost) body.dhcpHosts = editedReservations(name, (await c.showNetwork(name)).dhcpHosts, o.dhcpHost ?? [], o.removeDhcpHost ?? []);
      if (o.autostart !== undefined) body.autostart = o.autostart;
      if (Object.keys(body).length === 0) throw invalid("body", "Nothing to change: give at least one option (see 'kvmgr net edit --help').");
      const n = await c.editNetwork(name, body);
      if (wantsJson(cmd)) printJson(n);
      else process.stdout.write(`Network ${name} changed${n.active && body.dhcpHosts ? " (its DHCP server has the new reservations)" : ""}.\n`);
    });

  net
    .command("autostart <name> <on|off>")
    .description("start the network with the daemon, or not")
    .action(async (name: string, onOff: string, _o: unknown, cmd: Command) => {
      if (onOff !== "on" && onOff !== "off") throw invalid("autostart", `Autostart is 'on' or 'off', not '${onOff}'.`);
      await clientOf(cmd).editNetwork(name, { autostart: onOff === "on" });
      process.stdout.write(`Network ${name}: autostart ${onOff}.\n`);
    });

  for (const [verb, done] of [["start", "started"], ["stop", "stopped"]] as const) {
    net
      .command(`${verb} <name>`)
      .description(`${verb} a network`)
      .option("--json", "print JSON")
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const c = clientOf(cmd);
        const n = verb === "start" ? await c.startNetwork(name) : await c.stopNetwork(name);
        if (wantsJson(cmd)) printJson(n);
        else process.stdout.write(`Network ${name} ${done}.\n`);
      });
  }

  net
    .command("delete <name>")
    .description("stop and remove a network")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await clientOf(cmd).deleteNetwork(name);
      process.stdout.write(`Network ${name} deleted.\n`);
    });

  net
    .command("list")
    .description("list networks")
    .option("--json", "print JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const list = await clientOf(cmd).listNetworks();
      if (wantsJson(cmd)) return printJson(list);
      printTable(
        ["NAME", "MODE", "ACTIVE", "BRIDGE", "SUBNET", "PORTS"],
        list.map((n) => [n.name, n.mode, n.active ? "yes" : "no", n.bridge, n.subnet ?? "-", n.ports.join(",") || "-"]),
      );
    });

  net
    .command("show <name>")
    .description("show a network, its ports and leases")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const n = await clientOf(cmd).showNetwork(name);
      if (wantsJson(cmd)) printJson(n);
      else showNetwork(n);
    });

  net
    .command("leases <name>")
    .description("DHCP leases of a network")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const leases = await clientOf(cmd).leases(name);
      if (wantsJson(cmd)) return printJson(leases);
      printTable(["MAC", "IP", "HOSTNAME"], leases.map((l) => [l.mac, l.ip, l.hostname ?? "-"]));
    });

  net
    .command("capture <name>")
    .description("capture packets on a network's bridge (or a VM's NIC, or the uplink): decoded lines, or a pcap file with --write")
    .option("--vm <vm>", "on this VM's NIC (its tap) instead of the bridge")
    .option("--uplink", "on the network's uplink (where NAT is seen)")
    .option("--count <n>", "stop after N packets", intOrRaw)
    .option("--write <file.pcap>", "write a pcap file instead of printing")
    .option("--filter <bpf>", "a BPF filter expression, e.g. 'icmp or port 67'")
    .action(async (name: string, o: { vm?: string; uplink?: boolean; count?: number; write?: string; filter?: string }, cmd: Command) => {
      const res = await clientOf(cmd).capture(name, {
        format: o.write !== undefined ? "pcap" : "text",
        ...(o.vm !== undefined ? { vm: o.vm } : {}),
        ...(o.uplink === true ? { uplink: true } : {}),
        ...(o.count !== undefined ? { count: o.count } : {}),
        ...(o.filter !== undefined ? { filter: o.filter } : {}),
      });
      const iface = String(res.headers["x-capture-interface"] ?? "?");
      process.stderr.write(`capturing on ${iface}${o.count !== undefined ? ` (${o.count} packets)` : ""}; Ctrl-C stops\n`);
      const stop = () => res.destroy();
      process.once("SIGINT", stop);
      const out = o.write !== undefined ? createWriteStream(o.write, { mode: 0o600 }) : process.stdout;
      await pipeline(res, out, { end: o.write !== undefined }).catch((e: unknown) => {
        if (!res.destroyed) throw e;
      });
      process.off("SIGINT", stop);
      if (o.write !== undefined) process.stderr.write(`wrote ${o.write}\n`);
    });

  const fwd = net.command("forward").description("port forwards of a nat network: host port -> VM port");
  fwd
    .command("add <name>")
    .description("forward the host's port P (on its uplink addresses) to port Q of a VM on the network")
    .requiredOption("--host-port <P>", "port on the host", intOrRaw)
    .requiredOption("--vm <vm>", "the VM")
    .requiredOption("--port <Q>", "port on the VM", intOrRaw)
    .addOption(new Option("--proto <proto>", "protocol").choices(["tcp", "udp"]).default("tcp"))
    .option("--json", "print JSON")
    .action(async (name: string, o: { hostPort: number; vm: string; port: number; proto: "tcp" | "udp" }, cmd: Command) => {
      const n = await clientOf(cmd).addForward(name, { proto: o.proto, hostPort: o.hostPort, vm: o.vm, port: o.port });
      if (wantsJson(cmd)) printJson(n.forwards);
      else process.stdout.write(`Forwarding ${o.proto}/${o.hostPort} to ${o.vm}:${o.port} on network ${name}.\n`);
    });
  fwd
    .command("list <name>")
    .description("port forwards of a network")
    .option("--json", "print JSON")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const list = await clientOf(cmd).listForwards(name);
      if (wantsJson(cmd)) return printJson(list);
      printTable(["PROTO", "HOST PORT", "VM", "PORT", "VM ADDRESS"], list.map((f) => [f.proto, String(f.hostPort), f.vm, String(f.port), f.ip ?? "- (no lease yet)"]));
    });
  fwd
    .command("remove <name>")
    .description("remove the port forward of a host port")
    .requiredOption("--host-port <P>", "port on the host", intOrRaw)
    .addOption(new Option("--proto <proto>", "protocol").choices(["tcp", "udp"]).default("tcp"))
    .action(async (name: string, o: { hostPort: number; proto: string }, cmd: Command) => {
      await clientOf(cmd).removeForward(name, o.proto, o.hostPort);
      process.stdout.write(`Removed the forward of ${o.proto}/${o.hostPort} from network ${name}.\n`);
    });

  net
    .command("pxe-root <dir>")
    .description("fill DIR with the test guest's PXE recipe (iPXE script + kernel + initrd), for --tftp-root DIR --boot-file")
    .option("--image <image>", "the image to boot", "test-guest")
    .action((dir: string, o: { image: string }) => {
      if (o.image !== "test-guest") throw invalid("image", "--image must be test-guest.");
      const cache = process.env.KVMGR_CACHE_DIR ?? "/var/cache/kvmgr";
      const root = resolve(dir);
      const bootFile = populateTestGuestTftpRoot(root, `${cache}/images/test-guest`);
      process.stdout.write(`TFTP root ${root} ready: use --tftp-root ${root} --boot-file ${bootFile}\n`);
    });

  return net;
}
