//! Every failure the engine can report. Messages are written for people who
//! are not engineers and never contain a secret; `code()` is what programs
//! (the CLI's exit status, the desktop UI) branch on.

use serde::ser::SerializeStruct;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },

    #[error("No {what} with id or name \"{id}\" exists. It may have been deleted.")]
    NotFound { what: &'static str, id: String },

    #[error("Several vaults are named \"{0}\". Use the vault's id (vlt_…) instead.")]
    AmbiguousName(String),

    #[error("This vault already has a credential for {url}. Use \"Replace token\" to change it, or delete it first.")]
    DuplicateUrl { url: String },

    #[error("An environment named \"{0}\" already exists.")]
    DuplicateEnvironment(String),

    #[error("There is already a vault named \"{name}\" in {environment}. Pick another name, or use the existing vault.")]
    DuplicateVault { name: String, environment: String },

    #[error("The vaults {first} ({first_env}) and {second} ({second_env}) are in different environments. A session may only use vaults of one environment.")]
    MixedEnvironments {
        first: String,
        first_env: String,
        second: String,
        second_env: String,
    },

    #[error("None of this session's vaults has a credential for {url}. Add one, or remove that server from the session.")]
    NoCredential { url: String },

    #[error("Keybearer is not set up yet. Run setup first (keybearer init).")]
    NotInitialized,

    #[error("Keybearer is already set up here. Setting it up again would lock you out of the existing vaults.")]
    AlreadyInitialized,

    #[error("The system keychain could not be reached ({0}). Your tokens are safe but cannot be unlocked until it is available.")]
    KeychainUnavailable(String),

    #[error("The system keychain is locked or refused access ({0}). Unlock it (for example by logging in to your desktop) and try again.")]
    KeychainLocked(String),

    #[error("The key that protects your vaults is not in the system keychain (it may have been wiped or this is a new computer). Your data is intact: enter your recovery key to restore access.")]
    RecoveryNeeded,

    #[error(
        "That recovery key does not open these vaults. Check it for typos; nothing was changed."
    )]
    WrongRecoveryKey,

    #[error("Your vaults are protected by a passphrase. Enter it to unlock them.")]
    PassphraseRequired,

    #[error("That passphrase is not correct. Nothing was changed.")]
    WrongPassphrase,

    #[error("The stored token of credential {credential_id} is damaged or was altered, so it cannot be used. Replace its token to repair it.")]
    Integrity { credential_id: String },

    #[error("These vaults were written by a newer version of Keybearer (data version {found}; this version understands up to {supported}). Update Keybearer to open them. Nothing was changed.")]
    SchemaTooNew { found: i64, supported: i64 },

    #[error("The vault database could not be read or written: {0}")]
    Database(#[from] rusqlite::Error),

    #[error("A file in the data folder could not be read or written: {0}")]
    Io(#[from] std::io::Error),

    #[error("The system could not provide random numbers: {0}")]
    Randomness(String),

    /// The agent's program is not installed; the message says how to fix it.
    #[error("{0}")]
    AgentNotFound(String),

    /// The agent cannot work with what was asked (e.g. Codex and an SSE server).
    #[error("{0}")]
    Unsupported(String),

    #[error("The agent could not be started: {0}")]
    Spawn(String),

    #[error("Session {id} is not running (it is {state}).")]
    SessionNotRunning { id: String, state: String },

    /// An app's settings file could not be read, understood or written; the
    /// message names the app and the file and says what to do.
    #[error("{0}")]
    AppConfig(#[from] app_configs::Error),

    /// OAuth sign-in or refresh failed; the message says what to do.
    #[error("{0}")]
    OAuth(#[from] crate::oauth_error::OAuthError),

    /// The OAuth credential of a server can no longer be refreshed: the
    /// user must sign in again (the credential is marked so).
    #[error("The sign-in for {url} has expired or was withdrawn, and Keybearer could not renew it. Sign in again in Keybearer (the credential's \"Sign in again\" button, or `keybearer credential replace` with the credential's id).")]
    SignInRequired { url: String },

    /// A team server (OpenBao, HashiCorp Vault) could not be used; the
    /// message names the server and says what to do.
    #[error("{0}")]
    Team(#[from] crate::team_error::TeamError),

    /// A real token would have left the vault (direct mode) without a
    /// person's approval; the message says why and what to do.
    #[error("{0}")]
    NotApproved(String),

    /// The MCP Registry's list could not be read (no answer, a refused
    /// answer); the message says why and that nothing was lost.
    #[error("{0}")]
    Registry(String),

    /// A backup file could not be made, read or restored; the message says
    /// why and what to do (docs/architecture.md, "Backups").
    #[error("{0}")]
    Backup(#[from] crate::backup_error::BackupError),

    /// A secret meant to be shown once could not be shown; nothing was stored.
    #[error("The recovery key could not be shown ({0}), so nothing was changed. Run the command again with its output going to your terminal or a file you can write.")]
    NotShown(String),
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }

    /// Stable machine-readable code, shared by the CLI and the desktop UI.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput { .. } => ErrorCode::InvalidInput,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::AmbiguousName(_) => ErrorCode::AmbiguousName,
            Self::DuplicateUrl { .. } => ErrorCode::DuplicateUrl,
            Self::DuplicateEnvironment(_) => ErrorCode::DuplicateEnvironment,
            Self::DuplicateVault { .. } => ErrorCode::DuplicateVault,
            Self::MixedEnvironments { .. } => ErrorCode::MixedEnvironments,
            Self::NoCredential { .. } => ErrorCode::NoCredential,
            Self::NotInitialized => ErrorCode::NotInitialized,
            Self::AlreadyInitialized => ErrorCode::AlreadyInitialized,
            Self::KeychainUnavailable(_) => ErrorCode::KeychainUnavailable,
            Self::KeychainLocked(_) => ErrorCode::KeychainLocked,
            Self::RecoveryNeeded => ErrorCode::RecoveryNeeded,
            Self::WrongRecoveryKey => ErrorCode::WrongRecoveryKey,
            Self::PassphraseRequired => ErrorCode::PassphraseRequired,
            Self::WrongPassphrase => ErrorCode::WrongPassphrase,
            Self::Integrity { .. } => ErrorCode::Integrity,
            Self::SchemaTooNew { .. } => ErrorCode::SchemaTooNew,
            Self::Database(_) => ErrorCode::Database,
            Self::Io(_) => ErrorCode::Io,
            Self::Randomness(_) => ErrorCode::Randomness,
            Self::AgentNotFound(_) => ErrorCode::AgentNotFound,
            Self::Unsupported(_) => ErrorCode::Unsupported,
            Self::Spawn(_) => ErrorCode::SpawnFailed,
            Self::SessionNotRunning { .. } => ErrorCode::SessionNotRunning,
            Self::NotShown(_) => ErrorCode::NotShown,
            Self::NotApproved(_) => ErrorCode::NotApproved,
            Self::AppConfig(_) => ErrorCode::AppConfig,
            Self::OAuth(error) if error.needs_sign_in() => ErrorCode::SignInRequired,
            Self::OAuth(crate::oauth_error::OAuthError::InvalidInput { .. })
            | Self::OAuth(crate::oauth_error::OAuthError::InsecureUrl(_)) => {
                ErrorCode::InvalidInput
            }
            Self::OAuth(_) => ErrorCode::OAuthFailed,
            Self::SignInRequired { .. } => ErrorCode::SignInRequired,
            Self::Registry(_) => ErrorCode::RegistryFailed,
            Self::Team(error) => error.code(),
            Self::Backup(error) => error.code(),
        }
    }
}

/// Every code an error can carry: what programs branch on (the CLI's exit
/// status and hints, the desktop UI). Exported to TypeScript as a union of
/// string literals, so a renamed code breaks the UI's build, and matched
/// exhaustively by the CLI, so a new code breaks its build until it has an
/// exit status. `Internal` and `NotInApp` are only made at the IPC boundary
/// and in the UI (a failed background task, a page opened outside the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    AmbiguousName,
    DuplicateUrl,
    DuplicateEnvironment,
    DuplicateVault,
    MixedEnvironments,
    NoCredential,
    NotInitialized,
    AlreadyInitialized,
    KeychainUnavailable,
    KeychainLocked,
    RecoveryNeeded,
    WrongRecoveryKey,
    PassphraseRequired,
    WrongPassphrase,
    Integrity,
    SchemaTooNew,
    Database,
    Io,
    Randomness,
    AgentNotFound,
    Unsupported,
    SpawnFailed,
    SessionNotRunning,
    NotShown,
    NotApproved,
    AppConfig,
    SignInRequired,
    // Spelled as `as_str` spells it (serde alone would say "o_auth_failed").
    #[serde(rename = "oauth_failed")]
    OAuthFailed,
    RegistryFailed,
    /// A team server could not be reached, was not trusted, or answered
    /// something unusable.
    TeamServer,
    /// The team server no longer accepts the saved sign-in.
    TeamSignInRequired,
    /// The team server's policy does not allow what was asked.
    TeamDenied,
    /// A team credential changed since it was read; nothing was written.
    TeamConflict,
    /// A backup file is not one, was cut short or was altered.
    BackupDamaged,
    /// A backup file was made by a newer Keybearer.
    BackupTooNew,
    /// The backup file to write exists (and replacing it was not asked for).
    BackupFileExists,
    /// A restore would mix a backup with vaults already here (no merge asked for).
    VaultsExist,
    Internal,
    NotInApp,
}

impl ErrorCode {
    /// The code as it appears in JSON (`"invalid_input"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::NotFound => "not_found",
            Self::AmbiguousName => "ambiguous_name",
            Self::DuplicateUrl => "duplicate_url",
            Self::DuplicateEnvironment => "duplicate_environment",
            Self::DuplicateVault => "duplicate_vault",
            Self::MixedEnvironments => "mixed_environments",
            Self::NoCredential => "no_credential",
            Self::NotInitialized => "not_initialized",
            Self::AlreadyInitialized => "already_initialized",
            Self::KeychainUnavailable => "keychain_unavailable",
            Self::KeychainLocked => "keychain_locked",
            Self::RecoveryNeeded => "recovery_needed",
            Self::WrongRecoveryKey => "wrong_recovery_key",
            Self::PassphraseRequired => "passphrase_required",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::Integrity => "integrity",
            Self::SchemaTooNew => "schema_too_new",
            Self::Database => "database",
            Self::Io => "io",
            Self::Randomness => "randomness",
            Self::AgentNotFound => "agent_not_found",
            Self::Unsupported => "unsupported",
            Self::SpawnFailed => "spawn_failed",
            Self::SessionNotRunning => "session_not_running",
            Self::NotShown => "not_shown",
            Self::NotApproved => "not_approved",
            Self::AppConfig => "app_config",
            Self::SignInRequired => "sign_in_required",
            Self::OAuthFailed => "oauth_failed",
            Self::RegistryFailed => "registry_failed",
            Self::TeamServer => "team_server",
            Self::TeamSignInRequired => "team_sign_in_required",
            Self::TeamDenied => "team_denied",
            Self::TeamConflict => "team_conflict",
            Self::BackupDamaged => "backup_damaged",
            Self::BackupTooNew => "backup_too_new",
            Self::BackupFileExists => "backup_file_exists",
            Self::VaultsExist => "vaults_exist",
            Self::Internal => "internal",
            Self::NotInApp => "not_in_app",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the JSON spelling: `code == "not_found"`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Errors cross process and IPC boundaries as `{code, message}`.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Error", 2)?;
        state.serialize_field("code", &self.code())?;
        state.serialize_field("message", &self.to_string())?;
        state.end()
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// `as_str` (for logs and the CLI) and the serialised form (for JSON and
    /// the UI) must be the same spelling, for every code.
    #[test]
    fn code_strings_match_their_json() {
        let all = [
            ErrorCode::InvalidInput,
            ErrorCode::NotFound,
            ErrorCode::AmbiguousName,
            ErrorCode::DuplicateUrl,
            ErrorCode::DuplicateEnvironment,
            ErrorCode::DuplicateVault,
            ErrorCode::MixedEnvironments,
            ErrorCode::NoCredential,
            ErrorCode::NotInitialized,
            ErrorCode::AlreadyInitialized,
            ErrorCode::KeychainUnavailable,
            ErrorCode::KeychainLocked,
            ErrorCode::RecoveryNeeded,
            ErrorCode::WrongRecoveryKey,
            ErrorCode::PassphraseRequired,
            ErrorCode::WrongPassphrase,
            ErrorCode::Integrity,
            ErrorCode::SchemaTooNew,
            ErrorCode::Database,
            ErrorCode::Io,
            ErrorCode::Randomness,
            ErrorCode::AgentNotFound,
            ErrorCode::Unsupported,
            ErrorCode::SpawnFailed,
            ErrorCode::SessionNotRunning,
            ErrorCode::NotShown,
            ErrorCode::NotApproved,
            ErrorCode::AppConfig,
            ErrorCode::SignInRequired,
            ErrorCode::OAuthFailed,
            ErrorCode::RegistryFailed,
            ErrorCode::TeamServer,
            ErrorCode::TeamSignInRequired,
            ErrorCode::TeamDenied,
            ErrorCode::TeamConflict,
            ErrorCode::BackupDamaged,
            ErrorCode::BackupTooNew,
            ErrorCode::BackupFileExists,
            ErrorCode::VaultsExist,
            ErrorCode::Internal,
            ErrorCode::NotInApp,
        ];
        for code in all {
            let json = serde_json::to_value(code).expect("serialises");
            assert_eq!(json, serde_json::Value::String(code.as_str().into()));
        }
    }
}
