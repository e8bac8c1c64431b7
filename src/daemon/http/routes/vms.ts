/** /v1/vms */
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import { Vm, VmCreate } from "../../../api/vm.js";
import type { Services } from "../../services/index.js";

const NameParams = Type.Object({ name: Type.String() });
type NameParams = { name: string };

export function vmRoutes(app: FastifyInstance, s: Services): void {
  app.get("/v1/vms", { config: { response: Type.Array(Vm) } }, () => s.vms.list());
  app.post<{ Body: unknown }>("/v1/vms", { schema: { body: VmCreate } }, async (req, reply) => {
    const vm = await s.vms.create(req.body as VmCreate);
    return reply.status(201).send(vm);
  });
  app.get<{ Params: NameParams }>("/v1/vms/:name", { schema: { params: NameParams } }, (req) => s.vms.show(req.params.name));
  app.post<{ Params: NameParams }>("/v1/vms/:name/start", { schema: { params: NameParams } }, (req) => s.vms.start(req.params.name));
  app.post<{ Params: NameParams }>("/v1/vms/:name/stop", { schema: { params: NameParams } }, (req) => s.vms.stop(req.params.name));
  app.delete<{ Params: NameParams; Querystring: { force?: string } }>("/v1/vms/:name", { schema: { params: NameParams } }, async (req, reply) => {
    await s.vms.delete(req.params.name, req.query.force === "true" || req.query.force === "1");
    return reply.status(204).send();
  });
}
