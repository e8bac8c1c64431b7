/** /v1/vms/:name/nics */
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import { Mac, Name } from "../../../api/common.js";
import type { Services } from "../../services/index.js";

const NameParams = Type.Object({ name: Type.String() });
export const NicMoveBody = Type.Object({ mac: Mac, network: Name }, { additionalProperties: false });

export function vmNicRoutes(app: FastifyInstance, s: Services): void {
  app.post<{ Params: { name: string }; Body: { mac: string; network: string } }>(
    "/v1/vms/:name/nics/move",
    { schema: { params: NameParams, body: NicMoveBody } },
    (req) => s.vmNics.move(req.params.name, req.body.mac, req.body.network),
  );
}
