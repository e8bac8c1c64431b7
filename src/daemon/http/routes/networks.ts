/** /v1/networks */
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import { Network, NetworkCreate } from "../../../api/network.js";
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
  app.delete<{ Params: NameParams }>("/v1/networks/:name", { schema: { params: NameParams } }, async (req, reply) => {
    await s.networks.delete(req.params.name, (net) => s.vms.vmsOn(net, false));
    return reply.status(204).send();
  });
}
