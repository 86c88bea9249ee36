import { describe, expect, it } from "vitest";
import {
  addHeaderRow,
  draftFor,
  draftProblems,
  emptyDraft,
  hasProblems,
  inputValues,
  oauthOptions,
  removeHeaderRow,
  toSecretInput,
  withoutValues,
  type SecretDraft,
} from "./secretInput";
import type { Credential } from "./types";
import { MAX_HEADERS } from "./validation";

function credential(extra: Partial<Credential>): Credential {
  return {
    id: "crd_1",
    vault_id: "vlt_1",
    mcp_server_url: "https://mcp.example.com/mcp",
    protocol: "streamable_http",
    type: "static_bearer",
    header_names: ["Authorization"],
    created_at: "2026-11-26T09:00:00Z",
    last_used_at: null,
    ...extra,
  } as Credential;
}

function headers(...rows: [string, string][]): SecretDraft {
  const draft = emptyDraft("headers", rows.map(([name]) => name));
  draft.headers.forEach((header, index) => (header.value = rows[index][1]));
  return draft;
}

describe("the secret part of the credential form", () => {
  it("sends each kind as the Rust side reads it", () => {
    expect(toSecretInput({ ...emptyDraft(), token: "tok" })).toEqual({ kind: "bearer", token: "tok" });
    expect(toSecretInput(headers([" X-API-Key ", "k"], ["X-Org", "o"]))).toEqual({
      kind: "headers",
      headers: [
        { name: "X-API-Key", value: "k" },
        { name: "X-Org", value: "o" },
      ],
    });
    expect(toSecretInput({ ...emptyDraft("basic"), user: " ada@example.com ", secret: "s" })).toEqual({
      kind: "basic",
      user: "ada@example.com",
      secret: "s",
    });
  });

  it("knows which values to mask", () => {
    expect(inputValues({ kind: "bearer", token: "t" })).toEqual(["t"]);
    expect(inputValues(toSecretInput(headers(["A", "1"], ["B", "2"])))).toEqual(["1", "2"]);
    expect(inputValues({ kind: "basic", user: "ada", secret: "s" })).toEqual(["s"]);
  });

  it("clears every value and keeps the kind, the names and the user", () => {
    const draft = { ...headers(["X-API-Key", "k"]), token: "t", user: "ada", secret: "s" };
    const cleared = withoutValues(draft);
    expect(cleared.kind).toBe("headers");
    expect(cleared.headers.map((header) => [header.name, header.value])).toEqual([["X-API-Key", ""]]);
    expect(cleared.token).toBe("");
    expect(cleared.secret).toBe("");
    expect(cleared.user).toBe("ada");
    expect(JSON.stringify(cleared)).not.toMatch(/"k"|"t"|"s"/);
  });

  it("adds rows up to the limit and always keeps one", () => {
    let draft = emptyDraft("headers");
    for (let i = 0; i < MAX_HEADERS + 3; i++) draft = addHeaderRow(draft);
    expect(draft.headers).toHaveLength(MAX_HEADERS);
    expect(new Set(draft.headers.map((header) => header.key)).size).toBe(MAX_HEADERS);
    for (const header of [...draft.headers]) draft = removeHeaderRow(draft, header.key);
    expect(draft.headers).toHaveLength(1);
    expect(draft.headers[0].name).toBe("");
  });

  it("asks a header credential's replacement for the same names", () => {
    const replaced = draftFor(credential({ type: "headers", header_names: ["X-API-Key", "X-Org"] }));
    expect(replaced.kind).toBe("headers");
    expect(replaced.headers.map((header) => [header.name, header.value])).toEqual([
      ["X-API-Key", ""],
      ["X-Org", ""],
    ]);
    expect(draftFor(credential({})).kind).toBe("bearer");
  });

  it("shows a problem once typed into, or every problem after a Save attempt", () => {
    const draft = headers(["X-API-Key", ""], ["bad name", "v"]);
    const typing = draftProblems(draft, false);
    expect(typing.headerNames[0]).toBeNull();
    expect(typing.headerValues[0]).toBeNull();
    expect(typing.headerNames[1]).toMatch(/not a valid header name/);
    const saving = draftProblems(draft, true);
    expect(saving.headerValues[0]).toMatch(/The value of X-API-Key is empty/);
    expect(hasProblems(saving)).toBe(true);
    expect(hasProblems(draftProblems(headers(["X-API-Key", "k"]), true))).toBe(false);
    expect(draftProblems(headers(["X-Key", "a"], ["x-key", "b"]), false).headers).toMatch(/listed twice/);
    expect(draftProblems(emptyDraft(), true).token).toMatch(/empty/);
    expect(draftProblems(emptyDraft("basic"), true).user).toMatch(/user name/);
    expect(hasProblems(draftProblems({ ...emptyDraft("basic"), user: "ada", secret: "s" }, true))).toBe(false);
  });
});

describe("signing in (OAuth)", () => {
  it("sends no secret, has no problems, and leaves empty options out", () => {
    const draft = emptyDraft("oauth");
    expect(hasProblems(draftProblems(draft, true))).toBe(false);
    expect(() => toSecretInput(draft)).toThrow();
    expect(oauthOptions(draft)).toEqual({ clientId: null, clientSecret: null, scope: null });
    expect(oauthOptions({ ...draft, clientId: " Iv1.abc ", scope: "  mcp   admin " })).toEqual({
      clientId: "Iv1.abc",
      clientSecret: null,
      scope: "mcp admin",
    });
  });

  it("sends an OAuth app's client secret only with its client ID, and clears it with the other values", () => {
    const draft = { ...emptyDraft("oauth"), clientId: "Ov23li", clientSecret: " s3cret " };
    expect(oauthOptions(draft).clientSecret).toBe("s3cret");
    expect(oauthOptions({ ...draft, clientId: " " }).clientSecret).toBeNull();
    const cleared = withoutValues(draft);
    expect(cleared.clientSecret).toBe("");
    expect(cleared.clientId).toBe("Ov23li");
  });
});
