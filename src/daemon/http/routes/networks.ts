/** /v1/networks */
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import { Network, NetworkCreate, PortForwardCreate, PortForwardView } from "../../../api/network.js";
import { invalid } from "../../../api/errors.js";
import type { Services } from "../../services/index.js";

const NameParams = Type.Object({ name: Type.String() });
type NameParams = { name: string };

export function networkRoutes(app: FastifyInstance, s: Services): void {
  app.get("/v1/networks", { config: { response: Type.Array(Network) } }, () => s.networks.list());
  app.post<{ Body: unknown }>("/v1/networks", { schema: { body: NetworkCreate } }, async (req, reply) => {
    const net = await s.networks.create(req.body as NetworkCreate);
    return reply.status(201).send(net);
  });
  app.get<{ Params: NameParams }>("/v1/networks/:name", { schema: { params: NameParams } }, (req) => s.networks.show(req.params.name));
  app.get<{ Params: NameParams }>("/v1/networks/:name/leases", { schema: { params: NameParams } }, async (req) => (await s.networks.show(req.params.name)).leases);
  app.post<{ Params: NameParams }>("/v1/networks/:name/start", { schema: { params: NameParams } }, (req) => s.networks.start(req.params.name));
  app.post<{ Params: NameParams }>("/v1/networks/:name/stop", { schema: { params: NameParams } }, (req) =>
    s.networks.stop(req.params.name, (net) => s.vms.vmsOn(net, true)),
  );
  app.get<{ Params: NameParams }>("/v1/networks/:name/forwards", { schema: { params: NameParams }, config: { response: Type.Array(PortForwardView) } }, (req) =>
    s.networks.forwards(req.params.name),
  );
  app.post<{ Params: NameParams; Body: unknown }>("/v1/networks/:name/forwards", { schema: { params: NameParams, body: PortForwardCreate } }, async (req, reply) => {
    const net = await s.networks.addForward(req.params.name, req.body as PortForwardCreate, (vm) => s.vms.exists(vm));
    return reply.status(201).send(net);
  });
  app.delete<{ Params: NameParams & { proto: string; port: string } }>("/v1/networks/:name/forwards/:proto/:port", (req) => {
    const { proto, port } = req.params;
    if (proto !== "tcp" && proto !== "udp") throw invalid("proto", "a protocol must be tcp or udp");
    if (!/^\d{1,5}$/.test(port)) throw invalid("hostPort", "a port must be a whole number between 1 and 65535");
    return s.networks.removeForward(req.params.name, proto, Number(port));
  });
  // Streams packets: a pcap file (format=pcap) or tcpdump's lines (format=text, default) until
  // --count packets or until the client goes away. X-Capture-Interface names where it listens.
  app.get<{ Params: NameParams; Querystring: Record<string, string | undefined> }>("/v1/networks/:name/capture", async (req, reply): Promise<void> => {
    const q = req.query;
    const format = q.format ?? "text";
    if (format !== "pcap" && format !== "text") throw invalid("format", "format must be pcap or text");
    if (q.count !== undefined && !/^\d+$/.test(q.count)) throw invalid("count", "--count must be a whole number.");
    const cap = await s.capture.start({
      network: req.params.name,
      vm: q.vm,
      uplink: q.uplink === "true" || q.uplink === "1",
      count: q.count === undefined ? undefined : Number(q.count),
      filter: q.filter,
      format,
    });
    // Headers go out at once (tcpdump listens now), packets as they come.
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": format === "pcap" ? "application/vnd.tcpdump.pcap" : "text/plain; charset=utf-8",
      "x-capture-interface": cap.iface,
      "cache-control": "no-store",
    });
    reply.raw.flushHeaders();
    reply.raw.once("close", () => cap.stop());
    cap.output.pipe(reply.raw);
  });
  app.delete<{ Params: NameParams }>("/v1/networks/:name", { schema: { params: NameParams } }, async (req, reply) => {
    await s.networks.delete(req.params.name, (net) => s.vms.vmsOn(net, false));
    return reply.status(204).send();
  });
}
