import { describe, expect, it } from "vitest";
import {
  appState,
  changedEntriesText,
  defaultImportVault,
  groupApps,
  importableServers,
  importVaultChoices,
  moveVaultUp,
  pastedSecretsText,
  plannedServers,
  summarizeChange,
  afterCleanup,
  summarizeImport,
  summarizeUndo,
  toggleVault,
  vaultNames,
} from "./apps";
import type {
  AppChange,
  AppConnection,
  AppStatus,
  Credential,
  ImportOutcome,
  PastedSecret,
  TokenCopy,
  Vault,
} from "./types";

const connection: AppConnection = {
  id: "con_1",
  app: "cursor",
  environment: "development",
  vault_ids: ["vlt_a", "vlt_b"],
  config_path: "/home/ada/.cursor/mcp.json",
  created_at: "2026-11-26T09:00:00Z",
  updated_at: "2026-11-26T09:00:00Z",
  last_used_at: null,
};

function app(id: string, extra: Partial<AppStatus> = {}): AppStatus {
  return {
    app: id,
    name: id,
    installed: false,
    config_path: `~/.${id}/mcp.json`,
    connection: null,
    entries: [],
    changed_entries: [],
    pasted_secrets: 0,
    problem: null,
    reloads_by_itself: false,
    import_undoable: false,
    ...extra,
  };
}

function credential(vaultId: string, url: string): Credential {
  return {
    id: `crd_${vaultId}_${url}`,
    vault_id: vaultId,
    mcp_server_url: url,
    protocol: "streamable_http",
    type: "static_bearer",
    header_names: ["Authorization"],
    needs_sign_in: false,
    wanted_scope: null,
    created_at: "2026-11-26T09:00:00Z",
    last_used_at: null,
  };
}

function change(extra: Partial<AppChange> = {}): AppChange {
  return {
    connection,
    name: "Cursor",
    config_path: "~/.cursor/mcp.json",
    entries: ["github"],
    added: ["github"],
    removed: [],
    restored: [],
    restart_needed: false,
    ...extra,
  };
}

describe("apps list", () => {
  it("names an app's state", () => {
    expect(appState(app("a", { connection }))).toBe("connected");
    expect(appState(app("a", { installed: true }))).toBe("installed");
    expect(appState(app("a"))).toBe("not-found");
  });

  it("groups connected, then installed, then the rest, keeping the engine's order", () => {
    const groups = groupApps([
      app("zed"),
      app("cursor", { installed: true }),
      app("codex", { connection, installed: true }),
      app("goose", { installed: true }),
    ]);
    expect(groups.map((group) => [group.state, group.apps.map((a) => a.app)])).toEqual([
      ["connected", ["codex"]],
      ["installed", ["cursor", "goose"]],
      ["not-found", ["zed"]],
    ]);
    expect(groupApps([app("zed")]).map((group) => group.title)).toEqual(["Not found on this computer"]);
    expect(groupApps([])).toEqual([]);
  });

  it("counts pasted tokens", () => {
    expect(pastedSecretsText(1)).toBe("1 token found in its settings");
    expect(pastedSecretsText(3)).toBe("3 tokens found in its settings");
  });

  it("counts the entries something else changed", () => {
    expect(changedEntriesText(1)).toBe("1 Keybearer entry was changed by something else");
    expect(changedEntriesText(2)).toBe("2 Keybearer entries were changed by something else");
  });

  it("names the vaults in the connection's order", () => {
    const vaults = [
      { id: "vlt_b", display_name: "Backup" },
      { id: "vlt_a", display_name: "Main" },
    ] as Vault[];
    expect(vaultNames(["vlt_a", "vlt_b", "vlt_x"], vaults)).toEqual(["Main", "Backup", "vlt_x"]);
  });
});

describe("choosing vaults", () => {
  it("adds a vault last and removes it again", () => {
    expect(toggleVault(["a"], "b", true)).toEqual(["a", "b"]);
    expect(toggleVault(["a", "b"], "a", false)).toEqual(["b"]);
    expect(toggleVault(["a", "b"], "a", true)).toEqual(["b", "a"]);
  });

  it("moves a vault up, and leaves the first where it is", () => {
    expect(moveVaultUp(["a", "b", "c"], 2)).toEqual(["a", "c", "b"]);
    expect(moveVaultUp(["a", "b"], 0)).toEqual(["a", "b"]);
    expect(moveVaultUp(["a", "b"], 5)).toEqual(["a", "b"]);
  });

  it("plans one entry per server, the first vault winning", () => {
    const credentials = new Map([
      ["vlt_a", [credential("vlt_a", "https://one.example/mcp")]],
      ["vlt_b", [credential("vlt_b", "https://two.example/mcp"), credential("vlt_b", "https://one.example/mcp")]],
    ]);
    expect(plannedServers(["vlt_b", "vlt_a"], credentials)).toEqual([
      { url: "https://two.example/mcp", vaultId: "vlt_b" },
      { url: "https://one.example/mcp", vaultId: "vlt_b" },
    ]);
    expect(plannedServers(["vlt_a", "vlt_b"], credentials)).toEqual([
      { url: "https://one.example/mcp", vaultId: "vlt_a" },
      { url: "https://two.example/mcp", vaultId: "vlt_b" },
    ]);
    expect(plannedServers(["vlt_unknown"], credentials)).toEqual([]);
    expect(plannedServers([], credentials)).toEqual([]);
  });
});

