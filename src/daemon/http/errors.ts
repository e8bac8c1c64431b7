/** The one place errors become HTTP responses. */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { KvmgrError } from "../../api/errors.js";
import type { Logger } from "pino";

export function errorHandler(log: Logger) {
  return (err: FastifyError | Error, _req: FastifyRequest, reply: FastifyReply): void => {
    if (err instanceof KvmgrError) {
      if (err.httpStatus >= 500) log.error({ err }, err.message);
      void reply.status(err.httpStatus).send(err.toBody());
      return;
    }
    const fe = err as FastifyError;
    if (typeof fe.statusCode === "number" && fe.statusCode < 500) {
      // Fastify's own refusals (malformed JSON, body too large, unsupported media type).
      const msg = fe.message.endsWith(".") ? fe.message : `${fe.message}.`;
      void reply.status(fe.statusCode).send(new KvmgrError("KVMGR_ERR_INPUT_INVALID", msg).toBody());
      return;
    }
    log.error({ err }, "internal error");
    void reply.status(500).send(new KvmgrError("KVMGR_ERR_INTERNAL", `Internal error: ${err.message}`).toBody());
  };
}
