/** /v1/host */
import type { FastifyInstance } from "fastify";
import { DoctorReport, HostInfo, HostStorage } from "../../../api/host.js";
import type { Services } from "../../services/index.js";

export function hostRoutes(app: FastifyInstance, s: Services): void {
  app.get("/v1/host", { config: { response: HostInfo } }, () => s.host.show());
  app.get("/v1/host/storage", { config: { response: HostStorage } }, () => s.host.storage());
  app.get("/v1/host/doctor", { config: { response: DoctorReport } }, () => s.doctor.run(false));
  app.post("/v1/host/doctor/fix", { config: { response: DoctorReport } }, () => s.doctor.run(true));
}
