// Client-side checks that mirror the engine's rules (crates/vault:
// server_url.rs, secret.rs, model.rs, keys.rs), so people see a problem while
// typing. The engine stays authoritative: it checks everything again.
import type { Protocol } from "./types";

export type UrlVerdict = { ok: true; normalized: string } | { ok: false; message: string };

export const MAX_URL_BYTES = 2048;
export const MAX_TOKEN_BYTES = 16 * 1024;
export const MIN_PASSPHRASE_CHARS = 10;
export const MAX_NAME_CHARS = 200;
export const MAX_ENVIRONMENT_NAME_CHARS = 40;

const encoder = new TextEncoder();
const byteLength = (value: string) => encoder.encode(value).length;

export const URL_MESSAGES = {
  empty: "Enter the address of the MCP server, for example https://mcp.example.com/mcp.",
  tooLong: "That address is too long (over 2048 characters).",
  missingScheme: "Start the address with https://, for example https://mcp.example.com/mcp.",
  notAUrl: "That is not a web address. It should look like https://mcp.example.com/mcp.",
  plainHttp:
    "Only https:// addresses are allowed, so the token is never sent unencrypted. (http:// is accepted only for servers on this computer, such as http://127.0.0.1:8000/mcp.)",
  unsupportedScheme: (scheme: string) =>
    `"${scheme}://" addresses are not supported. Use an https:// address.`,
  noHost: "The address has no server name.",
  userinfo:
    "The address contains a user name or password. Remove it: the token is stored separately.",
  query:
    'The address contains a query (the part after "?"). Remove it: a credential applies to the whole server path.',
  fragment: 'The address contains a "#" part. Remove it.',
} as const;

/** Same rules and order as the engine's `normalize_server_url`; both follow the WHATWG URL standard. */
export function validateServerUrl(input: string): UrlVerdict {
  const trimmed = input.trim();
  if (trimmed === "") return { ok: false, message: URL_MESSAGES.empty };
  if (byteLength(trimmed) > MAX_URL_BYTES) return { ok: false, message: URL_MESSAGES.tooLong };

  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    const message = /^[a-z0-9.-]+(:\d+)?(\/|$)/i.test(trimmed)
      ? URL_MESSAGES.missingScheme
      : URL_MESSAGES.notAUrl;
    return { ok: false, message };
  }

  const scheme = url.protocol.replace(/:$/, "");
  if (scheme === "http") {
    if (!isLoopbackHost(url.hostname)) return { ok: false, message: URL_MESSAGES.plainHttp };
  } else if (scheme !== "https") {
    // "localhost:8000/mcp" parses with the scheme "localhost": say what is really missing.
    const looksLikeHost = !trimmed.includes("://") && /^[a-z0-9.-]+:\d+/i.test(trimmed);
    return {
      ok: false,
      message: looksLikeHost ? URL_MESSAGES.missingScheme : URL_MESSAGES.unsupportedScheme(scheme),
    };
  }
  if (url.hostname === "") return { ok: false, message: URL_MESSAGES.noHost };
  if (url.username !== "" || url.password !== "") {
    return { ok: false, message: URL_MESSAGES.userinfo };
  }
  // `search` and `hash` are "" for an empty "?" or "#" too; the serialised form keeps them.
  const [beforeHash] = url.href.split("#", 1);
  if (url.search !== "" || beforeHash.includes("?")) {
    return { ok: false, message: URL_MESSAGES.query };
  }
  if (url.href.includes("#")) return { ok: false, message: URL_MESSAGES.fragment };
  return { ok: true, normalized: url.href };
}

/** `hostname` as the URL parser serialises it: lower case, IPv4 in dotted form, IPv6 in brackets. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost") return true;
  if (hostname === "[::1]") return true;
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return ipv4 !== null && ipv4[1] === "127";
}

/** Legacy SSE servers conventionally live under /sse; everything else is streamable HTTP. */
export function guessProtocol(url: string): Protocol {
  let path: string;
  try {
    path = new URL(url.trim()).pathname;
  } catch {
    return "streamable_http";
  }
  return path.replace(/\/+$/, "").toLowerCase().endsWith("/sse") ? "sse" : "streamable_http";
}

