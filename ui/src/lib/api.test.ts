// The IPC contract: command names and camelCase argument keys, as Tauri 2 expects.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke }));

const api = await import("./api");
type SecretInput = import("./types").SecretInput;

beforeEach(() => {
  invoke.mockReset();
  invoke.mockResolvedValue("result");
  vi.stubGlobal("window", { __TAURI_INTERNALS__: {} });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("commands and arguments", () => {
  it.each([
    ["appStatus", [], "app_status", undefined],
    ["initialize", [null], "initialize", { passphrase: null }],
    ["initialize", ["long passphrase"], "initialize", { passphrase: "long passphrase" }],
    ["unlock", [], "unlock", undefined],
    ["unlockWithPassphrase", ["pw"], "unlock_with_passphrase", { passphrase: "pw" }],
    ["recover", ["KEY", null], "recover", { recoveryKey: "KEY", newPassphrase: null }],
    ["regenerateRecoveryKey", [], "regenerate_recovery_key", undefined],
    ["suggestedBackupFile", [], "suggested_backup_file", undefined],
    ["backupFileExists", ["/b"], "backup_file_exists", { path: "/b" }],
    ["createBackup", ["/b", "KEY", null, false], "create_backup", { path: "/b", recoveryKey: "KEY", passphrase: null, replace: false }],
    ["readBackup", ["/b"], "read_backup", { path: "/b" }],
    ["openBackup", ["/b", "KEY"], "open_backup", { path: "/b", secret: "KEY" }],
    ["planRestore", [], "plan_restore", undefined],
    ["confirmRestore", [], "confirm_restore", undefined],
    ["cancelRestore", [], "cancel_restore", undefined],
    ["listEnvironments", [], "list_environments", undefined],
    ["createEnvironment", ["qa", "#123456"], "create_environment", { name: "qa", colour: "#123456" }],
    ["setActiveEnvironment", ["qa"], "set_active_environment", { name: "qa" }],
    ["listVaults", [null], "list_vaults", { environment: null }],
    ["listVaults", ["qa"], "list_vaults", { environment: "qa" }],
    ["searchVaults", ["git", "qa"], "search_vaults", { text: "git", environment: "qa" }],
    ["getVault", ["vlt_1"], "get_vault", { id: "vlt_1" }],
    ["createVault", ["GitHub", "qa"], "create_vault", { displayName: "GitHub", environment: "qa", teamServer: null, folder: null }],
    ["createVault", ["GitHub", "qa", "tsv_1", "github"], "create_vault", { displayName: "GitHub", environment: "qa", teamServer: "tsv_1", folder: "github" }],
    ["listTeamServers", [], "list_team_servers", undefined],
    ["teamCaFingerprints", ["PEM"], "team_ca_fingerprints", { pem: "PEM" }],
    ["addTeamServer", ["https://bao.example.com", "acme", null, null, null, []], "add_team_server", { address: "https://bao.example.com", name: "acme", mount: null, pathTemplate: null, caPem: null, trustedFingerprints: [] }],
    ["signInTeamServer", ["tsv_1", "alice", "pw"], "sign_in_team_server", { server: "tsv_1", user: "alice", secret: "pw" }],
    ["signOutTeamServer", ["tsv_1"], "sign_out_team_server", { server: "tsv_1" }],
    ["signInTeamServerOidc", ["tsv_1", "dev", 8250], "sign_in_team_server_oidc", { server: "tsv_1", role: "dev", port: 8250 }],
    ["signInTeamServerOidc", ["tsv_1", null, null], "sign_in_team_server_oidc", { server: "tsv_1", role: null, port: null }],
    ["cancelTeamSignIn", ["tsv_1"], "cancel_team_sign_in", { server: "tsv_1" }],
    ["planMoveToTeam", ["vlt_1", "tsv_1"], "plan_move_to_team", { vault: "vlt_1", server: "tsv_1" }],
    ["moveToTeam", ["vlt_1", "tsv_1"], "move_to_team", { vault: "vlt_1", server: "tsv_1" }],
    ["planMoveToLocal", ["tvl_1"], "plan_move_to_local", { vault: "tvl_1" }],
    ["moveToLocal", ["tvl_1", true], "move_to_local", { vault: "tvl_1", removeTeamCopy: true }],
    ["removeTeamServer", ["tsv_1"], "remove_team_server", { server: "tsv_1" }],
    ["teamVaultHistory", ["tvl_1"], "team_vault_history", { vault: "tvl_1" }],
    ["renameVault", ["vlt_1", "Jira"], "rename_vault", { id: "vlt_1", displayName: "Jira" }],
    ["deleteVault", ["vlt_1"], "delete_vault", { id: "vlt_1" }],
    ["listCredentials", ["vlt_1"], "list_credentials", { vaultId: "vlt_1" }],
    [
      "addCredential",
      ["vlt_1", "https://a.example/mcp", "sse", { kind: "bearer", token: "tok" }],
      "add_credential",
      {
        vaultId: "vlt_1",
        mcpServerUrl: "https://a.example/mcp",
        protocol: "sse",
        secret: { kind: "bearer", token: "tok" },
      },
    ],
    [
      "replaceToken",
      ["crd_1", { kind: "basic", user: "ada@example.com", secret: "s" }],
      "replace_token",
      { id: "crd_1", secret: { kind: "basic", user: "ada@example.com", secret: "s" } },
    ],
    ["deleteCredential", ["crd_1"], "delete_credential", { id: "crd_1" }],
    ["checkServerUrl", ["https://a.example"], "check_server_url", { url: "https://a.example" }],
    [
      "testConnection",
      ["https://a.example/mcp", "streamable_http", { kind: "headers", headers: [{ name: "X-API-Key", value: "k" }] }],
      "test_connection",
      {
        mcpServerUrl: "https://a.example/mcp",
        protocol: "streamable_http",
        secret: { kind: "headers", headers: [{ name: "X-API-Key", value: "k" }] },
      },
    ],
    ["testSavedCredential", ["crd_1"], "test_saved_credential", { id: "crd_1" }],
    ["catalogList", [null], "catalog_list", { search: null }],
    ["catalogList", ["git"], "catalog_list", { search: "git" }],
    [
      "discoverSignIn",
      ["https://a.example/mcp", "com.example/a"],
      "discover_sign_in",
      { mcpServerUrl: "https://a.example/mcp", serverId: "com.example/a" },
    ],
    ["openServerPage", ["github", "token"], "open_server_page", { serverId: "github", page: "token" }],
    [
      "startOAuthSignIn",
      ["https://a.example/mcp", "Ov23li", "repo", "vlt_1", "cs"],
      "start_oauth_sign_in",
      { mcpServerUrl: "https://a.example/mcp", clientId: "Ov23li", clientSecret: "cs", scope: "repo", vaultId: "vlt_1", serverId: null },
    ],
    [
      "startOAuthSignIn",
      ["https://a.example/mcp", "Ov23li", null, "vlt_1", "cs", "github"],
      "start_oauth_sign_in",
      { mcpServerUrl: "https://a.example/mcp", clientId: "Ov23li", clientSecret: "cs", scope: null, vaultId: "vlt_1", serverId: "github" },
    ],
    ["startOAuthSignInAgain", ["crd_1"], "start_oauth_sign_in_again", { id: "crd_1" }],
    ["finishOAuthSignInAgain", ["sign-in-1", "crd_1"], "finish_oauth_sign_in_again", { signInId: "sign-in-1", id: "crd_1" }],
    ["listEvents", [null, 200], "list_events", { vaultId: null, limit: 200 }],
    ["pendingApprovals", [], "pending_approvals", undefined],
    ["answerApproval", ["apr_1", true], "answer_approval", { id: "apr_1", approve: true }],
    ["answerApproval", ["apr_2", false], "answer_approval", { id: "apr_2", approve: false }],
    ["listApps", [], "list_apps", undefined],
    ["connectApp", ["cursor", ["vlt_1", "vlt_2"]], "connect_app", { app: "cursor", vaults: ["vlt_1", "vlt_2"] }],
    ["changeApp", ["cursor", ["vlt_2"]], "change_app", { app: "cursor", vaults: ["vlt_2"] }],
    ["disconnectApp", ["cursor"], "disconnect_app", { app: "cursor" }],
    ["syncApps", [], "sync_apps", undefined],
    ["syncApp", ["cursor"], "sync_app", { app: "cursor" }],
    ["pastedSecrets", ["claude-code"], "pasted_secrets", { app: "claude-code" }],
    ["importApp", ["claude-code", "vlt_1"], "import_app", { app: "claude-code", vault: "vlt_1" }],
    ["undoAppImport", ["claude-code"], "undo_app_import", { app: "claude-code" }],
    ["deleteAppTokenCopies", ["claude-code"], "delete_app_token_copies", { app: "claude-code" }],
  ] as const)("%s(%j) invokes %s", async (name, args, command, expected) => {
    const fn = api[name] as (...a: unknown[]) => Promise<unknown>;
    await expect(fn(...args)).resolves.toBe("result");
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke).toHaveBeenCalledWith(command, expected);
  });
});

describe("errors", () => {
  it("rejects with the engine's IpcError", async () => {
    const engineError = { code: "not_found", message: "No vault.", field: null };
    invoke.mockRejectedValue(engineError);
    await expect(api.getVault("vlt_x")).rejects.toEqual(engineError);
  });

  it("never lets a token through in an error message", async () => {
    const token = "ghp_S3cr3tT0kenValue";
    invoke.mockRejectedValue(`invalid args for command: ${token}`);
    const error = await api
      .addCredential("vlt_1", "https://a.example/mcp", null, { kind: "bearer", token })
      .catch((e) => e);
    expect(JSON.stringify(error)).not.toContain(token);
    const replaced = await api.replaceToken("crd_1", { kind: "bearer", token }).catch((e) => e);
    expect(JSON.stringify(replaced)).not.toContain(token);
    const tested = await api
      .testConnection("https://a.example/mcp", "sse", { kind: "bearer", token })
      .catch((e) => e);
    expect(JSON.stringify(tested)).not.toContain(token);
  });

  it("never lets a team server's password or token through", async () => {
    const password = "bao_P4ssw0rdOfAlice";
    invoke.mockRejectedValue(`invalid args: ${password}`);
    const error = await api.signInTeamServer("tsv_1", "alice", password).catch((e) => e);
    expect(JSON.stringify(error)).not.toContain(password);
  });

  it("never lets a header value or a Basic password through either", async () => {
    const value = "key_V4lu3OfTheHeader";
    const password = "atl_ApiT0kenOfAda";
    invoke.mockRejectedValue(`invalid args: ${value} ${password}`);
    const headers: SecretInput = { kind: "headers", headers: [{ name: "X-API-Key", value }] };
    const basic: SecretInput = { kind: "basic", user: "ada@example.com", secret: password };
    for (const secret of [headers, basic]) {
      const added = await api.addCredential("vlt_1", "https://a.example/mcp", null, secret).catch((e) => e);
      const replaced = await api.replaceToken("crd_1", secret).catch((e) => e);
      const tested = await api.testConnection("https://a.example/mcp", "sse", secret).catch((e) => e);
      for (const error of [added, replaced, tested]) {
        expect(error.message).not.toContain(secret.kind === "headers" ? value : password);
      }
    }
  });

  it("never lets an OAuth app's client secret through", async () => {
    const clientSecret = "gh_cl13ntS3cr3tValue";
    invoke.mockRejectedValue(`invalid args: ${clientSecret}`);
    const error = await api
      .startOAuthSignIn("https://a.example/mcp", "Ov23li", null, "vlt_1", clientSecret)
      .catch((e) => e);
    expect(JSON.stringify(error)).not.toContain(clientSecret);
  });

  it("masks passphrases and recovery keys too", async () => {
    invoke.mockRejectedValue("bad: my long passphrase / ABCD-EFGH-IJKL");
    const init = await api.initialize("my long passphrase").catch((e) => e);
    expect(init.message).not.toContain("my long passphrase");
    const recovered = await api.recover("ABCD-EFGH-IJKL", null).catch((e) => e);
    expect(recovered.message).not.toContain("ABCD-EFGH-IJKL");
  });

  it("explains when the page runs outside the app", async () => {
    vi.stubGlobal("window", {});
    const error = await api.appStatus().catch((e) => e);
    expect(error.code).toBe("not_in_app");
    expect(invoke).not.toHaveBeenCalled();
  });
});
