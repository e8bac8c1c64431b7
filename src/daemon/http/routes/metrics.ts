/** GET /metrics: Prometheus text format (on TCP behind the token like the API). */
import type { FastifyInstance } from "fastify";
import type { Services } from "../../services/index.js";

export function metricsRoutes(app: FastifyInstance, s: Services): void {
  app.get("/metrics", async (_req, reply) => {
    const text = await s.metrics.metrics();
    return reply.type(s.metrics.contentType).send(text);
  });
}