describe("what a change did", () => {
  it("says what was added and when to restart", () => {
    const summary = summarizeChange(change({ restart_needed: true, name: "Claude Desktop" }), "connect");
    expect(summary.headline).toBe("Connected Claude Desktop.");
    expect(summary.added).toBe("Added to ~/.cursor/mcp.json: github.");
    expect(summary.removed).toBeNull();
    expect(summary.noServers).toBeNull();
    expect(summary.restart).toBe("Restart Claude Desktop so it loads the change.");
  });

  it("says which entries were put back", () => {
    const warning =
      'The Keybearer entry "github" in Cursor\'s settings now runs /tmp/x instead of Keybearer. Something changed it.';
    const summary = summarizeChange(
      change({ added: [], restored: [{ name: "github", warning }], restart_needed: true }),
      "restore",
    );
    expect(summary.headline).toBe("Synced Cursor.");
    expect(summary.restored).toBe("Put back in ~/.cursor/mcp.json as Keybearer writes it: github.");
    expect(summary.added).toBeNull();
    expect(summary.restart).toBe("Restart Cursor so it loads the change.");

    const two = summarizeChange(
      change({ added: [], restored: [{ name: "github", warning }, { name: "linear", warning }] }),
      "restore",
    );
    expect(two.restored).toBe("Put back in ~/.cursor/mcp.json as Keybearer writes them: github, linear.");

    const already = summarizeChange(change({ added: [] }), "restore");
    expect(already.headline).toBe("Synced Cursor. Its entries in ~/.cursor/mcp.json were already as Keybearer writes them.");
    expect(already.restored).toBeNull();
  });

  it("says what was removed on disconnect", () => {
    const summary = summarizeChange(
      change({ connection: null, entries: [], added: [], removed: ["github", "jira"] }),
      "disconnect",
    );
    expect(summary.headline).toBe("Disconnected Cursor.");
    expect(summary.removed).toBe("Removed from ~/.cursor/mcp.json: github, jira.");
    expect(summary.added).toBeNull();
    expect(summary.noServers).toBeNull();
    expect(summary.restart).toBeNull();
  });

  it("explains a connection whose vaults have no servers yet", () => {
    const summary = summarizeChange(change({ entries: [], added: [] }), "connect");
    expect(summary.noServers).toContain("no servers yet");
    expect(summary.added).toBeNull();
  });

  it("says when nothing in the file changed", () => {
    expect(summarizeChange(change({ added: [] }), "change").headline).toBe(
      "Changed Cursor. Its entries in ~/.cursor/mcp.json stay as they were.",
    );
    expect(
      summarizeChange(change({ connection: null, entries: [], added: [] }), "disconnect").headline,
    ).toBe("Disconnected Cursor. Keybearer had no entries in ~/.cursor/mcp.json.");
  });
});

