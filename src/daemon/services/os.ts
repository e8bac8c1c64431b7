/** The OS list of osinfo-db, for `os list`, the UI's OS picker and `vm create --os`. */
import type { OsInfo } from "../../api/vm.js";
import { searchOs } from "../../core/osinfo/osinfo-xml.js";
import type { DaemonContext } from "../context.js";

export class OsService {
  constructor(private readonly ctx: DaemonContext) {}

  list(search?: string): OsInfo[] {
    return searchOs(this.ctx.osinfo.all(), search);
  }
}
