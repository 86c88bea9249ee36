// The only module that talks to the Rust side. One typed function per command;
// every function rejects with an IpcError (see errors.ts), never with anything else.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { Command } from "./bindings/Command";
import { notInAppError, toIpcError } from "./errors";
import { inputValues } from "./secretInput";
import type {
  AppChange,
  AppStatus,
  AppSync,
  ApprovalClosed,
  AskedServer,
  BackupContents,
  BackupMade,
  CatalogEntry,
  ConnectionTest,
  CopiesCleanup,
  Credential,
  Environment,
  Event,
  ImportOutcome,
  LocalMovePlan,
  MovedHere,
  PastedSecret,
  PendingApproval,
  PresetAvailability,
  Protocol,
  RecoveryKeyReveal,
  Resolution,
  RestoreDone,
  SealKind,
  SecretInput,
  ServerActivity,
  ServerPage,
  Session,
  SessionEnded,
  SessionOutput,
  SignedIn,
  StartSession,
  Status,
  TeamChange,
  TeamMovePlan,
  TeamServerRecord,
  TeamServerView,
  UrlCheck,
  Vault,
  VaultView,
} from "./types";

type Args = Record<string, unknown>;

function connected(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** True inside the app's window (or the preview), false in a plain browser tab. */
export const inApp = connected;

/** `secrets` are the values in `args` that must never appear in an error shown to the user. */
async function call<T>(command: Command, args?: Args, secrets: readonly string[] = []): Promise<T> {
  if (!connected()) throw notInAppError();
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toIpcError(raw, secrets);
  }
}

// ----- setup, unlock, recovery -------------------------------------------

export const appStatus = () => call<Status>("app_status");

export const initialize = (passphrase: string | null) =>
  call<RecoveryKeyReveal>("initialize", { passphrase }, passphrase ? [passphrase] : []);

export const unlock = () => call<Status>("unlock");

export const unlockWithPassphrase = (passphrase: string) =>
  call<Status>("unlock_with_passphrase", { passphrase }, [passphrase]);

export const recover = (recoveryKey: string, newPassphrase: string | null) =>
  call<Status>(
    "recover",
    { recoveryKey, newPassphrase },
    newPassphrase ? [recoveryKey, newPassphrase] : [recoveryKey],
  );

/** Shows a new recovery key; nothing changes until `confirmRecoveryKey`. */
export const regenerateRecoveryKey = () => call<RecoveryKeyReveal>("regenerate_recovery_key");

/** Stores the key just shown (setup, or a new recovery key) once the user saved it. */
export const confirmRecoveryKey = () => call<Status>("confirm_recovery_key");

// ----- backups ---------------------------------------------------------------

/** Where Settings → Back up offers to write the file (null: no home folder). */
export const suggestedBackupFile = () => call<string | null>("suggested_backup_file");

/** Whether a file of that name exists (asked before any secret is sent). */
export const backupFileExists = (path: string) => call<boolean>("backup_file_exists", { path });

/** Writes a backup sealed with the recovery key typed, or a new passphrase; both masked in any error. */
export const createBackup = (path: string, recoveryKey: string | null, passphrase: string | null, replace: boolean) =>
  call<BackupMade>("create_backup", { path, recoveryKey, passphrase, replace }, [recoveryKey, passphrase].filter((v): v is string => !!v));

/** Reads a backup file: what opens it. */
export const readBackup = (path: string) => call<SealKind>("read_backup", { path });

/** Opens a backup with the recovery key or passphrase typed (masked in any error); kept in the app for the restore. */
export const openBackup = (path: string, secret: string) =>
  call<BackupContents>("open_backup", { path, secret }, [secret]);

/** This computer's key for the restore: its recovery key, shown once; nothing is stored until `confirmRestore`. */
export const planRestore = () => call<RecoveryKeyReveal>("plan_restore");

/** Stores this computer's key and the backup's data, in one go. */
export const confirmRestore = () => call<RestoreDone>("confirm_restore");

/** Forgets an opened backup. */
export const cancelRestore = () => call<null>("cancel_restore");

// ----- environments --------------------------------------------------------

