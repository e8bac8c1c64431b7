/** /v1/host */
import type { FastifyInstance } from "fastify";
import { HostInfo } from "../../../api/host.js";
import type { Services } from "../../services/index.js";

export function hostRoutes(app: FastifyInstance, s: Services): void {
  app.get("/v1/host", { config: { response: HostInfo } }, () => s.host.show());
}
