/** /v1/vms and /v1/os */
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import { DiskResize, OsInfo, Snapshot, SnapshotCreate, Vm, VmClone, VmCreate, VmEdit, VmRename, type DiskResize as DiskResizeT, type VmClone as VmCloneT, type VmEdit as VmEditT, type VmRename as VmRenameT } from "../../../api/vm.js";
import type { Services } from "../../services/index.js";

const NameParams = Type.Object({ name: Type.String() });
type NameParams = { name: string };
const SnapParams = Type.Object({ name: Type.String(), snapshot: Type.String() });
type SnapParams = { name: string; snapshot: string };
const DiskParams = Type.Object({ name: Type.String(), index: Type.String({ pattern: "^\\d{1,2}$", errorHint: "a disk index is a whole number from 0" }) });
type DiskParams = { name: string; index: string };
const ShutdownQuery = Type.Object({ timeout: Type.Optional(Type.String({ pattern: "^\\d{1,5}$", errorHint: "a timeout is a whole number of seconds" })) });
const RebootQuery = Type.Object({ ...ShutdownQuery.properties, force: Type.Optional(Type.String()) });

const flag = (v: string | undefined) => v === "true" || v === "1";

export function vmRoutes(app: FastifyInstance, s: Services): void {
  app.get("/v1/vms", { config: { response: Type.Array(Vm) } }, () => s.vms.list());
  app.post<{ Body: unknown }>("/v1/vms", { schema: { body: VmCreate } }, async (req, reply) => {
    const vm = await s.vms.create(req.body as VmCreate);
    return reply.status(201).send(vm);
  });
  app.get<{ Params: NameParams }>("/v1/vms/:name", { schema: { params: NameParams } }, (req) => s.vms.show(req.params.name));
  app.patch<{ Params: NameParams; Body: unknown }>("/v1/vms/:name", { schema: { params: NameParams, body: VmEdit } }, (req) => s.vms.edit(req.params.name, req.body as VmEditT));
  app.post<{ Params: NameParams }>("/v1/vms/:name/start", { schema: { params: NameParams } }, (req) => s.vms.start(req.params.name));
  app.post<{ Params: NameParams }>("/v1/vms/:name/stop", { schema: { params: NameParams } }, (req) => s.vms.stop(req.params.name));
  app.post<{ Params: NameParams; Querystring: { timeout?: string } }>("/v1/vms/:name/shutdown", { schema: { params: NameParams, querystring: ShutdownQuery } }, (req) =>
    s.vms.shutdown(req.params.name, req.query.timeout === undefined ? undefined : Number(req.query.timeout)),
  );
  app.post<{ Params: NameParams; Querystring: { timeout?: string; force?: string } }>("/v1/vms/:name/reboot", { schema: { params: NameParams, querystring: RebootQuery } }, (req) =>
    s.vms.reboot(req.params.name, { force: flag(req.query.force), ...(req.query.timeout === undefined ? {} : { timeoutS: Number(req.query.timeout) }) }),
  );
  app.post<{ Params: NameParams }>("/v1/vms/:name/pause", { schema: { params: NameParams } }, (req) => s.vms.pause(req.params.name));
  app.post<{ Params: NameParams }>("/v1/vms/:name/resume", { schema: { params: NameParams } }, (req) => s.vms.resume(req.params.name));
  app.delete<{ Params: NameParams; Querystring: { force?: string; keepDisks?: string } }>("/v1/vms/:name", { schema: { params: NameParams } }, async (req, reply) => {
    await s.vms.delete(req.params.name, { force: flag(req.query.force), keepDisks: flag(req.query.keepDisks) });
    return reply.status(204).send();
  });
  app.post<{ Params: NameParams; Body: unknown }>("/v1/vms/:name/rename", { schema: { params: NameParams, body: VmRename } }, (req) =>
    s.vms.rename(req.params.name, (req.body as VmRenameT).name),
  );
  app.post<{ Params: NameParams; Body: unknown }>("/v1/vms/:name/clone", { schema: { params: NameParams, body: VmClone } }, async (req, reply) => {
    const vm = await s.storage.clone(req.params.name, req.body as VmCloneT);
    return reply.status(201).send(vm);
  });
  app.post<{ Params: DiskParams; Body: unknown }>("/v1/vms/:name/disks/:index/resize", { schema: { params: DiskParams, body: DiskResize } }, (req) => {
    const b = req.body as DiskResizeT;
    return s.storage.resizeDisk(req.params.name, Number(req.params.index), b.sizeBytes, b.force);
  });
  app.get<{ Params: NameParams }>("/v1/vms/:name/snapshots", { schema: { params: NameParams }, config: { response: Type.Array(Snapshot) } }, (req) => s.storage.listSnapshots(req.params.name));
  app.post<{ Params: NameParams; Body: unknown }>("/v1/vms/:name/snapshots", { schema: { params: NameParams, body: SnapshotCreate } }, async (req, reply) => {
    const snap = await s.storage.createSnapshot(req.params.name, (req.body as { name: string }).name);
    return reply.status(201).send(snap);
  });
  app.post<{ Params: SnapParams }>("/v1/vms/:name/snapshots/:snapshot/revert", { schema: { params: SnapParams } }, (req) => s.storage.revertSnapshot(req.params.name, req.params.snapshot));
  app.delete<{ Params: SnapParams }>("/v1/vms/:name/snapshots/:snapshot", { schema: { params: SnapParams } }, async (req, reply) => {
    await s.storage.deleteSnapshot(req.params.name, req.params.snapshot);
    return reply.status(204).send();
  });
  app.get<{ Querystring: { search?: string } }>("/v1/os", { schema: { querystring: Type.Object({ search: Type.Optional(Type.String({ maxLength: 200 })) }) }, config: { response: Type.Array(OsInfo) } }, (req) =>
    s.os.list(req.query.search),
  );
}