export const listEnvironments = () => call<Environment[]>("list_environments");

export const createEnvironment = (name: string, colour: string) =>
  call<Environment>("create_environment", { name, colour });

export const setActiveEnvironment = (name: string) =>
  call<Status>("set_active_environment", { name });

// ----- vaults ----------------------------------------------------------------

export const listVaults = (environment: string | null) =>
  call<Vault[]>("list_vaults", { environment });

export const searchVaults = (text: string, environment: string | null) =>
  call<Vault[]>("search_vaults", { text, environment });

/** One vault for its page; a team vault's with what the sign-in may do there (one request to its server). */
export const getVault = (id: string) => call<VaultView>("get_vault", { id });

/** With `teamServer`, the vault lives on that team server (its folder found there, or made). */
export const createVault = (
  displayName: string,
  environment: string,
  teamServer: string | null = null,
  folder: string | null = null,
) => call<Vault>("create_vault", { displayName, environment, teamServer, folder });

export const renameVault = (id: string, displayName: string) =>
  call<Vault>("rename_vault", { id, displayName });

export const deleteVault = (id: string) => call<Vault>("delete_vault", { id });

// ----- credentials -----------------------------------------------------------

export const listCredentials = (vaultId: string) =>
  call<Credential[]>("list_credentials", { vaultId });

/** The secret's values are masked in any error message. */
export const addCredential = (vaultId: string, mcpServerUrl: string, protocol: Protocol | null, secret: SecretInput) =>
  call<Credential>("add_credential", { vaultId, mcpServerUrl, protocol, secret }, inputValues(secret));

/** Any kind may replace any kind. Returns the new credential; the old id no longer exists afterwards. */
export const replaceToken = (id: string, secret: SecretInput) =>
  call<Credential>("replace_token", { id, secret }, inputValues(secret));

/**
 * OAuth sign-in: starts it and opens the system browser; answers the sign-in's
 * id. `clientId` (and `clientSecret`, masked in any error) for an OAuth app the
 * user made at a service without dynamic registration. With `vaultId` (a new credential) an address that vault already has is
 * refused before anything starts. `serverId`: the known server picked, whose
 * entry may pin the service's endpoints (Rust looks them up; no address is
 * sent from here). Then `finishOAuthSignIn` (a new credential, and whether it
 * can be renewed) waits for the browser, up to 5 minutes; no token ever
 * comes back.
 */
export const startOAuthSignIn = (
  mcpServerUrl: string,
  clientId: string | null,
  scope: string | null,
  vaultId: string | null,
  clientSecret: string | null = null,
  serverId: string | null = null,
) =>
  call<string>(
    "start_oauth_sign_in",
    { mcpServerUrl, clientId, clientSecret, scope, vaultId, serverId },
    clientSecret ? [clientSecret] : [],
  );

export const finishOAuthSignIn = (signInId: string, vaultId: string, protocol: Protocol | null) =>
  call<SignedIn>("finish_oauth_sign_in", { signInId, vaultId, protocol });

/**
 * "Sign in again" for credential `id`: only its id is sent; its address, the
 * access its server asked for and, for an OAuth app the user made, that app's
 * client (sealed in the vault) come from Rust. Then `finishOAuthSignInAgain`.
 */
export const startOAuthSignInAgain = (id: string) => call<string>("start_oauth_sign_in_again", { id });

/** Waits for the browser and puts the new sign-in in place of credential `id`; says whether it can be renewed. */
export const finishOAuthSignInAgain = (signInId: string, id: string) =>
  call<SignedIn>("finish_oauth_sign_in_again", { signInId, id });

/** The waiting `finish…` call then fails with "Sign-in was cancelled." */
export const cancelOAuthSignIn = (signInId: string) => call<void>("cancel_oauth_sign_in", { signInId });

export const deleteCredential = (id: string) => call<Credential>("delete_credential", { id });

export const checkServerUrl = (url: string) => call<UrlCheck>("check_server_url", { url });

/** Slow: the engine may wait up to about 10 seconds for the server. */
export const testConnection = (mcpServerUrl: string, protocol: Protocol, secret: SecretInput) =>
  call<ConnectionTest>("test_connection", { mcpServerUrl, protocol, secret }, inputValues(secret));

