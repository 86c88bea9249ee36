import { describe, expect, it } from "vitest";
import {
  addressKey,
  badgeTextColour,
  draftForNeeds,
  loadPickerList,
  movedOption,
  namesByAddress,
  needsFromAsked,
  needsOf,
  pageLabel,
  pickerOptions,
  pickerStatus,
  protocolOf,
  remoteFor,
  searchCatalog,
  serverName,
  usableWays,
  wayLabel,
} from "./catalog";
import type { CatalogEntry, CatalogSignIn } from "./types";

function entry(id: string, name: string, purpose: string, more: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id,
    name,
    purpose,
    remotes: [{ url: `https://mcp.${id}.example/mcp`, transport: "streamable_http" }],
    sign_in: [{ kind: "oauth", scopes: [] }],
    docs: null,
    initials: name.slice(0, 2),
    color: "#336699",
    origin: "shipped",
    registry_name: null,
    ...more,
  };
}

// In the catalog's order: by name.
const CATALOG = [
  entry("asana", "Asana", "Plan projects and track tasks with your team."),
  entry("github", "GitHub", "Read and change code, issues and pull requests in your GitHub repositories."),
  entry("gitlab", "GitLab", "Work with projects, issues and merge requests on GitLab."),
  entry("linear", "Linear", "Read and update issues and projects in Linear."),
  entry("notion", "Notion", "Search, read and write pages and databases in your Notion workspace."),
  entry("com.example/tasks", "Example Tasks", "Tasks from the registry.", { origin: "registry" }),
];
const ids = (found: CatalogEntry[]) => found.map((found) => found.id);

describe("searchCatalog", () => {
  it("lists every entry, in the catalog's order, for an empty or blank search", () => {
    expect(ids(searchCatalog(CATALOG, ""))).toEqual(ids(CATALOG));
    expect(ids(searchCatalog(CATALOG, "   "))).toEqual(ids(CATALOG));
  });

  it("matches names, ids and purposes regardless of case", () => {
    expect(ids(searchCatalog(CATALOG, "NOTION"))).toEqual(["notion"]);
    expect(ids(searchCatalog(CATALOG, "com.example"))).toEqual(["com.example/tasks"]);
    expect(ids(searchCatalog(CATALOG, "databases"))).toEqual(["notion"]);
  });

  it("puts names that start with the search first, then names holding it, then purposes", () => {
    // "git": GitHub and GitLab by name; nothing else says "git" but GitHub's purpose.
    expect(ids(searchCatalog(CATALOG, "git"))).toEqual(["github", "gitlab"]);
    // "issues": in no name; in the purposes of GitHub, GitLab and Linear, in the catalog's order.
    expect(ids(searchCatalog(CATALOG, "issues"))).toEqual(["github", "gitlab", "linear"]);
    // "tasks": Example Tasks holds it in its name, Asana only in its purpose.
    expect(ids(searchCatalog(CATALOG, "tasks"))).toEqual(["com.example/tasks", "asana"]);
    // A name that starts with the search beats one that only holds it.
    const both = [entry("x", "Lineage", "Nothing."), entry("y", "Alinear", "Nothing.")];
    expect(ids(searchCatalog([...both].reverse(), "line"))).toEqual(["x", "y"]);
  });

  it("needs every word, in any field", () => {
    expect(ids(searchCatalog(CATALOG, "issues linear"))).toEqual(["linear"]);
    expect(ids(searchCatalog(CATALOG, "notion issues"))).toEqual([]);
  });

  it("finds nothing for a search nothing holds", () => {
    expect(searchCatalog(CATALOG, "zzz")).toEqual([]);
    expect(searchCatalog([], "git")).toEqual([]);
  });
});

describe("movedOption", () => {
  it("moves by one with the arrows and by ten with the page keys, stopping at the ends", () => {
    expect(movedOption("ArrowDown", 0, 5)).toBe(1);
    expect(movedOption("ArrowDown", 4, 5)).toBe(4);
    expect(movedOption("ArrowUp", 0, 5)).toBe(0);
    expect(movedOption("ArrowUp", 3, 5)).toBe(2);
    expect(movedOption("PageDown", 2, 30)).toBe(12);
    expect(movedOption("PageDown", 25, 30)).toBe(29);
    expect(movedOption("PageUp", 5, 30)).toBe(0);
  });

  it("leaves every other key to the search field, and has nowhere to go in an empty list", () => {
    for (const key of ["a", "Enter", "Escape", "Home", "End", "ArrowLeft", "Tab"]) {
      expect(movedOption(key, 2, 5)).toBeNull();
    }
    expect(movedOption("ArrowDown", 0, 0)).toBeNull();
  });
});

