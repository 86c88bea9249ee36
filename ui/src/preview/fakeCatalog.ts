// The preview's known servers (fakeEngine.ts answers `catalog_list` with
// them): one of each way of signing in. Development only, like the fake engine.
import type { AskedServer, CatalogEntry } from "../lib/types";

const entry = (id: string, name: string, purpose: string, color: string, more: Partial<CatalogEntry>): CatalogEntry => ({
  id,
  name,
  purpose,
  remotes: [{ url: `https://mcp.${id}.example/mcp`, transport: "streamable_http" }],
  sign_in: [{ kind: "oauth", scopes: [] }],
  docs: `https://${id}.example/docs`,
  initials: name.split(/\s+/).length > 1 ? name.split(/\s+/).map((word) => word[0]).join("").slice(0, 2) : name.slice(0, 2),
  color,
  origin: "shipped",
  registry_name: null,
  ...more,
});

export const FAKE_CATALOG: CatalogEntry[] = [
  entry("github", "GitHub", "Read and change code, issues and pull requests in your GitHub repositories.", "#24292f", {
    remotes: [{ url: "https://api.githubcopilot.com/mcp/", transport: "streamable_http" }],
    sign_in: [
      {
        kind: "oauth_client",
        client_page: "https://github.com/settings/applications/new",
        client_secret: true,
        scopes: ["repo", "read:org"],
        authorize_url: null,
        token_url: null,
      },
      { kind: "token", token_page: "https://github.com/settings/tokens", permissions: ["repo", "read:org"], header: null },
    ],
  }),
  entry("linear", "Linear", "Read and update issues and projects in Linear.", "#5e6ad2", {}),
  entry("notion", "Notion", "Search, read and write pages and databases in your Notion workspace.", "#191919", {}),
  entry("stripe", "Stripe", "Look up customers, payments and invoices in your Stripe account.", "#635bff", {
    sign_in: [{ kind: "token", token_page: "https://dashboard.stripe.com/apikeys", permissions: ["Read"], header: null }],
  }),
  entry("com.example/tasks", "Example Tasks", "Tasks from the MCP Registry.", "#2e7d32", {
    origin: "registry",
    registry_name: "com.example/tasks",
    sign_in: [{ kind: "discover" }, { kind: "header", headers: [{ name: "X-Api-Key", description: "Your API key", required: true }] }],
  }),
];

/** Servers whose address holds "oauth" sign in; the others take a token. */
export const fakeAsk = (url: string): AskedServer => {
  const protocol = url.includes("events") || url.endsWith("/sse") ? "sse" : "streamable_http";
  return url.includes("oauth")
    ? { way: { way: "oauth" }, protocol, problem: null }
    : { way: { way: "headers", names: ["X-Api-Key"] }, protocol, problem: null };
};
