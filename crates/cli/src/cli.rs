//! Command-line grammar. Secrets (tokens, recovery keys, passphrases) are
//! never arguments: they come from stdin or a hidden prompt, so they cannot
//! show up in `ps`, shell history or process listings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "keybearer",
    version,
    about = "Keeps the tokens your AI agents need for MCP servers encrypted, and out of config files.",
    after_help = "Tokens are always read from standard input or a hidden prompt, never from arguments.\n\
                  Data folder: $KEYBEARER_HOME, or the OS app-data folder (--data-dir overrides both)."
)]
pub struct Cli {
    /// Use this data folder instead of the default.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the larger variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up Keybearer: create the master key and show your recovery key once.
    Init {
        /// Protect the key with a passphrase instead of the OS keychain
        /// (for machines without a keychain).
        #[arg(long)]
        passphrase: bool,
    },
    /// Show whether the keychain is reachable, whether the vault unlocks, and counts.
    Status,
    /// Restore access with your recovery key after the keychain lost the master key.
    Recover {
        /// Protect the restored key with a new passphrase instead of the OS keychain.
        #[arg(long)]
        passphrase: bool,
    },
    /// Make a new recovery key (the old one stops working).
    #[command(name = "recovery-key")]
    RecoveryKey {
        #[command(subcommand)]
        action: RecoveryKeyAction,
    },
    /// Environments (development, staging, production, your own).
    #[command(name = "env")]
    Environment {
        #[command(subcommand)]
        action: EnvironmentAction,
    },
    /// Vaults: named groups of credentials in one environment.
    Vault {
        #[command(subcommand)]
        action: VaultAction,
    },
    /// Team servers (OpenBao or HashiCorp Vault): vaults shared with your
    /// team, or between your own computers. Their credentials are kept on the
    /// server, where its administrators can read them.
    Team {
        #[command(subcommand)]
        action: TeamAction,
    },
    /// Credentials: a bearer token bound to one MCP server URL.
    Credential {
        #[command(subcommand)]
        action: CredentialAction,
    },
    /// Agent sessions: run an agent with the credentials of your vaults.
    #[cfg(any(unix, windows))]
    Session {
        #[command(subcommand)]
        action: SessionAction,
    },
    /// Known remote MCP servers (GitHub, Notion, Linear…, and those the MCP
    /// Registry lists): add one by its ID with `credential add --server ID`,
    /// no address needed.
    Catalog {
        /// Only servers whose name, ID or purpose holds this.
        search: Option<String>,
        /// Read the MCP Registry's list now (otherwise it is updated at most
        /// once a day), and say what came and what was skipped.
        #[arg(long, conflicts_with = "search")]
        refresh: bool,
    },
    /// Move to a new computer: every vault, credential and app connection
    /// in one file sealed with your recovery key (or a passphrase), and
    /// restored from it.
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Keybearer's settings.
    Settings {
        #[command(subcommand)]
        action: SettingsAction,
    },
    /// The audit trail, newest first.
    Events {
        /// Only events of this vault (id or name).
        #[arg(long)]
        vault: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// AI apps Keybearer does not start (Claude Desktop, Cursor, VS Code, …):
    /// connect them to vaults, so their MCP servers get tokens through Keybearer.
    Apps {
        #[command(subcommand)]
        action: AppsAction,
    },
    /// The stdio MCP server an app's config starts to reach one remote server
    /// through Keybearer (written there by `keybearer apps connect`).
    #[command(group(clap::ArgGroup::new("credential").required(true).args(["connection", "headers_file"])))]
    Bridge {
        /// The app connection (con_…) whose vaults hold the credential.
        #[arg(long, value_name = "ID")]
        connection: Option<String>,
        /// For sessions only: a 0600 file of `Name: value` lines, the headers
        /// to send (the session's secret for its proxy). Read once, at start.
        #[arg(long, value_name = "FILE", hide = true)]
        headers_file: Option<PathBuf>,
        /// The remote MCP server's URL.
        #[arg(long, value_name = "URL")]
        server: String,
        /// streamable_http or sse (default: the credential's, or the URL's usual shape).
        #[arg(long, value_name = "PROTOCOL")]
        protocol: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Write every vault, credential (tokens, headers, OAuth sign-ins with
    /// their refresh tokens and client secrets), environment and app
    /// connection to FILE, sealed with your recovery key (asked for) or a
    /// passphrase. The file holds no token in the clear.
    Create {
        /// The backup file to write (0600; an existing one is kept unless --force).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Seal it with a new passphrase (typed twice) instead of your recovery key.
        #[arg(long)]
        passphrase: bool,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Restore a backup here. In a data folder not set up yet (a new
    /// computer) Keybearer is set up with a new key and a new recovery key,
    /// shown once, and the backup's tokens are sealed under that key.
    Restore {
        /// The backup file `keybearer backup create` wrote.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Add the backup's vaults beside the vaults already here; vaults
        /// whose names are taken are left out and listed, nothing is overwritten.
        #[arg(long)]
        merge: bool,
        /// When setting up: protect this computer's key with a passphrase
        /// instead of the OS keychain (as `init --passphrase`).
        #[arg(long)]
        passphrase: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// The MCP Registry whose list of servers `keybearer catalog` reads
    /// (https only; http only to this computer). Without an address: show it.
    Registry {
        /// The registry's address, e.g. https://registry.modelcontextprotocol.io
        #[arg(value_name = "ADDRESS")]
        address: Option<String>,
        /// Back to the official MCP Registry.
        #[arg(long, conflicts_with = "address")]
        reset: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppsAction {
    /// Which AI apps are on this computer, and which are connected to which vaults.
    List,
    /// Connect an app to vaults of one environment: its MCP settings get one
    /// entry per server of these vaults, each starting `keybearer bridge`
    /// (no token is written there).
    Connect {
        /// The app: claude-desktop, claude-code, cursor, vscode, windsurf, zed,
        /// gemini-cli, codex, goose, opencode or copilot-cli.
        app: String,
        /// Vault id or name; repeat for several (the first one wins a shared server).
        #[arg(long = "vault", value_name = "VAULT", required = true)]
        vaults: Vec<String>,
    },
    /// Use other vaults (and so maybe another environment) for a connected app.
    Change {
        app: String,
        #[arg(long = "vault", value_name = "VAULT", required = true)]
        vaults: Vec<String>,
    },
    /// Remove Keybearer's entries from an app's settings, and the connection.
    Disconnect { app: String },
    /// Find tokens pasted into an app's settings; with --vault, move them into
    /// that vault and point the app's entries at Keybearer instead. The file
    /// as it was is kept encrypted, for `apps undo-import`. Copies of the
    /// tokens left on disk (backups beside the file, hard links) are listed.
    Import {
        app: String,
        /// The vault the tokens go to (the app is connected to it).
        #[arg(long, value_name = "VAULT")]
        vault: Option<String>,
        /// Also delete the backups beside the settings file that hold an
        /// imported token (regular files holding the exact token only). Without
        /// --vault: those of the last import.
        #[arg(long)]
        delete_copies: bool,
    },
    /// Put an app's settings file back as it was before the last import
    /// (the imported credentials stay in the vault).
    #[command(name = "undo-import")]
    UndoImport { app: String },
    /// Bring connected apps' entries in line with their vaults (after adding or
    /// removing servers), and put back Keybearer's entries that something
    /// else changed.
    Sync {
        /// Only this app (default: every connected app).
        app: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionAction {
    /// Run an agent in this terminal with the MCP servers of the given vaults
    /// configured; returns the agent's exit status.
    #[command(after_help = "Examples:\n  \
        keybearer session start --vault GitHub --agent claude\n  \
        keybearer session start --vault GitHub --agent codex -- exec \"list my repos\"\n  \
        keybearer session start --vault GitHub --agent custom -- my-agent --mcp {mcp_config}\n\n\
        By default the agent reaches its servers through Keybearer and never sees a token, and it\n\
        runs in a sandbox (Linux: bubblewrap; macOS: Seatbelt, not yet tried on a Mac) that hides\n\
        Keybearer's data, your keychain and other processes from it, and lets it change only its\n\
        working folder, its own settings folder (~/.claude, ~/.codex), a private temporary folder\n\
        and the folders given with --allow-write.\n\n\
        For a custom agent, the command follows `--`; `{mcp_config}` in its arguments becomes the path\n\
        of the generated mcpServers JSON, which is also in $KEYBEARER_MCP_CONFIG. For claude and\n\
        codex, what follows `--` is passed to the agent.")]
    Start {
        /// Vault id or name; repeat for several (the first one wins a shared server).
        #[arg(long = "vault", required = true, value_name = "VAULT")]
        vaults: Vec<String>,
        /// claude, codex or custom.
        #[arg(long)]
        agent: String,
        /// The folder the agent works in (default: the current folder).
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
        /// Hand the real tokens to the agent (in its private MCP config or
        /// environment). The agent can then read them, so you approve it
        /// first: in the Keybearer window if it is open, else by typing the
        /// code it shows in this terminal.
        #[arg(long)]
        direct: bool,
        /// Run the agent without the sandbox (Linux, macOS). It can then use your
        /// keychain and Keybearer itself, like any program you run.
        #[arg(long)]
        no_sandbox: bool,
        /// A folder the sandboxed agent may also change (repeat for more).
        /// Everything outside its working folder, its own settings folder
        /// and a private temporary folder is read-only for it.
        #[arg(long = "allow-write", value_name = "PATH")]
        allow_write: Vec<PathBuf>,
        /// The custom command, or extra arguments for claude/codex.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Sessions recorded on this computer, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Stop a running session, also one started in another terminal:
    /// SIGTERM to the agent and its process group, SIGKILL after the grace period.
    Stop {
        id: String,
        /// Seconds between SIGTERM and SIGKILL.
        #[arg(long, default_value_t = 3)]
        grace: u64,
    },
    /// Which agent presets (claude, codex) are installed.
    Agents,
}

#[derive(Debug, Subcommand)]
pub enum TeamAction {
    /// Add a team server: https://, or http:// only to this computer. With
    /// --ca-file, its CA certificate's fingerprint is shown for you to compare
    /// before it is trusted (for this server only).
    #[command(after_help = "Examples:\n  \
        keybearer team add https://bao.example.com:8200 --name acme\n  \
        keybearer team add https://bao.internal:8200 --ca-file ./bao-ca.pem --name acme\n  \
        keybearer team sign-in acme --user alice\n  \
        keybearer vault create GitHub --team acme --env production")]
    Add {
        /// The server's address, e.g. https://bao.example.com:8200
        address: String,
        /// A short name for it here (default: its host name).
        #[arg(long)]
        name: Option<String>,
        /// The server's own CA certificate (PEM), if the system does not trust it.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        /// The KV version 2 mount your team's vaults are in.
        #[arg(long, default_value = "secret")]
        mount: String,
        /// Where each environment's vaults are in the mount; {environment}
        /// stands for the environment's name.
        #[arg(
            long,
            value_name = "TEMPLATE",
            default_value = "keybearer/{environment}/"
        )]
        paths: String,
        /// How often a credential in use is checked for a newer version, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        check_interval: u64,
        /// How long the last value the server confirmed may be used while the
        /// server is out of reach, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        last_good: u64,
        /// Trust the CA file without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Sign in to a team server. With --user, the password is asked (hidden)
    /// or read from standard input; with --token, the token is.
    #[command(name = "sign-in", group(clap::ArgGroup::new("how").required(true).args(["user", "token", "oidc"])))]
    SignIn {
        /// The team server's name or id.
        server: String,
        /// Your user name on the team server (user name and password sign-in).
        #[arg(long)]
        user: Option<String>,
        /// Sign in with a token your administrator gave you.
        #[arg(long)]
        token: bool,
        /// Sign in through your browser with the team server's OIDC sign-in
        /// (your company's identity provider).
        #[arg(long)]
        oidc: bool,
        /// With --oidc: the role your administrator named (default: the
        /// server's default role).
        #[arg(long, requires = "oidc")]
        role: Option<String>,
        /// With --oidc: where the OIDC sign-in is on the server.
        #[arg(long, value_name = "PATH", requires = "oidc", default_value = keybearer_team_vaults::DEFAULT_OIDC_MOUNT)]
        oidc_mount: String,
        /// With --oidc: the port of this computer the browser comes back to
        /// (http://127.0.0.1:PORT/oidc/callback must be one of the role's
        /// allowed redirect addresses).
        #[arg(long, requires = "oidc", default_value_t = keybearer_team_vaults::DEFAULT_OIDC_PORT)]
        port: u16,
    },
    /// Sign out of a team server: the sign-in is revoked on the server and
    /// removed from this computer, with the credentials kept for when it is
    /// out of reach.
    #[command(name = "sign-out")]
    SignOut { server: String },
    /// The team servers of this computer, and who is signed in to each.
    List,
    /// Remove a team server from this computer (signs out; its vaults stay on
    /// the server, and are removed from this computer's list).
    Remove {
        server: String,
        #[command(flatten)]
        confirm: Confirm,
    },
    /// Who changed which credential of a team vault, and when (newest first).
    History {
        /// The team vault (id or name).
        vault: String,
        /// Only the credential of this server address.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecoveryKeyAction {
    /// Replace the recovery key with a new one and show it once.
    Regenerate,
}

#[derive(Debug, Subcommand)]
pub enum EnvironmentAction {
    /// List environments.
    List,
    /// Create an environment.
    Create {
        name: String,
        /// Colour shown in the app, like #1e88e5.
        #[arg(long, default_value = "#1e88e5")]
        colour: String,
    },
    /// Make an environment the active one (new vaults go there by default).
    Use { name: String },
}

#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Create a vault. With --credential-url, also add its first credential
    /// (token from standard input). With --team, the vault lives on a team
    /// server (found there, or made), where its administrators can read it.
    Create {
        name: String,
        /// Environment (default: the active one).
        #[arg(long = "env")]
        environment: Option<String>,
        #[arg(long, value_name = "URL", conflicts_with = "team")]
        credential_url: Option<String>,
        #[command(flatten)]
        protocol: ProtocolArg,
        /// The team server (name or id) the vault lives on.
        #[arg(long, value_name = "SERVER")]
        team: Option<String>,
        /// With --team: the vault's folder on the server (default: made from
        /// its name). Teammates name the same folder to share it.
        #[arg(long, value_name = "NAME", requires = "team")]
        folder: Option<String>,
    },
    /// Move a vault of this computer to a team server (--team): once you
    /// confirm (the server's administrators can then read its values), its
    /// credentials are copied there and read back, and only then removed
    /// from this computer. Or a team vault back to this computer (--local):
    /// its credentials are read from the server and sealed here, and only
    /// then is the team copy deleted from the server (if your sign-in may
    /// delete there; otherwise it stays, for your team). If anything fails
    /// midway, nothing is lost; run it again to finish.
    #[command(group(clap::ArgGroup::new("to").required(true).args(["team", "local"])))]
    Move {
        vault: String,
        /// The team server (name or id) to move it to.
        #[arg(long, value_name = "SERVER")]
        team: Option<String>,
        /// Move a team vault to this computer.
        #[arg(long)]
        local: bool,
        /// With --team: the vault's folder on the server (default: made from
        /// its name).
        #[arg(long, value_name = "NAME", requires = "team")]
        folder: Option<String>,
        #[command(flatten)]
        confirm: Confirm,
    },
    /// List vaults.
    List {
        /// Only vaults of this environment.
        #[arg(long = "env")]
        environment: Option<String>,
    },
    /// Show a vault and its credentials.
    Show { vault: String },
    /// Rename a vault.
    Rename { vault: String, new_name: String },
    /// Delete a vault and every credential in it.
    Delete {
        vault: String,
        #[command(flatten)]
        confirm: Confirm,
    },
}

/// What kind of secret a credential holds; a bearer token unless told.
#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// Send this header instead of a bearer token (repeat for several); each
    /// value is read in turn, never from an argument.
    #[arg(long = "header", value_name = "NAME")]
    pub headers: Vec<String>,
    /// Send HTTP Basic (`Authorization: Basic …`) for this user name; the
    /// password or API token is read like a token.
    #[arg(long, value_name = "USER", conflicts_with = "headers")]
    pub basic: Option<String>,
    /// Sign in with OAuth: opens (or prints) the server's sign-in page, then
    /// keeps the sign-in fresh where the service allows renewal (it says
    /// when it does not). No token is typed.
    #[arg(long, conflicts_with_all = ["headers", "basic", "from_json"])]
    pub oauth: bool,
    /// With --oauth: a client id registered with the service beforehand (for
    /// services without dynamic registration, e.g. GitHub). A client secret,
    /// if it has one, is read like a token.
    #[arg(long, value_name = "ID", requires = "oauth")]
    pub client_id: Option<String>,
    /// With --client-id: read the client's secret (for a confidential client)
    /// like a token.
    #[arg(long, requires = "client_id")]
    pub client_secret: bool,
    /// With --oauth: the scopes to ask for (space-separated).
    #[arg(long, value_name = "SCOPES", requires = "oauth")]
    pub scope: Option<String>,
    /// Read an `mcp_oauth` credential as JSON on standard input (the fields
    /// the hosted vault APIs use: access_token, expires_at, refresh {…}).
    #[arg(long, conflicts_with_all = ["headers", "basic"])]
    pub from_json: bool,
    /// Read a bearer token (`Authorization: Bearer`), even where the server
    /// offers OAuth sign-in (without a way to sign in, the server is asked).
    #[arg(long, conflicts_with_all = ["headers", "basic", "oauth", "from_json"])]
    pub token: bool,
    /// Never from the command line: what Keybearer knows of the sign-in (a
    /// known server's pinned endpoints, an earlier sign-in's client).
    #[arg(skip)]
    pub known: Box<crate::commands::sign_in::KnownSignIn>,
}

#[derive(Debug, Subcommand)]
pub enum CredentialAction {
    /// Add a credential; the token (or each header's value) is read from
    /// standard input, one per line, or a hidden prompt.
    #[command(after_help = "Examples:\n  \
        keybearer credential add --vault GitHub --server github\n  \
        keybearer credential add --vault Notion --url https://mcp.notion.com/mcp\n  \
        keybearer credential add --vault Tools --url https://mcp.example.com/mcp --header X-API-Key\n  \
        keybearer credential add --vault Jira --url https://mcp.atlassian.com/v1/sse --basic me@example.com")]
    Add {
        /// Vault id or name.
        #[arg(long)]
        vault: String,
        /// The MCP server's address, e.g. https://api.githubcopilot.com/mcp/
        #[arg(long, value_name = "URL", required_unless_present = "server")]
        url: Option<String>,
        /// A known server's ID from `keybearer catalog` (e.g. github): its
        /// address, protocol and way of signing in come from the catalog.
        #[arg(long, value_name = "ID", conflicts_with_all = ["url", "protocol"])]
        server: Option<String>,
        #[command(flatten)]
        protocol: ProtocolArg,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// List a vault's credentials (never their tokens).
    List {
        #[arg(long)]
        vault: String,
    },
    /// Delete a credential.
    Delete {
        id: String,
        #[command(flatten)]
        confirm: Confirm,
    },
    /// Replace a credential's token (rotation); the new token is read from standard input.
    Replace {
        id: String,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Check that every stored token is intact, without showing any.
    Check {
        #[arg(long)]
        vault: Option<String>,
    },
    /// Test credentials against their servers: is the token accepted, and
    /// which MCP revision does the server speak? Sends each token only to its
    /// own server's address.
    #[command(after_help = "Examples:\n  \
        keybearer credential test cred_0123abcd\n  \
        keybearer credential test --all\n  \
        keybearer credential test --all --vault GitHub --json\n\n\
        Exit status: 0 when every credential passed, 10 when any failed (the token was\n\
        refused, the server was unreachable or is not an MCP server); the usual statuses\n\
        for other errors (3 no such credential or vault, 7 a damaged token when one ID is given).")]
    Test {
        /// The credential to test.
        #[arg(required_unless_present_any = ["all", "vault"], conflicts_with_all = ["all", "vault"])]
        id: Option<String>,
        /// Test every credential of every vault.
        #[arg(long)]
        all: bool,
        /// Only this vault's credentials (id or name); implies --all.
        #[arg(long)]
        vault: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ProtocolArg {
    /// sse or streamable_http (default: asked from the server, Streamable HTTP
    /// first, else guessed from the URL).
    #[arg(long)]
    pub protocol: Option<String>,
}

#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}