// ----- tokens ------------------------------------------------------------------

// The characters Rust's `char::is_whitespace` (Unicode White_Space) and
// `char::is_control` (category Cc) reject.
const WHITESPACE_OR_CONTROL =
  /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

export const TOKEN_MESSAGES = {
  empty: "The token is empty. Paste the token your MCP server gave you.",
  tooLong: "The token is longer than 16 KiB. That is not a bearer token; check what you pasted.",
  lineBreak: "The token contains a line break. Paste it as a single line.",
  whitespace: "The token contains spaces or invisible characters. Copy it again without them.",
  nonAscii:
    "The token contains characters that cannot be sent in an HTTP header (only plain ASCII is allowed).",
} as const;

/** A message saying what is wrong with a pasted token, or null. Never quotes the token. */
export function validateToken(token: string): string | null {
  if (token === "") return TOKEN_MESSAGES.empty;
  if (byteLength(token) > MAX_TOKEN_BYTES) return TOKEN_MESSAGES.tooLong;
  if (/[\r\n]/.test(token)) return TOKEN_MESSAGES.lineBreak;
  if (WHITESPACE_OR_CONTROL.test(token)) return TOKEN_MESSAGES.whitespace;
  if (/[^\u0000-\u007f]/u.test(token)) return TOKEN_MESSAGES.nonAscii;
  return null;
}

// ----- header credentials ------------------------------------------------------
// Mirrors crates/vault/src/credential_secret.rs: names are HTTP field
// names the proxy and the bridge do not set themselves; values are one line of
// visible ASCII (tabs and spaces inside); at most 8 headers, each name once.

export const MAX_HEADERS = 8;

/** Header names Keybearer sets itself (lower case), besides `content-*` and `mcp-*`. */
const OWN_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "accept",
  "accept-encoding",
  "last-event-id",
]);

/** RFC 9110 `token` characters, what an HTTP field name may hold. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Rust's `str::trim` (Unicode White_Space), which differs from JavaScript's at the edges.
const RUST_WHITESPACE = "\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
const RUST_TRIM = new RegExp(`^[${RUST_WHITESPACE}]+|[${RUST_WHITESPACE}]+$`, "gu");
export const rustTrim = (value: string) => value.replace(RUST_TRIM, "");
// Rust's `char::is_control`: the Unicode category Cc.
const CONTROL_CC = /[\u0000-\u001f\u007f-\u009f]/u;

export const HEADER_MESSAGES = {
  emptyName: "The header name is empty. Type it as the server's documentation writes it, like X-API-Key.",
  badName: (name: string) => `"${name}" is not a valid header name: use letters, digits and dashes, like X-API-Key.`,
  ownName: (name: string) =>
    `Keybearer sets the "${name}" header itself, so a credential cannot. Check which header your server expects.`,
  emptyValue: (name: string) => `The value of ${name} is empty. Paste it from your server's settings.`,
  longValue: (name: string) => `The value of ${name} is longer than 16 KiB; check what you pasted.`,
  lineBreak: (name: string) => `The value of ${name} contains a line break. Paste it as a single line.`,
  badValue: (name: string) =>
    `The value of ${name} has spaces at its ends or characters an HTTP header cannot carry (only plain ASCII). Copy it again.`,
  none: "Add at least one header.",
  tooMany: `A credential can send at most ${MAX_HEADERS} headers.`,
  twice: (name: string) => `The header ${name} is listed twice. List each header once.`,
  basicUser: "Type the user name (for Atlassian: your e-mail address); it cannot contain a colon.",
  basicSecret: "The password or API token is empty or has a line break. Paste it as one line.",
} as const;

/** What is wrong with a header name, or null. */
export function validateHeaderName(input: string): string | null {
  const name = rustTrim(input);
  if (name === "") return HEADER_MESSAGES.emptyName;
  if (!FIELD_NAME.test(name)) return HEADER_MESSAGES.badName(name);
  const lower = name.toLowerCase();
  if (OWN_HEADERS.has(lower) || lower.startsWith("content-") || lower.startsWith("mcp-")) {
    return HEADER_MESSAGES.ownName(name);
  }
  return null;
}

