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

    #[error("The vaults {first} ({first_env}) and {second} ({second_env}) are in different environments. A session may only use vaults of one environment.")]
    MixedEnvironments {
        first: String,
        first_env: String,
        second: String,
        second_env: String,
    },

    #[error("None of this session's vaults has a credential for {url}. Add one, or remove that server from the session.")]
    NoCredential { url: String },

    #[error("Agent Vault is not set up yet. Run setup first (agent-vault init).")]
    NotInitialized,

    #[error("Agent Vault is already set up here. Setting it up again would lock you out of the existing vaults.")]
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

    #[error("These vaults were written by a newer version of Agent Vault (data version {found}; this version understands up to {supported}). Update Agent Vault to open them. Nothing was changed.")]
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
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::NotFound { .. } => "not_found",
            Self::AmbiguousName(_) => "ambiguous_name",
            Self::DuplicateUrl { .. } => "duplicate_url",
            Self::DuplicateEnvironment(_) => "duplicate_environment",
            Self::MixedEnvironments { .. } => "mixed_environments",
            Self::NoCredential { .. } => "no_credential",
            Self::NotInitialized => "not_initialized",
            Self::AlreadyInitialized => "already_initialized",
            Self::KeychainUnavailable(_) => "keychain_unavailable",
            Self::KeychainLocked(_) => "keychain_locked",
            Self::RecoveryNeeded => "recovery_needed",
            Self::WrongRecoveryKey => "wrong_recovery_key",
            Self::PassphraseRequired => "passphrase_required",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::Integrity { .. } => "integrity",
            Self::SchemaTooNew { .. } => "schema_too_new",
            Self::Database(_) => "database",
            Self::Io(_) => "io",
            Self::Randomness(_) => "randomness",
            Self::AgentNotFound(_) => "agent_not_found",
            Self::Unsupported(_) => "unsupported",
            Self::Spawn(_) => "spawn_failed",
            Self::SessionNotRunning { .. } => "session_not_running",
        }
    }
}

/// Errors cross process and IPC boundaries as `{code, message}`.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Error", 2)?;
        state.serialize_field("code", self.code())?;
        state.serialize_field("message", &self.to_string())?;
        state.end()
    }
}
