// Turning engine data into words for people. Pure functions: every one takes
// what it needs (including "now" and the locale) so tests are deterministic.
import type {
  CredentialType,
  Event,
  EventKind,
  KeyProtection,
  KeychainStatus,
  Protocol,
  Timestamp,
} from "./types";

/** "1 credential", "0 credentials", "3 vaults"; `pluralWord` for irregular nouns. */
export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}

export type TimeOptions = { locale?: string; timeZone?: string };

function parseTimestamp(timestamp: Timestamp): Date | null {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Local date and time, e.g. "12 Mar 2025, 14:05" (the order follows the locale). */
export function formatDateTime(timestamp: Timestamp, options: TimeOptions = {}): string {
  const date = parseTimestamp(timestamp);
  if (!date) return "unknown time";
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: options.timeZone,
  }).format(date);
}

/** The time only when `timestamp` is today ("14:02" in the locale's way), else the date and time. */
export function formatSince(timestamp: Timestamp, now: Date = new Date(), options: TimeOptions = {}): string {
  const date = parseTimestamp(timestamp);
  if (!date) return "an unknown time";
  const day = new Intl.DateTimeFormat(options.locale, { dateStyle: "medium", timeZone: options.timeZone });
  if (day.format(date) !== day.format(now)) return formatDateTime(timestamp, options);
  return new Intl.DateTimeFormat(options.locale, { timeStyle: "short", timeZone: options.timeZone }).format(date);
}

/** "45 seconds", "30 minutes", "1 hour", "2 days": the largest whole unit. */
export function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds > 0) return plural(seconds / 86_400, "day");
  if (seconds % 3_600 === 0 && seconds > 0) return plural(seconds / 3_600, "hour");
  if (seconds % 60 === 0 && seconds > 0) return plural(seconds / 60, "minute");
  return plural(seconds, "second");
}

/**
 * "Unreachable since 14:02 — agents use the last value it gave for up to 1 hour."
 * (Settings → Team servers and a team vault's page say it alike.)
 */
export function unreachableText(
  since: Timestamp,
  lastGoodSecs: number,
  now: Date = new Date(),
  options: TimeOptions = {},
): string {
  const when = `Unreachable since ${formatSince(since, now, options)}`;
  if (lastGoodSecs <= 0) return `${when} — agents cannot use its credentials until it answers again.`;
  return `${when} — agents use the last value it gave for up to ${formatDuration(lastGoodSecs)}.`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 minutes ago", "yesterday", "3 days ago"; older than a week: the date. */
export function formatRelative(
  timestamp: Timestamp,
  now: Date = new Date(),
  options: TimeOptions = {},
): string {
  const date = parseTimestamp(timestamp);
  if (!date) return "unknown time";
  const elapsed = now.getTime() - date.getTime();
  // A clock a little ahead of ours is still "just now".
  if (elapsed < MINUTE) return "just now";
  if (elapsed < HOUR) return `${plural(Math.floor(elapsed / MINUTE), "minute")} ago`;
  if (elapsed < DAY) return `${plural(Math.floor(elapsed / HOUR), "hour")} ago`;
  if (elapsed < 2 * DAY) return "yesterday";
  if (elapsed < 7 * DAY) return `${Math.floor(elapsed / DAY)} days ago`;
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: "medium",
    timeZone: options.timeZone,
  }).format(date);
}

export function formatLastUsed(
  timestamp: Timestamp | null,
  now: Date = new Date(),
  options: TimeOptions = {},
): string {
  return timestamp === null ? "never" : formatRelative(timestamp, now, options);
}

