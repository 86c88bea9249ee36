// App connections for the Apps screen: the order apps are listed in, the
// servers a choice of vaults gives an app, and what a change did, in words.
// Pure functions; the engine decides (and re-checks) everything itself.
import { plural } from "./format";
import type {
  AppChange,
  AppStatus,
  CopiesCleanup,
  Credential,
  ImportOutcome,
  PastedSecret,
  TokenCopy,
  Vault,
} from "./types";

export type AppState = "connected" | "installed" | "not-found";

export function appState(app: AppStatus): AppState {
  if (app.connection) return "connected";
  return app.installed ? "installed" : "not-found";
}

export const APP_STATE_LABELS: Record<AppState, string> = {
  connected: "Connected",
  installed: "Installed",
  "not-found": "Not found on this computer",
};

export type AppGroup = { state: AppState; title: string; apps: AppStatus[] };

const GROUP_TITLES: Record<AppState, string> = {
  connected: "Connected",
  installed: "On this computer",
  "not-found": "Not found on this computer",
};

/** Connected apps first, then installed ones, then the rest; the engine's order within each. Empty groups are left out. */
export function groupApps(apps: readonly AppStatus[]): AppGroup[] {
  const order: AppState[] = ["connected", "installed", "not-found"];
  return order
    .map((state) => ({ state, title: GROUP_TITLES[state], apps: apps.filter((app) => appState(app) === state) }))
    .filter((group) => group.apps.length > 0);
}

/** Adds a vault at the end of the order (it wins least), or takes it out. */
export function toggleVault(order: readonly string[], id: string, on: boolean): string[] {
  const others = order.filter((vaultId) => vaultId !== id);
  return on ? [...others, id] : others;
}

/** Moves the vault at `index` one place up (towards winning). */
export function moveVaultUp(order: readonly string[], index: number): string[] {
  if (index <= 0 || index >= order.length) return [...order];
  const next = [...order];
  [next[index - 1], next[index]] = [next[index], next[index - 1]];
  return next;
}

export type PlannedServer = { url: string; vaultId: string };

/**
 * The servers an app connected to these vaults (in this order) gets one entry
 * each for, and the vault whose token it uses: the first vault with a
 * credential for the address wins, as in the engine.
 */
export function plannedServers(
  order: readonly string[],
  credentialsByVault: ReadonlyMap<string, readonly Credential[]>,
): PlannedServer[] {
  const servers: PlannedServer[] = [];
  for (const vaultId of order) {
    for (const credential of credentialsByVault.get(vaultId) ?? []) {
      if (!servers.some((server) => server.url === credential.mcp_server_url)) {
        servers.push({ url: credential.mcp_server_url, vaultId });
      }
    }
  }
  return servers;
}

/** Vault names in the connection's order; a vault this window does not know shows its id. */
export function vaultNames(ids: readonly string[], vaults: readonly Vault[]): string[] {
  return ids.map((id) => vaults.find((vault) => vault.id === id)?.display_name ?? id);
}

/** "1 token found in its settings", "3 tokens found in its settings". */
export function pastedSecretsText(count: number): string {
  return `${plural(count, "token")} found in its settings`;
}

/** "1 Keybearer entry was changed by something else", "2 Keybearer entries were …". */
export function changedEntriesText(count: number): string {
  return `${plural(count, "Keybearer entry", "Keybearer entries")} ${count === 1 ? "was" : "were"} changed by something else`;
}

/** "restore": the card's "Put it back" (a sync of that one app). */
export type ChangeAction = "connect" | "change" | "disconnect" | "restore";

export type ChangeSummary = {
  headline: string;
  added: string | null;
  removed: string | null;
  /** Keybearer's entries that something else had changed, put back. */
  restored: string | null;
  /** Connected to vaults without servers: nothing was written yet. */
  noServers: string | null;
  restart: string | null;
};

const VERBS: Record<ChangeAction, string> = {
  connect: "Connected",
  change: "Changed",
  disconnect: "Disconnected",
  restore: "Synced",
};

/** What connecting, changing or disconnecting did to the app's settings file. */
export function summarizeChange(change: AppChange, action: ChangeAction): ChangeSummary {
  const nothing = change.added.length === 0 && change.removed.length === 0;
  const restoredNames = change.restored.map((entry) => entry.name);
  let headline = `${VERBS[action]} ${change.name}.`;
  if (nothing && action === "change") headline += ` Its entries in ${change.config_path} stay as they were.`;
  if (nothing && action === "disconnect") headline += ` Keybearer had no entries in ${change.config_path}.`;
  if (nothing && restoredNames.length === 0 && action === "restore") {
    headline += ` Its entries in ${change.config_path} were already as Keybearer writes them.`;
  }
  return {
    headline,
    added: change.added.length > 0 ? `Added to ${change.config_path}: ${change.added.join(", ")}.` : null,
    removed: change.removed.length > 0 ? `Removed from ${change.config_path}: ${change.removed.join(", ")}.` : null,
    restored:
      restoredNames.length > 0
        ? `Put back in ${change.config_path} as Keybearer writes ${restoredNames.length === 1 ? "it" : "them"}: ${restoredNames.join(", ")}.`
        : null,
    noServers:
      change.connection !== null && change.entries.length === 0
        ? "These vaults have no servers yet. Add a credential to one of them and its entry is written then."
        : null,
    restart: change.restart_needed ? `Restart ${change.name} so it loads the change.` : null,
  };
}

