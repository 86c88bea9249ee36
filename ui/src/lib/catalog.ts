// The known servers in the window ("Add a server"): the picker's search and
// keyboard moves, what an entry's way of signing in needs from the user,
// and a saved credential's server name. Pure functions over the catalog
// the engine lists (`catalog_list`: the built-in servers with the MCP
// Registry's under them; docs/architecture.md, "Known servers").
import { emptyDraft, type SecretDraft } from "./secretInput";
import type {
  AskedServer,
  CatalogEntry,
  CatalogRemote,
  CatalogSignIn,
  CatalogSignInKind,
  CatalogTransport,
  Protocol,
} from "./types";

/**
 * The entries whose name, id or purpose hold every word of `query`,
 * regardless of case: names (or ids) starting with the query first, then
 * names or ids holding every word, then purpose matches; each group in the
 * catalog's order (by name). The engine's `Catalog::search` ranks alike.
 */
export function searchCatalog(entries: readonly CatalogEntry[], query: string): CatalogEntry[] {
  const text = query.trim().toLowerCase();
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...entries];
  const ranked: { rank: number; entry: CatalogEntry }[] = [];
  for (const entry of entries) {
    const name = entry.name.toLowerCase();
    const id = entry.id.toLowerCase();
    const purpose = entry.purpose.toLowerCase();
    const inName = (word: string) => name.includes(word) || id.includes(word);
    if (!words.every((word) => inName(word) || purpose.includes(word))) continue;
    const rank = name.startsWith(text) || id.startsWith(text) ? 0 : words.every(inName) ? 1 : 2;
    ranked.push({ rank, entry });
  }
  // Array.prototype.sort is stable: the catalog's order stays within a rank.
  return ranked.sort((a, b) => a.rank - b.rank).map(({ entry }) => entry);
}

/**
 * The option a key moves to in a list of `count` options: arrows by one
 * (stopping at the ends), Page keys by ten. Null for any other key (the
 * search field keeps it, Home and End included: they move its caret).
 */
export function movedOption(key: string, current: number, count: number): number | null {
  if (count === 0) return null;
  const last = count - 1;
  const clamp = (index: number) => Math.min(last, Math.max(0, index));
  switch (key) {
    case "ArrowDown":
      return clamp(current + 1);
    case "ArrowUp":
      return clamp(current - 1);
    case "PageDown":
      return clamp(current + 10);
    case "PageUp":
      return clamp(current - 10);
    default:
      return null;
  }
}

/**
 * The picker's list, once asked for: the known servers, or, when the list
 * could not be loaded, none and the reason ("Other server" is then the only
 * choice, and the picker says why).
 */
export type PickerList = { entries: CatalogEntry[]; problem: string | null };

/** Loads the picker's list with `load` (`catalog_list`); a failure is a list of none with its reason, never a throw. */
export async function loadPickerList(load: () => Promise<CatalogEntry[]>): Promise<PickerList> {
  try {
    return { entries: await load(), problem: null };
  } catch (raw) {
    const message = (raw as { message?: unknown } | null)?.message;
    return { entries: [], problem: typeof message === "string" && message.trim() !== "" ? message : "no reason given" };
  }
}

/**
 * The picker's options in order: the first `limit` servers found, then
 * "other" (always last, and alone when none is listed); `found` counts every
 * match, shown or not.
 */
export function pickerOptions(
  entries: readonly CatalogEntry[],
  query: string,
  limit: number,
): { found: number; options: (CatalogEntry | "other")[] } {
  const found = searchCatalog(entries, query);
  return { found: found.length, options: [...found.slice(0, limit), "other"] };
}

/** The line under the search field; null while loading (a spinner shows). */
export function pickerStatus(list: PickerList | null, query: string, found: number, shown: number): string | null {
  if (list === null) return null;
  if (list.problem !== null) return "No known servers to choose from: choose Other server and type its address.";
  if (query.trim() === "") {
    const count = `${list.entries.length} known server${list.entries.length === 1 ? "" : "s"}`;
    return `${count}. Type to narrow them down; ↑ ↓ and Enter to pick.`;
  }
  if (found === 0) return `No known server matches “${query.trim()}”. Choose Other server to type its address.`;
  const count = `${found} server${found === 1 ? "" : "s"}`;
  return `${count} found${found > shown ? `, the first ${shown} shown` : ""}.`;
}

/** The protocol the form sends for a catalog transport (the same names). */
export function protocolOf(transport: CatalogTransport): Protocol {
  return transport === "sse" ? "sse" : "streamable_http";
}

/** The entry's address for this way of signing in (its preferred one first). */
export function remoteFor(entry: CatalogEntry, kind: CatalogSignInKind): CatalogRemote | null {
  return entry.remotes.find((remote) => !remote.for_sign_in?.length || remote.for_sign_in.includes(kind)) ?? null;
}

/** The entry's ways of signing in that have an address, the preferred first. */
export function usableWays(entry: CatalogEntry): CatalogSignIn[] {
  return entry.sign_in.filter((way) => remoteFor(entry, way.kind) !== null);
}