describe("an entry's addresses and ways", () => {
  const split = entry("split", "Split", "Different addresses per way.", {
    remotes: [
      { url: "https://split.example/oauth", transport: "streamable_http", for_sign_in: ["oauth"] },
      { url: "https://split.example/sse", transport: "sse" },
    ],
    sign_in: [
      { kind: "oauth", scopes: ["read"] },
      { kind: "token", token_page: "https://split.example/tokens", permissions: ["read"], header: null },
    ],
  });

  it("takes the first address meant for the way, and its protocol", () => {
    expect(remoteFor(split, "oauth")?.url).toBe("https://split.example/oauth");
    expect(remoteFor(split, "token")?.url).toBe("https://split.example/sse");
    expect(protocolOf(remoteFor(split, "token")!.transport)).toBe("sse");
    expect(protocolOf("streamable_http")).toBe("streamable_http");
  });

  it("offers only ways that have an address", () => {
    const oauthOnly = { ...split, remotes: [split.remotes[0]] };
    expect(usableWays(split).map((way) => way.kind)).toEqual(["oauth", "token"]);
    expect(usableWays(oauthOnly).map((way) => way.kind)).toEqual(["oauth"]);
  });

  it("names each way in words", () => {
    const header: CatalogSignIn = { kind: "header", headers: [{ name: "X-Api-Key", description: null, required: true }] };
    expect(wayLabel(split.sign_in[1])).toBe("A personal token");
    expect(wayLabel(header)).toBe("An API key (X-Api-Key)");
  });
});

describe("what a way needs from the user", () => {
  it("asks nothing for OAuth with registration but its scopes", () => {
    const needs = needsOf({ kind: "oauth", scopes: ["read", "write"] });
    expect(needs).toEqual({ kind: "oauth", scope: "read write" });
    expect(draftForNeeds(needs)).toMatchObject({ kind: "oauth", scope: "read write", clientId: "", clientSecret: "" });
    expect(needsOf({ kind: "oauth", scopes: [] })).toEqual({ kind: "oauth", scope: null });
  });

  it("asks for an OAuth app's client ID and, when the service needs it, its secret", () => {
    const needs = needsOf({
      kind: "oauth_client",
      client_page: "https://github.com/settings/applications/new",
      client_secret: true,
      scopes: ["repo", "read:org"],
      authorize_url: null,
      token_url: null,
    });
    expect(needs).toEqual({
      kind: "oauth_client",
      clientPage: "https://github.com/settings/applications/new",
      clientSecret: true,
      scope: "repo read:org",
    });
    expect(draftForNeeds(needs)).toMatchObject({ kind: "oauth", scope: "repo read:org" });
  });

  it("asks for a personal token, as a bearer token or in the header the entry names", () => {
    const bearer = needsOf({ kind: "token", token_page: "https://t.example/new", permissions: ["read"], header: null });
    expect(bearer).toEqual({ kind: "token", tokenPage: "https://t.example/new", permissions: ["read"], header: null });
    expect(draftForNeeds(bearer).kind).toBe("bearer");
    const inHeader = draftForNeeds(needsOf({ kind: "token", token_page: "https://t.example", permissions: [], header: "X-Api-Key" }));
    expect(inHeader.kind).toBe("headers");
    expect(inHeader.headers.map((header) => [header.name, header.value])).toEqual([["X-Api-Key", ""]]);
  });

  it("asks for the named headers' values", () => {
    const needs = needsOf({
      kind: "header",
      headers: [
        { name: "X-Api-Key", description: "Your key", required: true },
        { name: "X-Org", description: null, required: false },
      ],
    });
    expect(draftForNeeds(needs).headers.map((header) => header.name)).toEqual(["X-Api-Key", "X-Org"]);
  });

  it("asks the server first for an entry that says so, then follows its answer", () => {
    const registry = entry("io.example/keys", "Keys", "Registry entry.", {
      origin: "registry",
      sign_in: [{ kind: "discover" }, { kind: "header", headers: [{ name: "X-Key", description: "The key", required: true }] }],
    });
    expect(needsOf(registry.sign_in[0])).toEqual({ kind: "ask" });
    expect(needsFromAsked({ way: { way: "oauth" }, protocol: "streamable_http", problem: null }, registry)).toEqual({ kind: "oauth", scope: null });
    expect(needsFromAsked({ way: { way: "headers", names: ["X-Key"] }, protocol: "sse", problem: null }, registry)).toEqual({
      kind: "headers",
      headers: [{ name: "X-Key", description: "The key" }],
    });
    const token = needsFromAsked({ way: { way: "token" }, protocol: null, problem: "Could not reach it." }, null);
    expect(token).toEqual({ kind: "token", tokenPage: null, permissions: [], header: null });
    expect(draftForNeeds(token).kind).toBe("bearer");
  });
});

