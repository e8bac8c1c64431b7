/** /v1/networks */
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import { Network, NetworkCreate, NetworkEdit, PortForwardCreate, PortForwardView, type NetworkEdit as NetworkEditT } from "../../../api/network.js";
import { KvmgrError, invalid } from "../../../api/errors.js";
import type { WebSocket } from "ws";
import { PcapReader, summarizeFrame } from "../../../core/model/pcap.js";
import type { CaptureRequest } from "../../services/capture.js";
import { keepAlive } from "../ws-util.js";
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
  app.patch<{ Params: NameParams; Body: unknown }>("/v1/networks/:name", { schema: { params: NameParams, body: NetworkEdit } }, (req) =>
    s.networks.edit(req.params.name, req.body as NetworkEditT),
  );
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
  // Packets of a network's bridge (?vm=VM: that VM's tap; ?uplink=true: the uplink), until
  // ?count packets or until the client goes away; ?filter is a BPF expression.
  // Plain GET: a pcap file (format=pcap) or tcpdump's lines (format=text, default) streamed,
  // X-Capture-Interface naming where it listens. WebSocket: one JSON text frame per packet,
  // {type: "packet", time, length, src, dst, proto, info, raw (base64 bytes)}, after
  // {type: "start", iface}; a failure is {error: {code, message}}.
  app.route<{ Params: NameParams; Querystring: Record<string, string | undefined> }>({
    method: "GET",
    url: "/v1/networks/:name/capture",
    handler: async (req, reply): Promise<void> => {
      const q = req.query;
      const format = q.format ?? "text";
      if (format !== "pcap" && format !== "text") throw invalid("format", "format must be pcap or text");
      const cap = await s.capture.start(captureRequest(req.params.name, q, format));
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
    },
    wsHandler: (socket: WebSocket, req) => {
      let cap: Awaited<ReturnType<typeof s.capture.start>> | null = null;
      let closed = false;
      const stopPing = keepAlive(socket);
      socket.on("close", () => {
        closed = true;
        stopPing();
        cap?.stop();
      });
      const fail = (e: unknown) => {
        const err = e instanceof KvmgrError ? e : new KvmgrError("KVMGR_ERR_INTERNAL", `Capture failed: ${e instanceof Error ? e.message : String(e)}`);
        if (!closed) socket.send(JSON.stringify(err.toBody()));
        socket.close(1000, "capture failed");
      };
      let request: CaptureRequest;
      try {
        request = captureRequest(req.params.name, req.query, "pcap");
      } catch (e) {
        fail(e);
        return;
      }
      s.capture
        .start(request)
        .then((c) => {
          cap = c;
          if (closed) return c.stop();
          socket.send(JSON.stringify({ type: "start", iface: c.iface }));
          const reader = new PcapReader();
          c.output.on("data", (chunk: Buffer) => {
            let packets;
            try {
              packets = reader.feed(chunk);
            } catch (e) {
              c.stop();
              return fail(e);
            }
            for (const p of packets) {
              // A viewer that stopped reading loses packets rather than growing the daemon's memory.
              if (socket.bufferedAmount > 4 << 20) continue;
              socket.send(JSON.stringify({ type: "packet", time: p.time, length: p.length, ...summarizeFrame(p.raw), raw: Buffer.from(p.raw).toString("base64") }));
            }
          });
          c.output.once("end", () => socket.close(1000, "capture ended"));
        })
        .catch(fail);
    },
  });
  app.delete<{ Params: NameParams }>("/v1/networks/:name", { schema: { params: NameParams } }, async (req, reply) => {
    await s.networks.delete(req.params.name, (net) => s.vms.vmsOn(net, false));
    return reply.status(204).send();
  });
}

/** A capture request from query parameters (the same for plain GET and WebSocket). */
function captureRequest(network: string, q: Record<string, string | undefined>, format: "pcap" | "text"): CaptureRequest {
  if (q.count !== undefined && !/^\d+$/.test(q.count)) throw invalid("count", "--count must be a whole number.");
  return {
    network,
    vm: q.vm === "" ? undefined : q.vm,
    uplink: q.uplink === "true" || q.uplink === "1",
    count: q.count === undefined ? undefined : Number(q.count),
    filter: q.filter === "" ? undefined : q.filter,
    format,
  };
}