// ----- import: moving pasted tokens into a vault --------------------------------

/** The vaults an app's tokens may go to: its connection's environment when connected, else any. */
export function importVaultChoices(app: AppStatus, vaults: readonly Vault[]): Vault[] {
  const environment = app.connection?.environment;
  return vaults.filter((vault) => environment === undefined || vault.environment === environment);
}

/** The vault preselected: the connection's first vault, else the first of the active environment, else the first. */
export function defaultImportVault(app: AppStatus, choices: readonly Vault[], active: string): string | null {
  const first = app.connection?.vault_ids.find((id) => choices.some((vault) => vault.id === id));
  return first ?? choices.find((vault) => vault.environment === active)?.id ?? choices[0]?.id ?? null;
}

/** The entries whose tokens will move (each once, in the file's order). */
export function importableServers(found: readonly PastedSecret[]): string[] {
  return [...new Set(found.filter((secret) => secret.importable).map((secret) => secret.server))];
}

export type ImportSummary = {
  headline: string;
  /** The entries now served by the bridge. */
  moved: string | null;
  /** Copies of the imported tokens still on disk, each in the engine's words. */
  copies: TokenCopy[];
  /** How many of those Keybearer can delete (backups beside the file). */
  deletable: number;
  /** The backups deleted, one line each. */
  deleted: string[];
  /** What stays in the file, one line each. */
  left: string[];
  undo: string;
  restart: string | null;
};

/** "~/.cursor/mcp.json~", "a hard link of the settings file", "~/.cursor/mcp.json itself". */
function copyPlace(copy: TokenCopy): string {
  if (copy.kind === "hard_link") {
    return copy.count === 1 ? "a hard link of the settings file" : `${copy.count} hard links of the settings file`;
  }
  if (copy.kind === "settings_file") return `${copy.path ?? "the settings file"} itself`;
  return copy.path ?? "another file";
}

/**
 * What an import did, in words. `vaultName`: where the tokens went. An app
 * that does not reload its settings by itself needs a restart whenever an
 * entry changed, even when the engine's `change` only counts added entries.
 * While a copy of a token remains on disk the tokens are "stored", never
 * "moved".
 */
export function summarizeImport(outcome: ImportOutcome, vaultName: string, reloadsByItself: boolean): ImportSummary {
  const { change, copies } = outcome;
  const servers = outcome.imported.map((entry) => entry.server);
  const one = servers.length === 1;
  const inFile = copies.some((copy) => copy.kind === "settings_file");
  const headline =
    copies.length === 0
      ? `Moved ${plural(servers.length, "token")} from ${change.name}'s settings into ${vaultName}.`
      : `Stored ${plural(servers.length, "token")} from ${change.name}'s settings in ${vaultName}; a copy remains in ${copies.map(copyPlace).join(", ")}.`;
  let moved: string | null = null;
  if (servers.length > 0) {
    moved = `${servers.join(", ")} now ${one ? "starts" : "start"} Keybearer's bridge`;
    moved += inFile ? "." : `; ${change.config_path} holds no copy of ${one ? "its token" : "their tokens"}.`;
  }
  return {
    headline,
    moved,
    copies,
    deletable: copies.filter((copy) => copy.deletable).length,
    deleted: outcome.deleted_copies.map((path) => `Deleted ${path} (it held a copy of an imported token).`),
    left: outcome.left.map(
      (secret) => `Left in the file: ${secret.server} (${secret.location}): ${secret.note ?? "not imported"}.`,
    ),
    undo: `The file as it was is kept encrypted: Undo import on ${change.name}'s card puts it back.`,
    restart:
      change.restart_needed || (servers.length > 0 && !reloadsByItself)
        ? `Restart ${change.name} so it loads the change.`
        : null,
  };
}

/** The import's outcome once its backups were deleted: those that could not be stay listed. */
export function afterCleanup(outcome: ImportOutcome, cleanup: CopiesCleanup): ImportOutcome {
  return {
    ...outcome,
    copies: [...outcome.copies.filter((copy) => copy.kind !== "backup"), ...cleanup.copies],
    deleted_copies: [...outcome.deleted_copies, ...cleanup.deleted],
  };
}

/** What undoing an import did, in words. */
export function summarizeUndo(change: AppChange): ImportSummary {
  return {
    headline: `Put ${change.config_path} back as it was before the import.`,
    moved: null,
    copies: [],
    deletable: 0,
    deleted: [],
    left: [],
    undo: "The tokens are in that file again. The credentials made by the import stay in the vault; delete them on the Vaults page if you no longer want them.",
    restart: change.restart_needed ? `Restart ${change.name} so it loads the change.` : null,
  };
}
