//! Every kind of event Keybearer records (docs/architecture.md, "Audit"), as
//! one enum: stored in the `events` table by its dotted name
//! (`credential.replaced`), exported to TypeScript as a union of those names
//! so the UI's label table is checked complete by the compiler.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! event_kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened. The dotted name is what is stored and shown.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
        pub enum EventKind {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }
        }

        impl FromStr for EventKind {
            type Err = UnknownEventKind;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                match name {
                    $($name => Ok(EventKind::$variant),)*
                    other => Err(UnknownEventKind(other.to_string())),
                }
            }
        }
    };
}

event_kinds! {
    SetupCompleted => "setup.completed",
    KeyRecovered => "key.recovered",
    RecoveryKeyRegenerated => "recovery_key.regenerated",
    EnvironmentCreated => "environment.created",
    VaultCreated => "vault.created",
    VaultRenamed => "vault.renamed",
    VaultDeleted => "vault.deleted",
    CredentialCreated => "credential.created",
    CredentialDeleted => "credential.deleted",
    CredentialReplaced => "credential.replaced",
    CredentialTested => "credential.tested",
    CredentialUsed => "credential.used",
    CredentialEchoed => "credential.echoed",
    CredentialRefreshed => "credential.refreshed",
    CredentialSignInNeeded => "credential.sign_in_needed",
    CredentialScopeNeeded => "credential.scope_needed",
    SessionStarted => "session.started",
    SessionExited => "session.exited",
    SessionStopped => "session.stopped",
    SessionFailed => "session.failed",
    AppConnected => "app.connected",
    AppConnectionChanged => "app.connection_changed",
    AppDisconnected => "app.disconnected",
    AppTokensImported => "app.tokens_imported",
    AppImportUndone => "app.import_undone",
    AppEntriesRestored => "app.entries_restored",
    BackupCreated => "backup.created",
    BackupRestored => "backup.restored",
    TeamServerAdded => "team.server_added",
    TeamServerRemoved => "team.server_removed",
    TeamSignedIn => "team.signed_in",
    TeamSignedOut => "team.signed_out",
    VaultMoved => "vault.moved",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the stored name: `kind == "vault.created"`.
impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A stored kind this version does not know (written by a newer one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEventKind(pub String);

impl fmt::Display for UnknownEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown event kind \"{}\"", self.0)
    }
}

impl std::error::Error for UnknownEventKind {}

impl rusqlite::ToSql for EventKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for EventKind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|error| rusqlite::types::FromSqlError::Other(Box::new(error)))
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(*kind));
            let json = serde_json::to_value(kind).expect("serialises");
            assert_eq!(json, serde_json::Value::String(kind.as_str().into()));
        }
        assert!("session.teleported".parse::<EventKind>().is_err());
    }
}
