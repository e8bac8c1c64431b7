/**
 * A running VM's input and output: consoles (WebSockets), the guest agent, live statistics.
 *   GET  /v1/vms/:name/serial   WebSocket: the serial console, raw bytes both ways (binary frames;
 *                               text frames are taken as UTF-8); the scrollback first unless ?scrollback=0
 *   GET  /v1/vms/:name/serial/log?previous=1   the serial log QEMU wrote (this run's, or the one before), running or not
 *   GET  /v1/vms/:name/vnc      WebSocket: raw RFB to QEMU's VNC server (for noVNC), binary frames
 *   POST /v1/vms/:name/exec     run a command through the guest agent
 *   POST /v1/vms/:name/agent/shutdown   ask the guest agent to power the guest off (or reboot, halt)
 *   GET  /v1/vms/:name/stats?since=MS   samples of the last ten minutes
 */
import { createConnection } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "@sinclair/typebox";
import { createWebSocketStream, type WebSocket } from "ws";
import { invalid } from "../../../api/errors.js";
import { VmStats } from "../../../api/stats.js";
import { AgentShutdownRequest, ExecRequest, ExecResult } from "../../../api/vm-io.js";
import type { Services } from "../../services/index.js";
import { STATS_INTERVAL_MS } from "../../services/stats.js";
import { frameBytes, keepAlive } from "../ws-util.js";

const NameParams = Type.Object({ name: Type.String() });
type NameParams = { name: string };

export function vmIoRoutes(app: FastifyInstance, s: Services): void {
  /** Refuses the upgrade with the usual HTTP error when the VM is missing or not running. */
  const mustRun = (req: FastifyRequest, _reply: FastifyReply, done: (e?: Error) => void) => {
    try {
      s.runtime.require((req.params as NameParams).name);
      done();
    } catch (e) {
      done(e as Error);
    }
  };

  app.get<{ Params: NameParams; Querystring: { scrollback?: string } }>(
    "/v1/vms/:name/serial",
    { websocket: true, schema: { params: NameParams }, preValidation: mustRun },
    (socket: WebSocket, req) => {
      const replay = req.query.scrollback !== "0" && req.query.scrollback !== "false";
      let session: ReturnType<typeof s.serial.open> | null = null;
      try {
        session = s.serial.open(req.params.name, {
          onData: (chunk) => {
            // A viewer that stopped reading loses output rather than growing the daemon's memory.
            if (socket.bufferedAmount < 4 << 20) socket.send(chunk, { binary: true });
          },
          onEnd: () => socket.close(1000, "the VM stopped"),
        });
      } catch (e) {
        socket.close(1011, e instanceof Error ? e.message.slice(0, 120) : "console unavailable");
        return;
      }
      if (replay && session.scrollback.length > 0) socket.send(session.scrollback, { binary: true });
      socket.on("message", (data) => session?.write(frameBytes(data)));
      const stopPing = keepAlive(socket);
      socket.on("close", () => {
        stopPing();
        session?.close();
      });
    },
  );

  app.get<{ Params: NameParams; Querystring: { previous?: string } }>("/v1/vms/:name/serial/log", { schema: { params: NameParams } }, (req, reply) => {
    s.vms.get(req.params.name); // 404 for an unknown VM (no need to build its whole view)
    const previous = req.query.previous === "1" || req.query.previous === "true";
    return reply.type("application/octet-stream").send(s.serial.log(req.params.name, previous));
  });

  app.get<{ Params: NameParams }>("/v1/vms/:name/vnc", { websocket: true, schema: { params: NameParams }, preValidation: mustRun }, (socket: WebSocket, req) => {
    // QEMU's VNC server takes many clients: each viewer gets its own connection, bridged byte for byte.
    const vnc = createConnection(s.runtime.paths(req.params.name).vnc);
    const ws = createWebSocketStream(socket);
    const stopPing = keepAlive(socket);
    const end = () => {
      stopPing();
      vnc.destroy();
      ws.destroy();
    };
    vnc.on("error", () => socket.close(1011, "the VM's VNC server went away"));
    vnc.on("close", end);
    ws.on("error", end);
    ws.on("close", end);
    vnc.pipe(ws);
    ws.pipe(vnc);
  });

  app.post<{ Params: NameParams; Body: ExecRequest }>(
    "/v1/vms/:name/exec",
    { schema: { params: NameParams, body: ExecRequest }, config: { response: ExecResult } },
    (req) => s.agents.exec(req.params.name, req.body),
  );

  app.post<{ Params: NameParams; Body: AgentShutdownRequest | undefined }>(
    "/v1/vms/:name/agent/shutdown",
    { schema: { params: NameParams, body: Type.Optional(AgentShutdownRequest) } },
    async (req, reply) => {
      const mode = req.body?.mode ?? "powerdown";
      if (mode !== "reboot") await s.vms.dropRebootRequest(req.params.name);
      await s.agents.shutdown(req.params.name, mode);
      return reply.status(202).send(s.vms.show(req.params.name));
    },
  );

  app.get<{ Params: NameParams; Querystring: { since?: string } }>("/v1/vms/:name/stats", { schema: { params: NameParams }, config: { response: VmStats } }, (req) => {
    const name = req.params.name;
    s.vms.show(name); // 404 for an unknown VM
    const since = req.query.since === undefined ? 0 : Number(req.query.since);
    if (!Number.isFinite(since) || since < 0) throw invalid("since", "since must be a time in ms since the epoch.");
    return { vm: name, intervalMs: STATS_INTERVAL_MS, samples: s.stats.samples(name, since) };
  });
}