describe("import", () => {
  const vault = (id: string, environment: string): Vault => ({
    id,
    display_name: `Vault ${id}`,
    environment,
    created_at: "2026-11-26T09:00:00Z",
    updated_at: "2026-11-26T09:00:00Z",
    credential_count: 0,
    last_used_at: null,
    team: null,
  });
  const all = [vault("vlt_x", "staging"), vault("vlt_a", "development"), vault("vlt_b", "development")];

  it("offers the connected environment's vaults, or any vault", () => {
    const connected = app("cursor", { connection });
    expect(importVaultChoices(connected, all).map((v) => v.id)).toEqual(["vlt_a", "vlt_b"]);
    expect(importVaultChoices(app("zed"), all).map((v) => v.id)).toEqual(["vlt_x", "vlt_a", "vlt_b"]);
  });

  it("preselects the connection's first vault, else one of the active environment", () => {
    const connected = app("cursor", { connection });
    expect(defaultImportVault(connected, importVaultChoices(connected, all), "staging")).toBe("vlt_a");
    expect(defaultImportVault(app("zed"), all, "development")).toBe("vlt_a");
    expect(defaultImportVault(app("zed"), all, "production")).toBe("vlt_x");
    expect(defaultImportVault(app("zed"), [], "production")).toBeNull();
  });

  const found = (server: string, importable: boolean): PastedSecret => ({
    server,
    url: `https://${server}.example/mcp`,
    location: importable ? "Authorization header" : "URL query (?api_key=)",
    importable,
    note: importable ? null : "not yet importable",
  });

  it("lists the servers whose tokens move, each once", () => {
    expect(importableServers([found("linear", true), found("linear", true), found("q", false), found("gh", true)])).toEqual([
      "linear",
      "gh",
    ]);
  });

  it("says what an import and its undo did", () => {
    const outcome: ImportOutcome = {
      imported: [{ server: "linear", url: "https://linear.example/mcp", credential_id: "crd_1" }],
      left: [found("q", false)],
      copies: [],
      deleted_copies: [],
      change: change({ name: "Claude Code", config_path: "~/.claude.json", restart_needed: true }),
    };
    const summary = summarizeImport(outcome, "Agent tools", false);
    expect(summary.copies).toEqual([]);
    expect(summary.deletable).toBe(0);
    expect(summary.headline).toBe("Moved 1 token from Claude Code's settings into Agent tools.");
    expect(summary.moved).toBe("linear now starts Keybearer's bridge; ~/.claude.json holds no copy of its token.");
    expect(summary.left).toEqual(["Left in the file: q (URL query (?api_key=)): not yet importable."]);
    expect(summary.restart).toBe("Restart Claude Code so it loads the change.");
    // The engine counts replaced entries as no change; the app still has to reload them.
    const replaced = { ...outcome, change: { ...outcome.change, restart_needed: false } };
    expect(summarizeImport(replaced, "Agent tools", false).restart).toBe("Restart Claude Code so it loads the change.");
    expect(summarizeImport(replaced, "Agent tools", true).restart).toBeNull();
    const undone = summarizeUndo(change({ name: "Claude Code", config_path: "~/.claude.json", restart_needed: false }));
    expect(undone.headline).toBe("Put ~/.claude.json back as it was before the import.");
    expect(undone.undo).toMatch(/tokens are in that file again/);
    expect(undone.restart).toBeNull();
  });

  const backup: TokenCopy = {
    kind: "backup",
    path: "~/.claude.json~",
    count: 1,
    servers: ["linear"],
    deletable: true,
    message: "A copy of this token is still in ~/.claude.json~ (a backup of the settings file). Delete it?",
  };
  const link: TokenCopy = {
    kind: "hard_link",
    path: null,
    count: 2,
    servers: ["linear"],
    deletable: false,
    message: "A copy of this token is still in 2 other names for ~/.claude.json …",
  };
  const withCopies: ImportOutcome = {
    imported: [{ server: "linear", url: "https://linear.example/mcp", credential_id: "crd_1" }],
    left: [],
    copies: [backup, link],
    deleted_copies: [],
    change: change({ name: "Claude Code", config_path: "~/.claude.json", restart_needed: true }),
  };

  it("never says moved while a copy of a token remains", () => {
    const summary = summarizeImport(withCopies, "Agent tools", false);
    expect(summary.headline).toBe(
      "Stored 1 token from Claude Code's settings in Agent tools; a copy remains in ~/.claude.json~, 2 hard links of the settings file.",
    );
    expect(summary.headline).not.toMatch(/Moved/);
    expect(summary.copies.map((copy) => copy.message)).toEqual([backup.message, link.message]);
    expect(summary.deletable).toBe(1);
    const inFile: TokenCopy = { ...backup, kind: "settings_file", path: "~/.claude.json", deletable: false };
    const itself = summarizeImport({ ...withCopies, copies: [inFile] }, "Agent tools", false);
    expect(itself.headline).toMatch(/a copy remains in ~\/\.claude\.json itself\.$/);
    expect(itself.moved).toBe("linear now starts Keybearer's bridge.");
  });

  it("keeps what could not be deleted after the copies were deleted", () => {
    const cleaned = afterCleanup(withCopies, { deleted: ["~/.claude.json~"], copies: [] });
    expect(cleaned.copies).toEqual([link]);
    const summary = summarizeImport(cleaned, "Agent tools", false);
    expect(summary.deleted).toEqual(["Deleted ~/.claude.json~ (it held a copy of an imported token)."]);
    expect(summary.deletable).toBe(0);
    expect(summary.headline).toMatch(/^Stored 1 token .* a copy remains in 2 hard links of the settings file\.$/);
    const all = afterCleanup({ ...withCopies, copies: [backup] }, { deleted: ["~/.claude.json~"], copies: [] });
    expect(summarizeImport(all, "Agent tools", false).headline).toBe(
      "Moved 1 token from Claude Code's settings into Agent tools.",
    );
  });
});
