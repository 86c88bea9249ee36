import { describe, expect, it } from "vitest";
import {
  credentialTypeLabel,
  describeEventDetail,
  eventKindLabel,
  formatDateTime,
  formatDuration,
  formatSince,
  unreachableText,
  formatLastUsed,
  formatRelative,
  hostOf,
  keychainStatusText,
  plural,
  protectionText,
  protocolLabel,
} from "./format";
import type { Event } from "./types";

const utc = { locale: "en-GB", timeZone: "UTC" };
const now = new Date("2025-03-12T14:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("plural", () => {
  it.each([
    [0, "credential", "0 credentials"],
    [1, "credential", "1 credential"],
    [2, "credential", "2 credentials"],
    [1, "vault", "1 vault"],
    [12, "vault", "12 vaults"],
  ])("%i %s", (count, word, expected) => {
    expect(plural(count, word)).toBe(expected);
  });

  it("takes an irregular plural", () => {
    expect(plural(2, "entry", "entries")).toBe("2 entries");
    expect(plural(1, "entry", "entries")).toBe("1 entry");
  });
});

describe("formatDateTime", () => {
  it("shows date and time in the given locale and time zone", () => {
    expect(formatDateTime("2025-03-12T14:05:00Z", utc)).toBe("12 Mar 2025, 14:05");
    expect(formatDateTime("2025-03-12T14:05:00Z", { locale: "en-GB", timeZone: "Europe/Berlin" })).toBe(
      "12 Mar 2025, 15:05",
    );
    expect(formatDateTime("2025-03-12T14:05:00Z", { locale: "en-US", timeZone: "UTC" })).toBe(
      "Mar 12, 2025, 2:05 PM",
    );
  });

  it("reads RFC 3339 with offsets and fractions", () => {
    expect(formatDateTime("2025-03-12T16:05:30.123+02:00", utc)).toBe("12 Mar 2025, 14:05");
  });

  it("says so when the time is unreadable", () => {
    expect(formatDateTime("yesterday-ish", utc)).toBe("unknown time");
  });
});

describe("formatRelative", () => {
  it.each([
    [0, "just now"],
    [30 * 1000, "just now"],
    [-5 * 1000, "just now"],
    [MINUTE, "1 minute ago"],
    [5 * MINUTE + 59 * 1000, "5 minutes ago"],
    [59 * MINUTE, "59 minutes ago"],
    [HOUR, "1 hour ago"],
    [23 * HOUR, "23 hours ago"],
    [DAY, "yesterday"],
    [2 * DAY, "2 days ago"],
    [6 * DAY, "6 days ago"],
  ])("%i ms ago -> %s", (ms, expected) => {
    expect(formatRelative(ago(ms), now, utc)).toBe(expected);
  });

  it("shows the date when older than a week", () => {
    expect(formatRelative(ago(8 * DAY), now, utc)).toBe("4 Mar 2025");
    expect(formatRelative("2023-01-01T00:00:00Z", now, utc)).toBe("1 Jan 2023");
  });

  it("says so when the time is unreadable", () => {
    expect(formatRelative("", now, utc)).toBe("unknown time");
  });
});

describe("formatLastUsed", () => {
  it("says never when a credential was never used", () => {
    expect(formatLastUsed(null, now, utc)).toBe("never");
  });
  it("is relative otherwise", () => {
    expect(formatLastUsed(ago(3 * HOUR), now, utc)).toBe("3 hours ago");
  });
});

describe("eventKindLabel", () => {
  it.each([
    ["setup.completed", "Keybearer set up"],
    ["key.recovered", "Access restored with the recovery key"],
    ["recovery_key.regenerated", "New recovery key created"],
    ["environment.created", "Environment created"],
    ["vault.created", "Vault created"],
    ["vault.renamed", "Vault renamed"],
    ["vault.deleted", "Vault deleted"],
    ["credential.created", "Credential added"],
    ["credential.deleted", "Credential deleted"],
    ["credential.replaced", "Token replaced"],
    ["credential.used", "Token used by an agent"],
    ["credential.echoed", "Server repeated the token (hidden from the agent)"],
    ["credential.tested", "Connection tested"],
    ["session.started", "Session started"],
    ["session.exited", "Session ended"],
    ["session.stopped", "Session stopped"],
    ["session.failed", "Session could not start"],
    ["app.connected", "App connected"],
    ["app.disconnected", "App disconnected"],
  ])("%s -> %s", (kind, label) => {
    expect(eventKindLabel(kind)).toBe(label);
  });

  it("turns unknown kinds into words", () => {
    expect(eventKindLabel("proxy.upstream_error")).toBe("Proxy upstream error");
    expect(eventKindLabel("")).toBe("Event");
  });
});