/** Every kind has a label: a kind added on the Rust side breaks this file's type check. */
const EVENT_LABELS: Record<EventKind, string> = {
  "setup.completed": "Keybearer set up",
  "key.recovered": "Access restored with the recovery key",
  "recovery_key.regenerated": "New recovery key created",
  "environment.created": "Environment created",
  "vault.created": "Vault created",
  "vault.renamed": "Vault renamed",
  "vault.deleted": "Vault deleted",
  "credential.created": "Credential added",
  "credential.deleted": "Credential deleted",
  "credential.replaced": "Token replaced",
  "credential.used": "Token used by an agent",
  "credential.echoed": "Server repeated the token (hidden from the agent)",
  "credential.tested": "Connection tested",
  "session.started": "Session started",
  "session.exited": "Session ended",
  "session.stopped": "Session stopped",
  "session.failed": "Session could not start",
  "credential.refreshed": "Sign-in renewed",
  "credential.sign_in_needed": "Sign in again",
  "credential.scope_needed": "Server asked for more access",
  "app.connected": "App connected",
  "app.connection_changed": "App connection changed",
  "app.disconnected": "App disconnected",
  "app.tokens_imported": "Tokens moved out of an app's settings",
  "app.import_undone": "App settings restored",
  "app.entries_restored": "Changed app entries put back",
  "backup.created": "Backup made",
  "backup.restored": "Restored from a backup",
  "team.server_added": "Team server added",
  "team.server_removed": "Team server removed",
  "team.signed_in": "Signed in to a team server",
  "team.signed_out": "Signed out of a team server",
  "vault.moved": "Vault moved to a team server",
};

/** A label for an event kind; unknown kinds (from newer engines) still read sensibly. */
export function eventKindLabel(kind: EventKind | string): string {
  const known = (EVENT_LABELS as Record<string, string>)[kind];
  if (known) return known;
  const words = kind.replace(/[._]+/g, " ").trim();
  return words === "" ? "Event" : words[0].toUpperCase() + words.slice(1);
}

/** The extra facts of an event as one short line ("" when there are none). */
export function describeEventDetail(event: Event): string {
  const parts: string[] = [];
  if (event.kind === "setup.completed" && event.detail === "keychain") {
    parts.push("Key kept in the system keychain");
  } else if (event.kind === "setup.completed" && event.detail === "passphrase") {
    parts.push("Key protected by a passphrase");
  } else if (event.kind === "environment.created" && event.environment) {
    parts.push(event.environment);
  } else if (event.kind === "credential.echoed" && event.detail) {
    // Where Keybearer found it: "body", "headers" or "status line".
    parts.push(`Found in the answer's ${event.detail}`);
  } else if (event.detail) {
    parts.push(event.detail);
  }
  if (event.method) parts.push(event.method);
  if (event.status !== null) parts.push(`HTTP ${event.status}`);
  // The proxy counts alike uses within a moment into one event.
  if (event.count > 1) parts.push(`${event.count.toLocaleString("en-US")} requests`);
  return parts.join(" · ");
}

/**
 * The server part of a URL for display: host, plus the port when it is not the
 * default one. Falls back to the input when it is not a URL.
 */
export function hostOf(url: string): string {
  try {
    const host = new URL(url).host;
    return host === "" ? url : host;
  } catch {
    return url;
  }
}

export function protocolLabel(protocol: Protocol): string {
  return protocol === "sse" ? "SSE" : "Streamable HTTP";
}

/** What a credential sends: "Token", or "Headers: X-API-Key, X-Org" (names only, never values). */
export function credentialTypeLabel(credential: { type: CredentialType; header_names: readonly string[] }): string {
  switch (credential.type) {
    case "static_bearer":
      return "Token";
    case "headers":
      return credential.header_names.length > 0 ? `Headers: ${credential.header_names.join(", ")}` : "Headers";
    case "mcp_oauth":
      return "Signed in (OAuth)";
    default:
      return String(credential.type);
  }
}

export function keychainStatusText(keychain: KeychainStatus): string {
  switch (keychain.state) {
    case "available":
      return keychain.has_key
        ? "Available, and it holds this installation's key"
        : "Available, without a key for this installation";
    case "locked":
      return "Locked or refused access";
    case "unavailable":
      return "Not reachable on this computer";
  }
}

export function protectionText(protection: KeyProtection | null): string {
  if (protection === "keychain") return "System keychain";
  if (protection === "passphrase") return "Your passphrase";
  return "Not set up";
}