/** What the form asks of the user for a known server, from its way of signing in. */
export type Needs =
  /** One button: the service registers Keybearer by itself. */
  | { kind: "oauth"; scope: string | null }
  /** An OAuth app the user creates at `clientPage`; its client ID (and secret) typed here. */
  | { kind: "oauth_client"; clientPage: string; clientSecret: boolean; scope: string | null }
  /** A personal token, made at `tokenPage` (when known) with these permissions; sent in `header`, else as a bearer token. */
  | { kind: "token"; tokenPage: string | null; permissions: string[]; header: string | null }
  /** Named headers (API keys). */
  | { kind: "headers"; headers: { name: string; description: string | null }[] }
  /** Not known yet: the server is being asked. */
  | { kind: "ask" };

const scopeOf = (scopes: readonly string[]) => (scopes.length > 0 ? scopes.join(" ") : null);

/** What a way of signing in needs from the user ("discover": ask the server first). */
export function needsOf(way: CatalogSignIn): Needs {
  switch (way.kind) {
    case "oauth":
      return { kind: "oauth", scope: scopeOf(way.scopes) };
    case "oauth_client":
      return {
        kind: "oauth_client",
        clientPage: way.client_page,
        clientSecret: way.client_secret,
        scope: scopeOf(way.scopes),
      };
    case "token":
      return { kind: "token", tokenPage: way.token_page, permissions: way.permissions, header: way.header };
    case "header":
      return { kind: "headers", headers: way.headers.map(({ name, description }) => ({ name, description })) };
    case "discover":
      return { kind: "ask" };
  }
}

/** What the server's answer (`discover_sign_in`) needs; header descriptions come from the entry. */
export function needsFromAsked(asked: AskedServer, entry: CatalogEntry | null): Needs {
  switch (asked.way.way) {
    case "oauth":
      return { kind: "oauth", scope: null };
    case "headers": {
      const declared = entry?.sign_in.flatMap((way) => (way.kind === "header" ? way.headers : [])) ?? [];
      return {
        kind: "headers",
        headers: asked.way.names.map((name) => ({
          name,
          description: declared.find((header) => header.name === name)?.description ?? null,
        })),
      };
    }
    case "token":
      return { kind: "token", tokenPage: null, permissions: [], header: null };
  }
}

/** The form's draft for these needs: the kind, header names and scopes filled in, no values. */
export function draftForNeeds(needs: Needs): SecretDraft {
  switch (needs.kind) {
    case "oauth":
    case "oauth_client":
      return { ...emptyDraft("oauth"), scope: needs.scope ?? "" };
    case "token":
      return needs.header === null ? emptyDraft("bearer") : emptyDraft("headers", [needs.header]);
    case "headers":
      return emptyDraft(
        "headers",
        needs.headers.map((header) => header.name),
      );
    case "ask":
      return emptyDraft("bearer");
  }
}

/** How a way reads on its switch ("Or: use a personal token"). */
export function wayLabel(way: CatalogSignIn): string {
  switch (way.kind) {
    case "oauth":
      return "Sign in through your browser";
    case "oauth_client":
      return "Sign in with an OAuth app of your own";
    case "token":
      return "A personal token";
    case "header":
      return way.headers.length === 1 ? `An API key (${way.headers[0].name})` : "API keys";
    case "discover":
      return "Ask the server";
  }
}

/** A page's address as link text: without the scheme, "www." or a trailing slash. */
export function pageLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host.replace(/^www\./, "")}${parsed.pathname.replace(/\/+$/, "")}`;
  } catch {
    return url;
  }
}

/**
 * The callback address to give a service when creating an OAuth app for
 * Keybearer. Sign-in listens on 127.0.0.1 on a port chosen each time;
 * services that allow loopback callbacks (RFC 8252 §7.3, GitHub) accept any
 * port for it.
 */
export const CALLBACK_ADDRESS = "http://127.0.0.1/callback";

/**
 * An address as the catalog and the vault compare them: scheme and host in
 * lowercase, no default port, no trailing slash. Null when it is not one.
 */
export function addressKey(url: string): string | null {
  try {
    const parsed = new URL(url.trim());
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return null;
    const path = parsed.pathname.replace(/\/+$/, "");
    return `${parsed.protocol}//${parsed.host}${path}`;
  } catch {
    return null;
  }
}

/** The catalog's names by address, for naming saved credentials. */
export function namesByAddress(entries: readonly CatalogEntry[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const entry of entries) {
    for (const remote of entry.remotes) {
      const key = addressKey(remote.url);
      // The catalog lists each address once; keep the first all the same.
      if (key !== null && !names.has(key)) names.set(key, entry.name);
    }
  }
  return names;
}

/** The known server's name for a credential's address, if the catalog has one. */
export function serverName(names: ReadonlyMap<string, string>, url: string): string | null {
  const key = addressKey(url);
  return key === null ? null : (names.get(key) ?? null);
}

/** Dark or light text, whichever reads better on the badge colour `#rrggbb` (WCAG luminance). */
export function badgeTextColour(background: string): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(background.trim());
  if (!hex) return "#ffffff";
  const channel = (offset: number) => {
    const value = parseInt(hex[1].slice(offset, offset + 2), 16) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  // The contrast with white is 1.05 / (L + 0.05); with near-black (L ≈ 0.006), (L + 0.05) / 0.056.
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.056 ? "#ffffff" : "#111418";
}
