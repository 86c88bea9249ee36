import type { ErrorCode, IpcError } from "./types";

/** Codes the UI makes up itself, for failures that never reached the engine. */
export const NOT_IN_APP: ErrorCode = "not_in_app";
export const INTERNAL: ErrorCode = "internal";

/** Errors meaning the vault is no longer usable as it is: the app goes back to its start screen. */
const SESSION_LOST_CODES = new Set<ErrorCode>([
  "not_initialized",
  "recovery_needed",
  "passphrase_required",
]);

/** The field an error belongs to when the engine did not name one: each of these codes has only one. */
const FIELD_OF_CODE: Partial<Record<ErrorCode, string>> = {
  duplicate_url: "mcp_server_url",
  duplicate_vault: "display_name",
  duplicate_environment: "environment",
  wrong_recovery_key: "recovery_key",
  wrong_passphrase: "passphrase",
};

export function isSessionLost(error: IpcError): boolean {
  return SESSION_LOST_CODES.has(error.code);
}

export function isKeychainProblem(error: IpcError): boolean {
  return error.code === "keychain_unavailable" || error.code === "keychain_locked";
}

/**
 * Turns whatever an IPC call rejected with into an IpcError. `secrets` are
 * values sent with the call (a token, a passphrase): if any of them shows up in
 * the message it is masked, so no screen can ever display one.
 */
export function toIpcError(raw: unknown, secrets: readonly string[] = []): IpcError {
  const error = coerce(raw);
  return { ...error, message: redact(error.message, secrets) };
}

function coerce(raw: unknown): IpcError {
  if (isIpcErrorLike(raw)) {
    const named = typeof raw.field === "string" && raw.field !== "" ? raw.field : null;
    return {
      code: raw.code,
      message: raw.message || "Something went wrong.",
      field: named ?? FIELD_OF_CODE[raw.code] ?? null,
    };
  }
  if (typeof raw === "string" && raw.trim() !== "") {
    return { code: INTERNAL, message: raw, field: null };
  }
  if (raw instanceof Error && raw.message) {
    return { code: INTERNAL, message: raw.message, field: null };
  }
  return { code: INTERNAL, message: "Something went wrong.", field: null };
}

function isIpcErrorLike(
  raw: unknown,
): raw is { code: ErrorCode; message: string; field?: unknown } {
  if (typeof raw !== "object" || raw === null) return false;
  const candidate = raw as Record<string, unknown>;
  return typeof candidate.code === "string" && typeof candidate.message === "string";
}

export function redact(message: string, secrets: readonly string[]): string {
  let result = message;
  for (const secret of secrets) {
    // Very short values would mask ordinary words; the engine never echoes them anyway.
    if (secret.length >= 4) result = result.split(secret).join("••••");
  }
  return result;
}

/** The error's message if it belongs to `field`, else null. */
export function messageFor(error: IpcError | null, field: string): string | null {
  return error && error.field === field ? error.message : null;
}

/** The error's message if it belongs to none of `fields` (shown above the form). */
export function generalMessage(error: IpcError | null, fields: readonly string[]): string | null {
  if (!error) return null;
  return error.field && fields.includes(error.field) ? null : error.message;
}

export function notInAppError(): IpcError {
  return {
    code: NOT_IN_APP,
    message:
      "This page is not connected to Keybearer. Open the Keybearer app instead of this page in a browser.",
    field: null,
  };
}
