/** The API over HTTP: the same routes on the unix socket (no token) and on TCP (token). */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import websocket from "@fastify/websocket";
import type { TSchema } from "@sinclair/typebox";
import { timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import fastifyStatic from "@fastify/static";
import { KvmgrError } from "../../api/errors.js";
import { checkSchema } from "../../core/validate/schema-check.js";
import type { Logger } from "pino";
import type { Services } from "../services/index.js";
import { errorHandler } from "./errors.js";
import { hostRoutes } from "./routes/host.js";
import { networkRoutes } from "./routes/networks.js";
import { vmRoutes } from "./routes/vms.js";
import { vmNicRoutes } from "./routes/vm-nics.js";
import { eventRoutes } from "./routes/events.js";
import { vmIoRoutes } from "./routes/vm-io.js";
import { metricsRoutes } from "./routes/metrics.js";
import { buildOpenApi, collectRoutes } from "./openapi.js";

export interface ServerOptions {
  services: Services;
  log: Logger;
  /**
   * required when set (TCP) as `Authorization: Bearer TOKEN`; WebSocket routes also take
   * `?token=TOKEN` or a `bearer.TOKEN` WebSocket subprotocol (browsers can't set headers there)
   */
  token: string | null;
  /** directory of the built web UI, served at / on TCP */
  webRoot?: string | null;
}

function sameToken(given: string, token: string): boolean {
  const got = Buffer.from(given);
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The WebSocket subprotocol that carries a token: `bearer.TOKEN`. */
export const BEARER_PROTOCOL_PREFIX = "bearer.";

/** Every way a request may carry the token: the header; on a WebSocket upgrade also the query or a subprotocol. */
function tokenOk(req: FastifyRequest, token: string): boolean {
  const header = req.headers.authorization;
  if (header !== undefined) return sameToken(header.replace(/^Bearer\s+/i, ""), token);
  if (req.headers.upgrade?.toLowerCase() !== "websocket") return false;
  const query = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof query === "string") return sameToken(query, token);
  const protocols = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  return protocols.some((p) => p.startsWith(BEARER_PROTOCOL_PREFIX) && sameToken(p.slice(BEARER_PROTOCOL_PREFIX.length), token));
}

/**
 * The subprotocol the server answers with: a browser fails the connection when it offered
 * some and got none back. A real one (noVNC's `binary`, `kvmgr`) before the bearer entry.
 */
function chooseProtocol(protocols: Set<string>): string | false {
  const list = [...protocols];
  return list.find((p) => !p.startsWith(BEARER_PROTOCOL_PREFIX)) ?? list[0] ?? false;
}

function needsToken(url: string): boolean {
  const path = url.split("?")[0] ?? "";
  return path.startsWith("/v1/") || path === "/openapi.json" || path === "/metrics";
}

/** Client routes of the single-page UI: GET paths outside the API whose last segment has no '.'. */
export function isUiRoute(method: string, url: string): boolean {
  const path = url.split("?")[0] ?? "";
  if (method !== "GET" && method !== "HEAD") return false;
  if (path.startsWith("/v1/") || path === "/v1" || path === "/openapi.json") return false;
  return !(path.split("/").pop() ?? "").includes(".");
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: "http" }, { level: "warn" }),
    bodyLimit: 1 << 20,
  }) as unknown as FastifyInstance;
  // One schema check for API, CLI and UI: the TypeBox schema with its one-sentence hints.
  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    try {
      checkSchema(schema as TSchema, data);
      return { value: data };
    } catch (e) {
      return { error: e as Error };
    }
  });
  app.setErrorHandler(errorHandler(opts.log));
  // Before the routes, to see every upgrade request; and before the token check, whose
  // refusal must still let the plugin's hooks close a refused upgrade's socket.
  await app.register(websocket, { options: { maxPayload: 1 << 20, handleProtocols: chooseProtocol } });
  const token = opts.token;
  // The web UI on TCP: the built files, and index.html for the UI's own routes (deep links).
  const webRoot = token !== null && opts.webRoot && existsSync(`${opts.webRoot}/index.html`) ? opts.webRoot : null;
  app.setNotFoundHandler((req, reply) => {
    if (webRoot && isUiRoute(req.method, req.url)) {
      return reply.header("cache-control", "no-cache").sendFile("index.html");
    }
    return reply.status(404).send(new KvmgrError("KVMGR_ERR_NOT_FOUND", `No API route ${req.method} ${req.url}.`).toBody());
  });
  if (token !== null) {
    app.addHook("onRequest", (req, _reply, done) => {
      if (needsToken(req.url) && !tokenOk(req, token)) {
        done(new KvmgrError("KVMGR_ERR_AUTH", "This API needs the daemon's token (Authorization: Bearer TOKEN, or ?token= on WebSocket routes; see STATE_DIR/token)."));
      } else done();
    });
  }
  collectRoutes(app);
  networkRoutes(app, opts.services);
  vmRoutes(app, opts.services);
  vmNicRoutes(app, opts.services);
  hostRoutes(app, opts.services);
  eventRoutes(app, opts.services);
  vmIoRoutes(app, opts.services);
  metricsRoutes(app, opts.services);
  app.get("/openapi.json", () => buildOpenApi(app));
  if (webRoot) {
    await app.register(fastifyStatic, {
      root: webRoot,
      prefix: "/",
      // Built files have content hashes in their names: cache them for good; never the page.
      setHeaders: (reply, path) => void reply.header("cache-control", path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable"),
    });
  } else if (token !== null) {
    app.get("/", (_req, reply) => reply.type("text/html; charset=utf-8").send(PLACEHOLDER));
  }
  return app;
}

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kvmgr</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<h1>kvmgr</h1><p>The daemon is running. The web UI is on its way; the API is at <code>/v1/</code>
(see <code>/openapi.json</code>), with the token from the daemon's state directory.</p></body></html>`;
