/** Wire types of a VM's guest agent: commands run in the guest, agent shutdown, addresses. */
import { Type, type Static } from "@sinclair/typebox";

/** Body of POST /v1/vms/:name/exec */
export const ExecRequest = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 4096, pattern: "^[^\\u0000]*$", errorHint: "path must name the program to run in the guest" }),
    args: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 1024, errorHint: "args must be a list of at most 1024 strings" })),
    /** fed to the command's stdin */
    input: Type.Optional(Type.String({ maxLength: 1 << 19, errorHint: "input must be text of at most 512 KiB" })),
    env: Type.Optional(Type.Array(Type.String({ pattern: "^[^=\\u0000]+=", errorHint: "env entries must be NAME=value" }), { maxItems: 256 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, errorHint: "timeoutMs must be a whole number of ms between 100 and 3600000" })),
  },
  { additionalProperties: false },
);
export type ExecRequest = Static<typeof ExecRequest>;

export const ExecResult = Type.Object({
  /** null when a signal ended the command */
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.Integer(), Type.Null()]),
  stdout: Type.String(),
  stderr: Type.String(),
  /** the agent cut stdout or stderr short */
  truncated: Type.Boolean(),
});
export type ExecResult = Static<typeof ExecResult>;

export const AGENT_SHUTDOWN_MODES = ["powerdown", "reboot", "halt"] as const;

/** Body of POST /v1/vms/:name/agent/shutdown (optional) */
export const AgentShutdownRequest = Type.Object(
  {
    mode: Type.Optional(Type.Union(AGENT_SHUTDOWN_MODES.map((m) => Type.Literal(m)), { errorHint: `mode must be one of ${AGENT_SHUTDOWN_MODES.join(", ")}` })),
  },
  { additionalProperties: false },
);
export type AgentShutdownRequest = Static<typeof AgentShutdownRequest>;

export const ADDRESS_SOURCES = ["lease", "agent", "arp"] as const;
export type AddressSource = (typeof ADDRESS_SOURCES)[number];

/** One address of a NIC: `source` is the most direct witness, `sources` all that saw it. */
export const NicAddress = Type.Object({
  ip: Type.String(),
  family: Type.Union([Type.Literal("ipv4"), Type.Literal("ipv6")]),
  /** prefix length when the guest agent told it */
  prefix: Type.Optional(Type.Integer()),
  source: Type.Union(ADDRESS_SOURCES.map((s) => Type.Literal(s))),
  sources: Type.Array(Type.Union(ADDRESS_SOURCES.map((s) => Type.Literal(s)))),
});
export type NicAddress = Static<typeof NicAddress>;