describe("naming saved credentials by the catalog", () => {
  const names = namesByAddress([
    entry("github", "GitHub", "Code.", { remotes: [{ url: "https://api.githubcopilot.com/mcp/", transport: "streamable_http" }] }),
    entry("notion", "Notion", "Pages.", {
      remotes: [
        { url: "https://mcp.notion.com/mcp", transport: "streamable_http" },
        { url: "https://mcp.notion.com/sse", transport: "sse" },
      ],
    }),
    entry("local", "Local Peer", "Test.", { remotes: [{ url: "http://127.0.0.1:8123/mcp", transport: "streamable_http" }] }),
  ]);

  it("finds the name by the normalised address: case of scheme and host, default port, trailing slash", () => {
    expect(serverName(names, "https://api.githubcopilot.com/mcp/")).toBe("GitHub");
    expect(serverName(names, "https://API.githubcopilot.com:443/mcp")).toBe("GitHub");
    expect(serverName(names, "HTTPS://mcp.notion.com/sse")).toBe("Notion");
    expect(serverName(names, "http://127.0.0.1:8123/mcp")).toBe("Local Peer");
  });

  it("has no name for another address, path, port or scheme (the list falls back to the host)", () => {
    expect(serverName(names, "https://mcp.notion.com/other")).toBeNull();
    expect(serverName(names, "http://127.0.0.1:8124/mcp")).toBeNull();
    expect(serverName(names, "http://mcp.notion.com/mcp")).toBeNull();
    expect(serverName(names, "not an address")).toBeNull();
  });

  it("compares the path as written (case and all)", () => {
    expect(addressKey("https://Example.COM/MCP/")).toBe("https://example.com/MCP");
    expect(addressKey("ftp://example.com/")).toBeNull();
  });
});

describe("small words and colours", () => {
  it("shows a page's address without the scheme", () => {
    expect(pageLabel("https://github.com/settings/tokens")).toBe("github.com/settings/tokens");
    expect(pageLabel("https://www.example.com/")).toBe("example.com");
    expect(pageLabel("nonsense")).toBe("nonsense");
  });

  it("writes the badge's initials in whichever of white or near-black reads better", () => {
    expect(badgeTextColour("#24292f")).toBe("#ffffff"); // dark grey
    expect(badgeTextColour("#000000")).toBe("#ffffff");
    expect(badgeTextColour("#ffffff")).toBe("#111418");
    expect(badgeTextColour("#f5c518")).toBe("#111418"); // yellow
    expect(badgeTextColour("#2c56c9")).toBe("#ffffff"); // blue
    expect(badgeTextColour("red")).toBe("#ffffff"); // not #rrggbb: the default
  });
});

describe("the picker's list", () => {
  const known = [entry("github", "GitHub", "Code"), entry("notion", "Notion", "Notes")];

  it("lists the known servers, then Other server, last", async () => {
    const list = await loadPickerList(async () => known);
    expect(list).toEqual({ entries: known, problem: null });
    const { found, options } = pickerOptions(list.entries, "", 60);
    expect(found).toBe(2);
    expect(options.map((option) => (option === "other" ? "other" : option.id))).toEqual(["github", "notion", "other"]);
    expect(pickerStatus(list, "", found, 2)).toBe("2 known servers. Type to narrow them down; ↑ ↓ and Enter to pick.");
    expect(pickerOptions(list.entries, "zzz", 60).options).toEqual(["other"]);
    expect(pickerStatus(list, "zzz", 0, 0)).toContain("No known server matches “zzz”");
    expect(pickerOptions(list.entries, "", 1).options.length).toBe(2);
    expect(pickerStatus(list, "o", 2, 1)).toBe("2 servers found, the first 1 shown.");
  });

  it("when the list cannot be loaded, Other server is the only choice and the reason is kept", async () => {
    const list = await loadPickerList(() =>
      Promise.reject({ code: "internal", message: "The engine could not be opened.", field: null }),
    );
    expect(list).toEqual({ entries: [], problem: "The engine could not be opened." });
    for (const query of ["", "git"]) {
      const { found, options } = pickerOptions(list.entries, query, 60);
      expect(options).toEqual(["other"]);
      const status = pickerStatus(list, query, found, 0);
      expect(status).toContain("choose Other server");
      expect(status).not.toContain("0 known servers");
    }
    // A failure without words still gives the picker something to say.
    expect((await loadPickerList(() => Promise.reject(new Error("")))).problem).toBe("no reason given");
    expect((await loadPickerList(() => Promise.reject(null))).problem).toBe("no reason given");
  });

  it("says nothing while loading (a spinner shows)", () => {
    expect(pickerStatus(null, "", 0, 0)).toBeNull();
  });
});
