/**
 * The error catalogue: every error kvmgr reports has a stable code, an HTTP status and a
 * one-sentence message. docs/errors.md lists the same codes (checked by a unit test).
 */

/** Error codes, `KVMGR_ERR_<AREA>_<WHAT>`, with their HTTP status. */
export const ERROR_CODES = {
  KVMGR_ERR_INPUT_INVALID: 400,
  KVMGR_ERR_NOT_FOUND: 404,
  KVMGR_ERR_NET_EXISTS: 409,
  KVMGR_ERR_NET_ACTIVE: 409,
  KVMGR_ERR_NET_INACTIVE: 409,
  KVMGR_ERR_NET_IN_USE: 409,
  KVMGR_ERR_NET_CONFLICT: 409,
  KVMGR_ERR_VM_EXISTS: 409,
  KVMGR_ERR_VM_RUNNING: 409,
  KVMGR_ERR_VM_NOT_RUNNING: 409,
  KVMGR_ERR_VM_AGENT_UNAVAILABLE: 409,
  KVMGR_ERR_VM_AGENT_FAILED: 422,
  KVMGR_ERR_VM_EXEC_TIMEOUT: 504,
  KVMGR_ERR_VM_SHUTDOWN_TIMEOUT: 409,
  KVMGR_ERR_IMAGE_MISSING: 409,
  KVMGR_ERR_DISK_SPACE: 409,
  KVMGR_ERR_DISK_IN_USE: 409,
  KVMGR_ERR_SNAPSHOT_EXISTS: 409,
  KVMGR_ERR_HOST_COMMAND: 500,
  KVMGR_ERR_HOST_UNSUPPORTED: 500,
  KVMGR_ERR_AUTH: 401,
  KVMGR_ERR_DAEMON_UNREACHABLE: 503,
  KVMGR_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every API error response. */
export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; field?: string; details?: Record<string, unknown> };
}

/** Base class of every error kvmgr raises on purpose. */
export class KvmgrError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "KvmgrError";
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
  }
  get httpStatus(): number {
    return ERROR_CODES[this.code];
  }
  toBody(): ApiErrorBody {
    const error: ApiErrorBody["error"] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** Bad input from a user: one sentence naming the field and what is wrong. */
export function invalid(field: string, message: string): KvmgrError {
  return new KvmgrError("KVMGR_ERR_INPUT_INVALID", message, { field });
}

export function notFound(kind: string, name: string): KvmgrError {
  return new KvmgrError("KVMGR_ERR_NOT_FOUND", `${kind} '${name}' does not exist.`);
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === "string" && Object.hasOwn(ERROR_CODES, x);
}
