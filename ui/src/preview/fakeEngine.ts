// An in-memory stand-in for the Rust engine, so the UI can be looked at in a
// plain browser (`npm run dev`, then /preview.html?scenario=...). Development
// only: never imported by the app itself, and not part of `vite build`.
import type { Command } from "../lib/bindings/Command";
import type {
  AppChange,
  AppStatus,
  ConnectionTest,
  Credential,
  Environment,
  Event,
  EventKind,
  PastedSecret,
  PendingApproval,
  Protocol,
  SecretInput,
  Status,
  Vault,
} from "../lib/types";
import {
  guessProtocol,
  validateBasicSecret,
  validateBasicUser,
  validateHeaderList,
  validateHeaderName,
  validateHeaderValue,
  validateServerUrl,
  validateToken,
} from "../lib/validation";

import { fakeAsk, FAKE_CATALOG } from "./fakeCatalog";
import { fail, minutesAgo, newId, now, type Args, type Scenario } from "./fakeParts";

export type { Scenario };

export function createFakeEngine(scenario: Scenario) {
  const populated = scenario === "main" || scenario === "production" || scenario === "approval" || scenario === "tampered";
  const environments: Environment[] = [
    { name: "development", colour: "#1e88e5", created_at: minutesAgo(9000), vault_count: 0 },
    { name: "staging", colour: "#f9a825", created_at: minutesAgo(9000), vault_count: 0 },
    { name: "production", colour: "#e53935", created_at: minutesAgo(9000), vault_count: 0 },
  ];
  const vaults: Vault[] = [];
  const credentials: Credential[] = [];
  const events: Event[] = [];
  let eventId = 0;
  let initialized = scenario !== "first-run" && scenario !== "no-keychain";
  let unlocked = false;
  let active = scenario === "production" ? "production" : "development";

  function record(kind: EventKind, extra: Partial<Event> = {}) {
    events.push({
      id: ++eventId,
      at: now(),
      kind,
      environment: null,
      vault_id: null,
      credential_id: null,
      session_id: null,
      connection_id: null,
      upstream_url: null,
      method: null,
      status: null,
      detail: null,
      count: 1,
      ...extra,
    });
  }

  function addVault(name: string, environment: string): Vault {
    const vault: Vault = {
      id: newId("vlt"),
      display_name: name,
      environment,
      created_at: now(),
      updated_at: now(),
      credential_count: 0,
      last_used_at: null,
      team: null,
    };
    vaults.push(vault);
    record("vault.created", { environment, vault_id: vault.id });
    return vault;
  }

  function addCredential(vault: Vault, url: string, protocol: Protocol, headerNames: string[] | null = null): Credential {
    const credential: Credential = {
      id: newId("crd"),
      vault_id: vault.id,
      mcp_server_url: url,
      protocol,
      type: headerNames ? "headers" : "static_bearer",
      header_names: headerNames ?? ["Authorization"],
      needs_sign_in: false,
      wanted_scope: null,
      created_at: now(),
      last_used_at: null,
    };
    credentials.push(credential);
    vault.credential_count += 1;
    record("credential.created", { environment: vault.environment, vault_id: vault.id, credential_id: credential.id, upstream_url: url });
    return credential;
  }

  if (initialized) record("setup.completed", { detail: "keychain", at: minutesAgo(9000) });
  if (populated) {
    const github = addVault("GitHub", "development");
    const used = addCredential(github, "https://api.githubcopilot.com/mcp/", "streamable_http");
    addCredential(github, "http://127.0.0.1:8000/sse", "sse");
    used.last_used_at = minutesAgo(42);
    github.last_used_at = used.last_used_at;
    record("credential.used", { environment: "development", vault_id: github.id, credential_id: used.id, upstream_url: used.mcp_server_url, method: "POST", status: 200, count: 14 });
    addVault("Support bot", "development");
    const prod = addVault("Customer data", "production");
    addCredential(prod, "https://mcp.atlassian.com/v1/sse", "sse", ["Authorization"]);
    addCredential(github, "https://mcp.sentry.dev/mcp", "streamable_http", ["X-API-Key", "X-Org"]);
  }

  const status = (): Status => ({
    data_dir: "/home/ada/.local/share/keybearer",
    keychain_account: "a1b2c3d4",
    initialized,
    protection: !initialized ? null : scenario === "unlock" ? "passphrase" : "keychain",
    keychain:
      scenario === "no-keychain" || scenario === "locked-keychain"
        ? { state: scenario === "no-keychain" ? "unavailable" : "locked", detail: "org.freedesktop.secrets was not provided by any .service files" }
        : { state: "available", has_key: scenario !== "recover" },
    unlocked,
    recovery_needed: scenario === "recover" && !unlocked,
    active_environment: active,
    vaults: vaults.length,
    credentials: credentials.length,
    schema_version: 3,
  });

  const vault = (id: unknown) => vaults.find((candidate) => candidate.id === id) ?? fail("not_found", `No vault with id or name "${String(id)}" exists. It may have been deleted.`);
  const recoveryKey = () => "K7QX-M2PA-ZR4T-WQHB-C3ND-Y6LE-F5GU-J2SV";
  const slow = <T>(value: T, ms = 1200) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

  function checkUrl(raw: unknown): string {
    const verdict = validateServerUrl(String(raw ?? ""));
    return verdict.ok ? verdict.normalized : fail("invalid_input", verdict.message, "mcp_server_url");
  }

  /** The engine's checks of a secret; returns the header names it sends (null for a bearer token) and a value to test with. */
  function checkSecret(raw: unknown): { names: string[] | null; probe: string } {
    const secret = raw as SecretInput;
    if (secret.kind === "bearer") {
      const problem = validateToken(secret.token);
      if (problem) fail("invalid_input", problem, "access_token");
      return { names: null, probe: secret.token };
    }
    if (secret.kind === "basic") {
      const user = validateBasicUser(secret.user);
      if (user) fail("invalid_input", user, "user");
      const password = validateBasicSecret(secret.secret);
      if (password) fail("invalid_input", password, "secret");
      return { names: ["Authorization"], probe: secret.secret };
    }
    for (const header of secret.headers) {
      const name = validateHeaderName(header.name);
      if (name) fail("invalid_input", name, "header_name");
      const value = validateHeaderValue(header.name, header.value);
      if (value) fail("invalid_input", value, "header_value");
    }
    const list = validateHeaderList(secret.headers.map((header) => header.name));
    if (list) fail("invalid_input", list, "headers");
    return { names: secret.headers.map((header) => header.name.trim()), probe: secret.headers[0].value };
  }

  function connectionTest(url: string, token: string): ConnectionTest {
    if (token.startsWith("bad")) return { outcome: "unauthorized", message: "The server refused the token (HTTP 401). Check that you copied the whole token and that it has not expired.", server_name: null, http_status: 401, protocol_version: null };
    if (url.includes("offline")) return { outcome: "unreachable", message: "Could not reach the server. Check the address and your internet connection.", server_name: null, http_status: null, protocol_version: null };
    return { outcome: "ok", message: "The server accepted the token.", server_name: `${new URL(url).hostname} MCP`, http_status: 200, protocol_version: null };
  }

  // ----- apps: a few of the engine's, with settings files that exist only here -----
  const apps: AppStatus[] = [
    ["claude-desktop", "Claude Desktop", true, "~/.config/Claude/claude_desktop_config.json", false],
    ["claude-code", "Claude Code", true, "~/.claude.json", false],
    ["cursor", "Cursor", true, "~/.cursor/mcp.json", true],
    ["vscode", "VS Code", false, "~/.config/Code/User/mcp.json", true],
    ["zed", "Zed", false, "~/.config/zed/settings.json", true],
    ["codex", "Codex", false, "~/.codex/config.toml", false],
  ].map(([app, name, installed, config_path, reloads]) => ({
    app: String(app),
    name: String(name),
    // First run: a few apps found, for the first-run path.
    installed: Boolean(installed) && (populated || scenario === "first-run"),
    config_path: String(config_path),
    connection: null,
    entries: [],
    changed_entries: [],
    pasted_secrets: app === "claude-code" ? (populated ? 2 : scenario === "first-run" ? 1 : 0) : 0,
    problem: populated && app === "codex" ? "~/.codex/config.toml is not valid TOML (line 4): expected `=`." : null,
    reloads_by_itself: Boolean(reloads),
    import_undoable: false,
  }));

  const appOf = (id: unknown) => apps.find((candidate) => candidate.app === id) ?? fail("invalid_input", `Unknown app "${String(id)}".`, "app");

  /** The engine names an entry after its server's host; close enough for a preview. */
  const entryName = (url: string) => new URL(url).hostname.split(".").filter((part) => !["mcp", "api", "www", "com"].includes(part))[0] ?? "server";

  function writeEntries(app: AppStatus, vaultIds: string[]): AppChange {
    if (app.problem) fail("app_config", app.problem);
    if (vaultIds.length === 0) fail("invalid_input", "Choose at least one vault for this app.", "vaults");
    const chosen = vaultIds.map(vault);
    const environment = chosen[0].environment;
    if (chosen.some((v) => v.environment !== environment)) fail("mixed_environments", "These vaults are in different environments.");
    const urls = [...new Set(chosen.flatMap((v) => credentials.filter((c) => c.vault_id === v.id).map((c) => c.mcp_server_url)))];
    const before = app.entries;
    const entries = urls.map(entryName);
    const at = now();
    app.connection = {
      id: app.connection?.id ?? newId("con"),
      app: app.app,
      environment,
      vault_ids: chosen.map((v) => v.id),
      config_path: app.config_path.replace("~", "/home/ada"),
      created_at: app.connection?.created_at ?? at,
      updated_at: at,
      last_used_at: app.connection?.last_used_at ?? null,
    };
    app.entries = entries;
    app.installed = true;
    const added = entries.filter((name) => !before.includes(name));
    const removed = before.filter((name) => !entries.includes(name));
    const restored = app.changed_entries;
    app.changed_entries = [];
    const changed = added.length > 0 || removed.length > 0 || restored.length > 0;
    return { connection: app.connection, name: app.name, config_path: app.config_path, entries, added, removed, restored, restart_needed: changed && !app.reloads_by_itself };
  }

  /** What the scan of an app's settings finds: a header token and a query token. */
  function pastedIn(app: AppStatus): PastedSecret[] {
    const all: PastedSecret[] = [
      { server: "linear", url: "https://mcp.linear.app/mcp", location: "Authorization header", importable: true, note: null },
      { server: "brave", url: "https://mcp.brave.example/mcp", location: "URL query (?api_key=)", importable: false, note: "A token in the URL is not importable yet." },
    ];
    return app.pasted_secrets === 0 ? [] : all.slice(all.length - app.pasted_secrets);
  }
  const backups = new Map<string, { pasted: number; connected: boolean }>();

  if (populated) {
    writeEntries(apps[0], [vaults[0].id]);
    apps[0].connection!.last_used_at = minutesAgo(15);
  }
  if (scenario === "tampered" && apps[0].entries.length > 0) {
    const name = apps[0].entries[0];
    apps[0].changed_entries = [
      {
        name,
        warning: `The Keybearer entry "${name}" in ${apps[0].name}'s settings now runs /tmp/x instead of Keybearer. It now sets LD_PRELOAD, which Keybearer did not write. Something changed it.`,
      },
    ];
  }

  const approvals: PendingApproval[] =
    scenario === "approval"
      ? [
          {
            id: "apr_00000001",
            request: { program: "claude", vaults: ["Customer data"], environment: "production" },
            pid: 48213,
            command: "/usr/local/bin/keybearer session start --direct --vault \"Customer data\" -- claude",
          },
          {
            id: "apr_00000002",
            request: { program: "/home/ada/bin/my-agent", vaults: ["GitHub", "Support bot"], environment: "development" },
            pid: 48290,
            command: "keybearer session start --direct --vault GitHub --vault \"Support bot\" -- /home/ada/bin/my-agent --verbose",
          },
        ]
      : [];

  /** How a setup shown but not confirmed yet will keep its key. */
  let pendingSetup: "keychain" | "passphrase" | null = null;

  const commands: Partial<Record<Command, (args: Args) => unknown>> = {
    sessions_available: () => true,
    sandbox_available: () => true,
    // No team server in the preview (one needs a real OpenBao).
    list_team_servers: () => [],
    team_vault_history: () => [],
    app_status: () => status(),
    initialize: ({ passphrase }) => {
      if (passphrase === null && scenario === "no-keychain") fail("keychain_unavailable", "The system keychain could not be reached (no Secret Service). Your tokens are safe but cannot be unlocked until it is available.");
      pendingSetup = passphrase === null ? "keychain" : "passphrase";
      return slow({ recovery_key: recoveryKey() }, 600);
    },
    confirm_recovery_key: () => {
      if (pendingSetup !== null) {
        initialized = true;
        unlocked = true;
        record("setup.completed", { detail: pendingSetup });
        pendingSetup = null;
      } else {
        record("recovery_key.regenerated");
      }
      return status();
    },
    unlock: () => {
      if (scenario === "locked-keychain") fail("keychain_locked", "The system keychain is locked or refused access (dismissed). Unlock it (for example by logging in to your desktop) and try again.");
      unlocked = true;
      return status();
    },
    unlock_with_passphrase: ({ passphrase }) => {
      if (passphrase !== "correct horse battery") fail("wrong_passphrase", "That passphrase is not correct. Nothing was changed.");
      unlocked = true;
      return slow(status(), 800);
    },
    recover: ({ recoveryKey: typed }) => {
      const cleaned = String(typed).replace(/[-\s]/g, "").toUpperCase();
      if (cleaned !== recoveryKey().replace(/-/g, "")) fail("wrong_recovery_key", "That recovery key does not open these vaults. Check it for typos; nothing was changed.");
      unlocked = true;
      record("key.recovered");
      return status();
    },
    regenerate_recovery_key: () => ({ recovery_key: "P4RT-QZQM-W2XK-L7CB-N3HD-T6VA-Y5EJ-RBSU" }),
    list_environments: () => environments.map((environment) => ({ ...environment, vault_count: vaults.filter((v) => v.environment === environment.name).length })),
    create_environment: ({ name, colour }) => {
      const lower = String(name).trim().toLowerCase();
      if (environments.some((environment) => environment.name === lower)) fail("duplicate_environment", `An environment named "${lower}" already exists.`);
      const environment = { name: lower, colour: String(colour), created_at: now(), vault_count: 0 };
      environments.push(environment);
      record("environment.created", { environment: lower });
      return environment;
    },
    set_active_environment: ({ name }) => {
      active = String(name);
      return status();
    },
    list_vaults: ({ environment }) => vaults.filter((v) => environment === null || v.environment === environment),
    search_vaults: ({ text, environment }) => {
      const needle = String(text).trim().toLowerCase();
      return vaults.filter(
        (v) =>
          (environment === null || v.environment === environment) &&
          (v.display_name.toLowerCase().includes(needle) ||
            credentials.some((c) => c.vault_id === v.id && c.mcp_server_url.toLowerCase().includes(needle))),
      );
    },
    get_vault: ({ id }) => ({ ...vault(id), team_access: null }),
    create_vault: ({ displayName, environment }) => {
      const name = String(displayName).trim();
      if (vaults.some((v) => v.environment === environment && v.display_name.toLowerCase() === name.toLowerCase()))
        fail("duplicate_vault", `There is already a vault named "${name}" in ${String(environment)}. Pick another name, or use the existing vault.`, "display_name");
      return addVault(name, String(environment));
    },
    rename_vault: ({ id, displayName }) => {
      const found = vault(id);
      found.display_name = String(displayName);
      record("vault.renamed", { environment: found.environment, vault_id: found.id });
      return found;
    },
    delete_vault: ({ id }) => {
      const found = vault(id);
      vaults.splice(vaults.indexOf(found), 1);
      record("vault.deleted", { environment: found.environment, vault_id: found.id, detail: `${found.credential_count} credential(s) deleted with it` });
      return found;
    },
    list_credentials: ({ vaultId }) => credentials.filter((c) => c.vault_id === vaultId),
    add_credential: ({ vaultId, mcpServerUrl, protocol, secret }) => {
      const found = vault(vaultId);
      const url = checkUrl(mcpServerUrl);
      const { names } = checkSecret(secret);
      if (credentials.some((c) => c.vault_id === found.id && c.mcp_server_url === url)) {
        fail("duplicate_url", `This vault already has a credential for ${url}. Use "Replace token" to change it, or delete it first.`, "mcp_server_url");
      }
      return slow(addCredential(found, url, (protocol as Protocol | null) ?? guessProtocol(url), names), 500);
    },
    replace_token: ({ id, secret }) => {
      const { names } = checkSecret(secret);
      const old = credentials.find((c) => c.id === id) ?? fail("not_found", "No credential with that id exists.");
      const replacement: Credential = {
        ...old,
        id: newId("crd"),
        created_at: now(),
        type: names ? "headers" : "static_bearer",
        header_names: names ?? ["Authorization"],
      };
      credentials.splice(credentials.indexOf(old), 1, replacement);
      record("credential.replaced", { vault_id: old.vault_id, credential_id: replacement.id, upstream_url: old.mcp_server_url, detail: `replaces ${old.id}` });
      return replacement;
    },
    delete_credential: ({ id }) => {
      const old = credentials.find((c) => c.id === id) ?? fail("not_found", "No credential with that id exists.");
      credentials.splice(credentials.indexOf(old), 1);
      vault(old.vault_id).credential_count -= 1;
      record("credential.deleted", { vault_id: old.vault_id, credential_id: old.id, upstream_url: old.mcp_server_url });
      return old;
    },
    check_server_url: ({ url }) => {
      const normalized = checkUrl(url);
      return { normalized, suggested_protocol: guessProtocol(normalized) };
    },
    test_connection: ({ mcpServerUrl, secret }) => {
      const { probe } = checkSecret(secret);
      return slow(connectionTest(checkUrl(mcpServerUrl), probe), 2500);
    },
    test_saved_credential: ({ id }) => {
      const found = credentials.find((c) => c.id === id) ?? fail("not_found", "No credential with that id exists.");
      record("credential.tested", { vault_id: found.vault_id, credential_id: found.id, upstream_url: found.mcp_server_url, detail: "ok" });
      return slow(connectionTest(found.mcp_server_url, "good"), 1500);
    },
    catalog_list: () => slow(structuredClone(FAKE_CATALOG), 300),
    discover_sign_in: ({ mcpServerUrl }) => slow(fakeAsk(String(mcpServerUrl)), 900),
    open_server_page: () => null,
    list_apps: () => slow(structuredClone(apps), 400),
    connect_app: ({ app, vaults: ids }) => {
      const found = appOf(app);
      if (found.connection) fail("invalid_input", "This app is already connected. Change its vaults, or disconnect it first.", "app");
      record("app.connected", { detail: `${found.app} (${(ids as string[]).length} vaults)` });
      return slow(writeEntries(found, ids as string[]), 700);
    },
    change_app: ({ app, vaults: ids }) => {
      const found = appOf(app);
      if (!found.connection) fail("not_found", `No connection with id or name "${found.name}" exists. It may have been deleted.`);
      record("app.connection_changed", { detail: `${found.app} (${(ids as string[]).length} vaults)` });
      return slow(writeEntries(found, ids as string[]), 700);
    },
    disconnect_app: ({ app }) => {
      const found = appOf(app);
      if (!found.connection) fail("not_found", `No connection with id or name "${found.name}" exists. It may have been deleted.`);
      const removed = found.entries;
      found.connection = null;
      found.entries = [];
      record("app.disconnected", { detail: found.app });
      return slow({ connection: null, name: found.name, config_path: found.config_path, entries: [], added: [], removed, restored: [], restart_needed: removed.length > 0 && !found.reloads_by_itself } satisfies AppChange, 500);
    },
    pasted_secrets: ({ app }) => slow(pastedIn(appOf(app)), 300),
    import_app: ({ app, vault: id }) => {
      const found = appOf(app);
      const target = vault(id);
      const moved = pastedIn(found).filter((secret) => secret.importable);
      const imported = moved.map((secret) => ({
        server: secret.server,
        url: secret.url,
        credential_id: addCredential(target, secret.url, "streamable_http").id,
      }));
      backups.set(found.app, { pasted: found.pasted_secrets, connected: found.connection === null });
      const change = writeEntries(found, [...(found.connection?.vault_ids ?? []), target.id].filter((v, i, all) => all.indexOf(v) === i));
      found.pasted_secrets -= moved.length;
      record("app.tokens_imported", { vault_id: target.id, detail: `${imported.length} tokens from ${found.app}` });
      return slow(
        {
          imported,
          left: pastedIn(found),
          copies: [],
          deleted_copies: [],
          change: { ...change, restart_needed: !found.reloads_by_itself },
        },
        900,
      );
    },
    delete_app_token_copies: ({ app }) => {
      const found = appOf(app);
      if (!backups.has(found.app)) fail("invalid_input", `Keybearer has no import from ${found.name} to clean up after.`);
      return slow({ deleted: [], copies: [] }, 300);
    },
    undo_app_import: ({ app }) => {
      const found = appOf(app);
      const backup = backups.get(found.app) ?? fail("not_found", `No import to undo for ${found.name} exists.`);
      backups.delete(found.app);
      found.pasted_secrets = backup.pasted;
      if (backup.connected) {
        found.connection = null;
        found.entries = [];
      }
      record("app.import_undone", { detail: found.app });
      return slow({ connection: found.connection, name: found.name, config_path: found.config_path, entries: [], added: [], removed: [], restored: [], restart_needed: !found.reloads_by_itself } satisfies AppChange, 500);
    },
    sync_app: ({ app }) => {
      const found = appOf(app);
      if (!found.connection) fail("not_found", `No connection with id or name "${found.name}" exists. It may have been deleted.`);
      if (found.changed_entries.length > 0) record("app.entries_restored", { detail: `${found.app}: ${found.changed_entries.map((c) => c.name).join(", ")}` });
      return slow(writeEntries(found, found.connection!.vault_ids), 500);
    },
    sync_apps: () => ({
      changes: apps.filter((a) => a.connection).map((a) => writeEntries(a, a.connection!.vault_ids)),
      failures: [],
    }),
    pending_approvals: () => structuredClone(approvals),
    answer_approval: ({ id }) => {
      const index = approvals.findIndex((approval) => approval.id === id);
      if (index === -1) fail("not_found", `No approval request with id "${String(id)}" exists.`);
      approvals.splice(index, 1);
      return slow(null, 400);
    },
    list_events: ({ vaultId, limit }) =>
      events.filter((e) => vaultId === null || e.vault_id === vaultId).slice(-Number(limit)).reverse(),
  };

  return (command: string, args: Args = {}): unknown => {
    const handler = commands[command as Command];
    if (!handler) return fail("internal", `command ${command} not found`);
    return handler(args);
  };
}
