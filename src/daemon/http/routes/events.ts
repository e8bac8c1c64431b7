/**
 * GET /v1/events (WebSocket): every live event of the daemon as one JSON text frame each,
 * optionally filtered (`?types=vm.state,vm.stats&vm=NAME&network=NET`). A client changes its
 * filter by sending a JSON text frame of the same keys, e.g. `{"types":["vm.*"],"vm":["vm1"]}`.
 */
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import { KvmgrError } from "../../../api/errors.js";
import { matchesFilter, parseEventFilter, type EventFilter } from "../../events/filter.js";
import type { Services } from "../../services/index.js";
import { keepAlive } from "../ws-util.js";

/** A subscriber this far behind is cut off rather than buffered without bound. */
const MAX_BUFFERED = 8 << 20;

export function eventRoutes(app: FastifyInstance, s: Services): void {
  app.get<{ Querystring: Record<string, unknown> }>(
    "/v1/events",
    {
      websocket: true,
      // A bad filter is refused before the upgrade, as an HTTP error with the usual body.
      preValidation: (req, _reply, done) => {
        try {
          parseEventFilter(req.query);
          done();
        } catch (e) {
          done(e as KvmgrError);
        }
      },
    },
    (socket: WebSocket, req) => {
      let filter: EventFilter = parseEventFilter(req.query);
      const unsubscribe = s.events.subscribe((e) => {
        if (!matchesFilter(filter, e)) return;
        if (socket.bufferedAmount > MAX_BUFFERED) {
          socket.close(1013, "too far behind the event stream");
          return;
        }
        socket.send(JSON.stringify(e));
      });
      socket.on("message", (data, isBinary) => {
        try {
          if (isBinary) throw new KvmgrError("KVMGR_ERR_INPUT_INVALID", "Send the event filter as a JSON text frame.");
          const parsed: unknown = JSON.parse(Buffer.from(data as Buffer).toString("utf8"));
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new KvmgrError("KVMGR_ERR_INPUT_INVALID", "The event filter must be a JSON object.");
          filter = parseEventFilter(parsed as Record<string, unknown>);
        } catch (e) {
          const err = e instanceof KvmgrError ? e : new KvmgrError("KVMGR_ERR_INPUT_INVALID", "The event filter must be JSON.");
          socket.send(JSON.stringify(err.toBody()));
        }
      });
      const stopPing = keepAlive(socket);
      socket.on("close", () => {
        unsubscribe();
        stopPing();
      });
    },
  );
}
