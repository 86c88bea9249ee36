// The preview's fake engine (fakeEngine.ts): its scenarios and the small
// helpers it answers with. Development only, like the fake engine.
import type { ErrorCode, IpcError } from "../lib/types";

export type Scenario =
  | "first-run"
  | "no-keychain"
  | "recover"
  | "unlock"
  | "locked-keychain"
  | "empty"
  | "main"
  | "production"
  // "main" with two direct-mode requests from the command line waiting for an answer.
  | "approval"
  // "main" with a Keybearer entry in Claude Desktop's settings rewritten by something else.
  | "tampered";

export type Args = Record<string, unknown>;

export const fail = (code: ErrorCode, message: string, field: string | null = null): never => {
  throw { code, message, field } satisfies IpcError;
};

export const now = () => new Date().toISOString();
export const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
let counter = 0;
export const newId = (prefix: string) => `${prefix}_${(++counter).toString(16).padStart(8, "0")}`;