describe("describeEventDetail", () => {
  const base: Event = {
    id: 1,
    at: "2025-03-12T14:00:00Z",
    kind: "vault.created",
    environment: "development",
    vault_id: "vlt_1",
    credential_id: null,
    session_id: null,
    connection_id: null,
    upstream_url: null,
    method: null,
    status: null,
    detail: null,
    count: 1,
  };

  it("is empty when there is nothing to add", () => {
    expect(describeEventDetail(base)).toBe("");
  });

  it("explains how setup protected the key", () => {
    expect(describeEventDetail({ ...base, kind: "setup.completed", detail: "keychain" })).toBe(
      "Key kept in the system keychain",
    );
    expect(describeEventDetail({ ...base, kind: "setup.completed", detail: "passphrase" })).toBe(
      "Key protected by a passphrase",
    );
  });

  it("names the environment that was created", () => {
    expect(describeEventDetail({ ...base, kind: "environment.created", environment: "qa" })).toBe("qa");
  });

  it("shows method and HTTP status of a use", () => {
    expect(
      describeEventDetail({ ...base, kind: "credential.used", method: "POST", status: 200 }),
    ).toBe("POST · HTTP 200");
  });

  it("says how many requests a counted use stands for", () => {
    expect(
      describeEventDetail({ ...base, kind: "credential.used", method: "POST", status: 200, count: 1234 }),
    ).toBe("POST · HTTP 200 · 1,234 requests");
  });

  it("says where an echoed token was found", () => {
    expect(
      describeEventDetail({ ...base, kind: "credential.echoed", detail: "body", method: "POST", status: 200 }),
    ).toBe("Found in the answer's body · POST · HTTP 200");
  });

  it("keeps the engine's own detail", () => {
    expect(
      describeEventDetail({ ...base, kind: "vault.deleted", detail: "2 credential(s) deleted with it" }),
    ).toBe("2 credential(s) deleted with it");
  });
});

describe("hostOf", () => {
  it.each([
    ["https://api.githubcopilot.com/mcp/", "api.githubcopilot.com"],
    ["https://API.Example.com:443/mcp", "api.example.com"],
    ["https://a.example:8443/x", "a.example:8443"],
    ["http://127.0.0.1:9000/sse", "127.0.0.1:9000"],
    ["http://localhost/mcp", "localhost"],
    ["http://[::1]:9000/mcp", "[::1]:9000"],
    ["https://xn--bcher-kva.example/mcp", "xn--bcher-kva.example"],
    ["not a url", "not a url"],
  ])("%s -> %s", (url, host) => {
    expect(hostOf(url)).toBe(host);
  });
});

describe("labels", () => {
  it("names protocols and credential types in plain words", () => {
    expect(protocolLabel("sse")).toBe("SSE");
    expect(protocolLabel("streamable_http")).toBe("Streamable HTTP");
    expect(credentialTypeLabel({ type: "static_bearer", header_names: ["Authorization"] })).toBe("Token");
    expect(credentialTypeLabel({ type: "mcp_oauth", header_names: ["Authorization"] })).toBe("Signed in (OAuth)");
    expect(credentialTypeLabel({ type: "headers", header_names: ["X-API-Key", "X-Org"] })).toBe(
      "Headers: X-API-Key, X-Org",
    );
    expect(credentialTypeLabel({ type: "headers", header_names: [] })).toBe("Headers");
  });

  it("describes the keychain", () => {
    expect(keychainStatusText({ state: "available", has_key: true })).toMatch(/holds/);
    expect(keychainStatusText({ state: "available", has_key: false })).toMatch(/without a key/);
    expect(keychainStatusText({ state: "locked", detail: "x" })).toMatch(/Locked/);
    expect(keychainStatusText({ state: "unavailable", detail: "x" })).toMatch(/Not reachable/);
  });

  it("describes the protection", () => {
    expect(protectionText("keychain")).toBe("System keychain");
    expect(protectionText("passphrase")).toBe("Your passphrase");
    expect(protectionText(null)).toBe("Not set up");
  });
});

describe("team server out of reach", () => {
  const utc = { locale: "en-GB", timeZone: "UTC" };
  const now = new Date("2025-03-12T15:30:00Z");

  it("says the time only for today, else the date too", () => {
    expect(formatSince("2025-03-12T14:02:00Z", now, utc)).toBe("14:02");
    expect(formatSince("2025-03-11T14:02:00Z", now, utc)).toBe("11 Mar 2025, 14:02");
    expect(formatSince("nonsense", now, utc)).toBe("an unknown time");
  });

  it("says durations in their largest whole unit", () => {
    expect(formatDuration(3600)).toBe("1 hour");
    expect(formatDuration(7200)).toBe("2 hours");
    expect(formatDuration(1800)).toBe("30 minutes");
    expect(formatDuration(86_400)).toBe("1 day");
    expect(formatDuration(90)).toBe("90 seconds");
  });

  it("says since when and for how long agents use the last value", () => {
    expect(unreachableText("2025-03-12T14:02:00Z", 3600, now, utc)).toBe(
      "Unreachable since 14:02 — agents use the last value it gave for up to 1 hour.",
    );
    expect(unreachableText("2025-03-12T14:02:00Z", 0, now, utc)).toBe(
      "Unreachable since 14:02 — agents cannot use its credentials until it answers again.",
    );
  });
});
