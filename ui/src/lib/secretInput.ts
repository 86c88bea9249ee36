// The secret part of the add-credential form and the replace dialog: a token,
// headers of the server's own, or a user name and password (HTTP Basic); the
// add form also offers signing in (OAuth), which sends no secret at all.
// Pure functions over a draft the form keeps in local state; the values leave
// it only as the `SecretInput` sent once over IPC, and are cleared after.
import type { Credential, SecretInput } from "./types";
import {
  MAX_HEADERS,
  validateBasicSecret,
  validateBasicUser,
  validateHeaderList,
  validateHeaderName,
  validateHeaderValue,
  validateToken,
} from "./validation";

/** "oauth": sign in through the browser; the grant stays in Rust (commands/oauth.rs). */
export type SecretKind = SecretInput["kind"] | "oauth";

export type HeaderRow = { key: number; name: string; value: string };

export type SecretDraft = {
  kind: SecretKind;
  token: string;
  headers: HeaderRow[];
  user: string;
  secret: string;
  /** OAuth: a client ID for services without dynamic registration (optional). */
  clientId: string;
  /** OAuth: that app's client secret, when its service needs one (a secret: cleared like the others). */
  clientSecret: string;
  /** OAuth: the scopes to ask for, space-separated (optional). */
  scope: string;
};

/** The engine's `field`s for the secret part (errors shown next to it, not above the form). */
export const SECRET_FIELDS = ["access_token", "header_name", "header_value", "headers", "user", "secret"] as const;

export const KIND_LABELS: Record<SecretKind, string> = {
  bearer: "Token",
  headers: "Header",
  basic: "User name and password (Basic)",
  oauth: "Sign in (OAuth)",
};

let nextKey = 0;
const row = (name = ""): HeaderRow => ({ key: ++nextKey, name, value: "" });

export function emptyDraft(kind: SecretKind = "bearer", headerNames: readonly string[] = [""]): SecretDraft {
  const names = headerNames.length > 0 ? headerNames : [""];
  return { kind, token: "", headers: names.map(row), user: "", secret: "", clientId: "", clientSecret: "", scope: "" };
}

/** For replacing a credential: the same kind, and for headers the same names, values empty. */
export function draftFor(credential: Credential): SecretDraft {
  return credential.type === "headers" ? emptyDraft("headers", credential.header_names) : emptyDraft("bearer");
}

/** The same draft with every value emptied (kind, header names and user name stay). */
export function withoutValues(draft: SecretDraft): SecretDraft {
  return {
    ...draft,
    token: "",
    headers: draft.headers.map((header) => ({ ...header, value: "" })),
    secret: "",
    clientSecret: "",
  };
}

export function addHeaderRow(draft: SecretDraft): SecretDraft {
  if (draft.headers.length >= MAX_HEADERS) return draft;
  return { ...draft, headers: [...draft.headers, row()] };
}

/** Removes a row; the last one is emptied instead, so there is always a row to type into. */
export function removeHeaderRow(draft: SecretDraft, key: number): SecretDraft {
  const headers = draft.headers.filter((header) => header.key !== key);
  return { ...draft, headers: headers.length > 0 ? headers : [row()] };
}

/** What is sent over IPC, once. A sign-in has no secret to send (see `oauthOptions`). */
export function toSecretInput(draft: SecretDraft): SecretInput {
  switch (draft.kind) {
    case "oauth":
      throw new Error("a sign-in sends no secret");
    case "bearer":
      return { kind: "bearer", token: draft.token };
    case "headers":
      return {
        kind: "headers",
        headers: draft.headers.map((header) => ({ name: header.name.trim(), value: header.value })),
      };
    case "basic":
      return { kind: "basic", user: draft.user.trim(), secret: draft.secret };
  }
}

/**
 * What `start_oauth_sign_in` takes besides the address: empty fields are left
 * out, and a client secret only goes with a client ID.
 */
export function oauthOptions(draft: SecretDraft): {
  clientId: string | null;
  clientSecret: string | null;
  scope: string | null;
} {
  const clientId = draft.clientId.trim();
  const clientSecret = draft.clientSecret.trim();
  const scope = draft.scope.trim().split(/\s+/).filter(Boolean).join(" ");
  return {
    clientId: clientId === "" ? null : clientId,
    clientSecret: clientId === "" || clientSecret === "" ? null : clientSecret,
    scope: scope === "" ? null : scope,
  };
}

/** The values that must never be shown back (api.ts masks them in any error message). */
export function inputValues(input: SecretInput): string[] {
  switch (input.kind) {
    case "bearer":
      return [input.token];
    case "headers":
      return input.headers.map((header) => header.value);
    case "basic":
      return [input.secret];
  }
}

export type DraftProblems = {
  token: string | null;
  /** Per row, in order. */
  headerNames: (string | null)[];
  headerValues: (string | null)[];
  /** About the list as a whole: none, too many, a name twice. */
  headers: string | null;
  user: string | null;
  secret: string | null;
};

/**
 * The client-side problems of the draft's current kind. A field's problem is
 * shown once it has been typed into, or for every field once `showEmpty`
 * (after a Save or Test attempt).
 */
export function draftProblems(draft: SecretDraft, showEmpty: boolean): DraftProblems {
  const shown = (value: string, problem: () => string | null) => (value !== "" || showEmpty ? problem() : null);
  const none: DraftProblems = { token: null, headerNames: [], headerValues: [], headers: null, user: null, secret: null };
  switch (draft.kind) {
    case "oauth":
      return none;
    case "bearer":
      return { ...none, token: shown(draft.token, () => validateToken(draft.token)) };
    case "headers":
      return {
        ...none,
        headerNames: draft.headers.map((header) => shown(header.name, () => validateHeaderName(header.name))),
        headerValues: draft.headers.map((header) =>
          shown(header.value, () => validateHeaderValue(header.name, header.value)),
        ),
        headers: validateHeaderList(draft.headers.map((header) => header.name)),
      };
    case "basic":
      return {
        ...none,
        user: shown(draft.user, () => validateBasicUser(draft.user)),
        secret: shown(draft.secret, () => validateBasicSecret(draft.secret)),
      };
  }
}

export function hasProblems(problems: DraftProblems): boolean {
  return (
    problems.token !== null ||
    problems.headers !== null ||
    problems.user !== null ||
    problems.secret !== null ||
    problems.headerNames.some((problem) => problem !== null) ||
    problems.headerValues.some((problem) => problem !== null)
  );
}

/** What the test or save button says was sent: "token", "headers", "user name and password". */
export function secretNoun(kind: SecretKind): string {
  return kind === "bearer" ? "token" : kind === "headers" ? "header values" : kind === "oauth" ? "sign-in" : "password";
}
