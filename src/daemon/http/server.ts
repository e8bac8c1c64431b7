/** The API over HTTP: the same routes on the unix socket (no token) and on TCP (token). */
import Fastify, { type FastifyInstance } from "fastify";
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
import { buildOpenApi, collectRoutes } from "./openapi.js";

export interface ServerOptions {
  services: Services;
  log: Logger;
  /** required as `Authorization: Bearer TOKEN` when set (TCP) */
  token: string | null;
  /** directory of the built web UI, served at / on TCP */
  webRoot?: string | null;
}

function tokenOk(header: string | undefined, token: string): boolean {
  const got = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Client routes of the single-page UI: GET paths outside the API whose last segment has no '.'. */
export function isUiRoute(method: string, url: string): boolean {
  const path = url.split("?")[0] ?? "";
  if (method !== "GET" && method !== "HEAD") return false;
  if (path.startsWith("/v1/") || path === "/v1" || path === "/openapi.json") return false;
  return !(path.split("/").pop() ?? "").includes(".");
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: opts.log.child({ component: "http" }, { level: "warn" }), bodyLimit: 1 << 20 }) as unknown as FastifyInstance;
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
      if ((req.url.startsWith("/v1/") || req.url === "/openapi.json") && !tokenOk(req.headers.authorization, token)) {
        done(new KvmgrError("KVMGR_ERR_AUTH", "This API needs the daemon's token (Authorization: Bearer TOKEN; see STATE_DIR/token)."));
      } else done();
    });
  }
  collectRoutes(app);
  networkRoutes(app, opts.services);
  vmRoutes(app, opts.services);
  vmNicRoutes(app, opts.services);
  hostRoutes(app, opts.services);
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