/** What is wrong with the value of header `name`, or null. Never quotes the value. */
export function validateHeaderValue(name: string, value: string): string | null {
  const shown = rustTrim(name) || "this header";
  if (rustTrim(value) === "") return HEADER_MESSAGES.emptyValue(shown);
  if (byteLength(value) > MAX_TOKEN_BYTES) return HEADER_MESSAGES.longValue(shown);
  if (/[\r\n]/.test(value)) return HEADER_MESSAGES.lineBreak(shown);
  if (value !== rustTrim(value) || !/^[\t\u0020-\u007e]*$/.test(value)) return HEADER_MESSAGES.badValue(shown);
  return null;
}

/** What is wrong with the list of header names as a whole (count, a name twice), or null. */
export function validateHeaderList(names: readonly string[]): string | null {
  if (names.length === 0) return HEADER_MESSAGES.none;
  if (names.length > MAX_HEADERS) return HEADER_MESSAGES.tooMany;
  const seen = new Set<string>();
  for (const raw of names) {
    const name = rustTrim(raw);
    const lower = name.toLowerCase();
    if (name !== "" && seen.has(lower)) return HEADER_MESSAGES.twice(name);
    seen.add(lower);
  }
  return null;
}

/** HTTP Basic: the user name (no colon, no control characters). */
export function validateBasicUser(user: string): string | null {
  const trimmed = rustTrim(user);
  return trimmed === "" || trimmed.includes(":") || CONTROL_CC.test(trimmed) ? HEADER_MESSAGES.basicUser : null;
}

/** HTTP Basic: the password or API token (one line). */
export function validateBasicSecret(secret: string): string | null {
  return secret === "" || /[\r\n]/.test(secret) ? HEADER_MESSAGES.basicSecret : null;
}

// ----- names, colours, passphrases, recovery keys ----------------------------

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Vault display names: 1–200 characters after trimming, no control characters. */
export function validateDisplayName(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === "") return "The name is empty. Type a name.";
  if ([...trimmed].length > MAX_NAME_CHARS) {
    return "The name is longer than 200 characters. Use a shorter name.";
  }
  if (CONTROL.test(trimmed)) return "The name contains invisible control characters. Type it again.";
  return null;
}

export function validateEnvironmentName(name: string): string | null {
  const problem = validateDisplayName(name);
  if (problem) return problem;
  const trimmed = name.trim();
  if (trimmed.length > MAX_ENVIRONMENT_NAME_CHARS || !/^[A-Za-z0-9_-]+$/.test(trimmed)) {
    return 'Environment names may use letters, digits, "-" and "_" (at most 40), like "qa" or "eu-prod".';
  }
  return null;
}

export function isHexColour(value: string): boolean {
  return /^#[0-9a-f]{6}$/i.test(value.trim());
}

export function validatePassphrase(passphrase: string, confirmation: string): {
  passphrase: string | null;
  confirmation: string | null;
} {
  const tooShort = [...passphrase].length < MIN_PASSPHRASE_CHARS;
  return {
    passphrase: tooShort
      ? `Choose a passphrase of at least ${MIN_PASSPHRASE_CHARS} characters; a few unrelated words work well.`
      : null,
    confirmation:
      !tooShort && passphrase !== confirmation ? "The two passphrases are not the same." : null,
  };
}

/** Recovery keys are 32 base32 characters; dashes, spaces and case do not matter, 0/1/8 read as O/I/B. */
export function validateRecoveryKey(input: string): string | null {
  const cleaned = input.replace(/[-\s]/g, "").toUpperCase().replace(/0/g, "O").replace(/1/g, "I").replace(/8/g, "B");
  if (cleaned === "") return "Enter your recovery key.";
  if (!/^[A-Z2-7]{32}$/.test(cleaned)) {
    return "That does not look like a recovery key. It has 32 letters and digits in groups of four, like ABCD-EFGH-….";
  }
  return null;
}
