import type { NetworkMode } from "../../../api/network.js";
import type { MessageKey } from "../../i18n/en.js";

/** Each mode's name and its one line: who can talk to whom. */
export const MODE_TEXT: Record<NetworkMode, { name: MessageKey; line: MessageKey }> = {
  nat: { name: "mode.nat", line: "mode.nat.line" },
  hostonly: { name: "mode.hostonly", line: "mode.hostonly.line" },
  internal: { name: "mode.internal", line: "mode.internal.line" },
  routed: { name: "mode.routed", line: "mode.routed.line" },
  bridge: { name: "mode.bridge", line: "mode.bridge.line" },
};