export const testSavedCredential = (id: string) =>
  call<ConnectionTest>("test_saved_credential", { id });

// ----- team servers ------------------------------------------------------------

/** Asks each team server who is signed in (slow: one request each). */
export const listTeamServers = () => call<TeamServerView[]>("list_team_servers");

/** The SHA-256 fingerprints of a pasted CA certificate (PEM), to compare before trusting it. */
export const teamCaFingerprints = (pem: string) => call<string[]>("team_ca_fingerprints", { pem });

/** `trustedFingerprints`: those shown for `caPem`; a CA that differs adds nothing. */
export const addTeamServer = (
  address: string,
  name: string | null,
  mount: string | null,
  pathTemplate: string | null,
  caPem: string | null,
  trustedFingerprints: string[],
) =>
  call<TeamServerRecord>("add_team_server", { address, name, mount, pathTemplate, caPem, trustedFingerprints });

/** With `user`, `secret` is the password; without, a token. Masked in any error. Answers who signed in. */
export const signInTeamServer = (server: string, user: string | null, secret: string) =>
  call<string>("sign_in_team_server", { server, user, secret }, [secret]);

/**
 * Your organisation's sign-in (the server's OIDC): opens the browser and waits (minutes at most) for
 * it; answers who signed in. `role`: the method's default without one; `port`: 8250 without one.
 */
export const signInTeamServerOidc = (server: string, role: string | null, port: number | null) =>
  call<string>("sign_in_team_server_oidc", { server, role, port });

/** The waiting `signInTeamServerOidc` then fails with "Sign-in was cancelled." */
export const cancelTeamSignIn = (server: string) => call<void>("cancel_team_sign_in", { server });

/** True when the server revoked the sign-in; false when it was only removed here. */
export const signOutTeamServer = (server: string) => call<boolean>("sign_out_team_server", { server });

/** Answers the vaults removed from this computer (they stay on the server). */
export const removeTeamServer = (server: string) => call<Vault[]>("remove_team_server", { server });

/** Who changed which credential of a team vault, newest first (asked of its server). */
export const teamVaultHistory = (vault: string) => call<TeamChange[]>("team_vault_history", { vault });

/** Checks a move of a local vault to a team server: what the confirmation says (who will be able to read it). */
export const planMoveToTeam = (vault: string, server: string) =>
  call<TeamMovePlan>("plan_move_to_team", { vault, server });

/** Slow: copies every credential, reads each back, then removes them here. Answers the team vault. */
export const moveToTeam = (vault: string, server: string) => call<Vault>("move_to_team", { vault, server });

/** Checks a move of a team vault to this computer: whether the team copy will be deleted or kept. */
export const planMoveToLocal = (vault: string) => call<LocalMovePlan>("plan_move_to_local", { vault });

/** Slow. `removeTeamCopy`: what the user was told; a plan that now says otherwise moves nothing. */
export const moveToLocal = (vault: string, removeTeamCopy: boolean) =>
  call<MovedHere>("move_to_local", { vault, removeTeamCopy });

// ----- known servers -----------------------------------------------------------

/** The known servers (built in, then the MCP Registry's) matching `search`; all without one. */
export const catalogList = (search: string | null = null) => call<CatalogEntry[]>("catalog_list", { search });

/**
 * Asks the server how it signs in, without a credential: OAuth, the headers its
 * entry (`serverId`) declares, or a token. Slow: it waits for the server.
 */
export const discoverSignIn = (mcpServerUrl: string, serverId: string | null) =>
  call<AskedServer>("discover_sign_in", { mcpServerUrl, serverId });

/** Opens a known server's own page (where a token or an OAuth app is made, its docs) in the browser. */
export const openServerPage = (serverId: string, page: ServerPage) =>
  call<void>("open_server_page", { serverId, page });

// ----- activity --------------------------------------------------------------

export const listEvents = (vaultId: string | null, limit: number) =>
  call<Event[]>("list_events", { vaultId, limit });

// ----- sessions --------------------------------------------------------------

/** False where sessions cannot run yet (Windows): the Sessions screen says so. */
export const sessionsAvailable = () => call<boolean>("sessions_available");

/** True where sessions can run in the sandbox (Linux, macOS). */
export const sandboxAvailable = () => call<boolean>("sandbox_available");

export const detectAgents = () => call<PresetAvailability[]>("detect_agents");

export const homeFolder = () => call<string | null>("home_folder");

export const startSession = (request: StartSession) => call<Session>("start_session", { request });

/** Sessions started since the app opened, newest first. */
export const listSessions = () => call<Session[]>("list_sessions");

export const stopSession = (id: string) => call<Session>("stop_session", { id });

/** Which credential each server would use with these vaults, in this order. */
export const sessionCoverage = (vaultIds: string[]) => call<Resolution[]>("session_coverage", { vaultIds });

/** The session's servers with the requests sent through the proxy and the last status. */
export const sessionServers = (id: string) => call<ServerActivity[]>("session_servers", { id });

/** Keyboard input for the agent's terminal. */
export const sessionInput = (id: string, data: string) => call<void>("session_input", { id, data });

export const resizeSession = (id: string, rows: number, cols: number) =>
  call<void>("resize_session", { id, rows, cols });

// ----- approvals (direct mode from the command line) -------------------------

/** The requests waiting for the person's answer, oldest first. */
export const pendingApprovals = () => call<PendingApproval[]>("pending_approvals");

/** Fails with `not_found` when the request is no longer waiting (its asker gave up). */
export const answerApproval = (id: string, approve: boolean) =>
  call<void>("answer_approval", { id, approve });

// ----- apps ------------------------------------------------------------------

/** Every app Keybearer knows: installed or not, connected or not. */
export const listApps = () => call<AppStatus[]>("list_apps");

/** Connects `app` to these vaults (one environment; the first wins) and writes its entries. */
export const connectApp = (app: string, vaults: string[]) => call<AppChange>("connect_app", { app, vaults });

export const changeApp = (app: string, vaults: string[]) => call<AppChange>("change_app", { app, vaults });

/** Removes Keybearer's entries from the app's settings, then the connection. */
export const disconnectApp = (app: string) => call<AppChange>("disconnect_app", { app });

/** Brings every connected app's entries in line with its vaults. */
export const syncApps = () => call<AppSync>("sync_apps");

/** Brings one connected app's entries in line with its vaults, putting back the ones something else changed. */
export const syncApp = (app: string) => call<AppChange>("sync_app", { app });

/** The tokens pasted into the app's settings: where, never what. */
export const pastedSecrets = (app: string) => call<PastedSecret[]>("pasted_secrets", { app });

/** Moves the app's pasted tokens into `vault`; the file as it was is kept sealed for `undoAppImport`. */
export const importApp = (app: string, vault: string) => call<ImportOutcome>("import_app", { app, vault });

/** Deletes the backups beside the app's settings file that hold a token of its last import (ask first). */
export const deleteAppTokenCopies = (app: string) => call<CopiesCleanup>("delete_app_token_copies", { app });

/** Puts the app's settings file back as it was before the import; the credentials stay in the vault. */
export const undoAppImport = (app: string) => call<AppChange>("undo_app_import", { app });

async function subscribe<T>(event: string, handler: (payload: T) => void): Promise<UnlistenFn> {
  if (!connected()) throw notInAppError();
  return listen<T>(event, (message) => handler(message.payload));
}

/** The agents' terminal output, as it arrives. */
export const onSessionOutput = (handler: (output: SessionOutput) => void) =>
  subscribe<SessionOutput>("session-output", handler);

export const onSessionEnded = (handler: (ended: SessionEnded) => void) =>
  subscribe<SessionEnded>("session-ended", handler);

/** A command on this computer asks to start a session in direct mode. */
export const onApprovalRequested = (handler: (pending: PendingApproval) => void) =>
  subscribe<PendingApproval>("approval-requested", handler);

/** A request was answered, or its asker gave up (timed out, was stopped). */
export const onApprovalClosed = (handler: (closed: ApprovalClosed) => void) =>
  subscribe<ApprovalClosed>("approval-closed", handler);
