//! What can go wrong with a team server (OpenBao or HashiCorp Vault,
//! docs/architecture.md "Team vaults"). Messages are plain words for people
//! who are not engineers, name the server and the path, say what to do, and
//! never contain a token or a credential's value; [`TeamError::code`] is
//! what programs branch on.

use std::time::Duration;

use crate::error::ErrorCode;

/// Why a team vault could not be read or written.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TeamError {
    #[error("Could not reach the team server {server} ({cause}). Check your network connection; if it works, ask your team's administrator whether the server is up.")]
    Unreachable { server: String, cause: String },

    #[error("The team server {server} did not answer within {seconds} seconds. It may be down or very slow; try again later.")]
    Timeout { server: String, seconds: u64 },

    /// The server's certificate does not chain to a root this computer (or
    /// the CA file of the server's settings) trusts.
    #[error("The team server {server} presented a certificate this computer does not trust ({cause}), so Keybearer did not send it anything. If your team runs its own certificate authority, add its CA file to the team server's settings in Keybearer; otherwise ask your administrator.")]
    Untrusted { server: String, cause: String },

    /// The server no longer accepts the saved sign-in (expired, revoked,
    /// or the server was reset), or there is none.
    #[error("Your sign-in to the team server {server} has expired or was withdrawn. Sign in to the team server again.")]
    SignInRequired { server: String },

    /// The sign-in is valid, but its policy does not allow this.
    #[error("The team server {server} does not let you {action} {path}. Ask your team's administrator for access. Nothing was changed.")]
    Denied {
        server: String,
        path: String,
        action: &'static str,
    },

    /// Nothing is stored at the vault's path (removed, or the server was reset).
    #[error("The team vault {path} was not found on the team server {server}. It may have been removed, or the server was reset; ask your team's administrator.")]
    VaultNotFound { server: String, path: String },

    /// Check-and-set: the secret changed since it was read.
    #[error("Someone changed {path} on the team server {server} after Keybearer read it. Nothing was written: look at the new value, then make your change again.")]
    Conflict { server: String, path: String },

    /// The server was out of reach for longer than the last credential read
    /// from it may be used.
    #[error("The team server {server} has been out of reach for more than {}, so Keybearer no longer uses the credential it last read from {path} (it may have been changed or withdrawn since). Check your network connection, or ask your team's administrator whether the server is up.", minutes(*.limit))]
    StaleTooLong {
        server: String,
        path: String,
        limit: Duration,
    },

    /// An answer Keybearer cannot use (not JSON, a missing field, a
    /// credential of an unknown kind, a 5xx).
    #[error("The team server {server} sent an answer Keybearer cannot use ({problem}). Try again later, or ask your team's administrator.")]
    BadAnswer { server: String, problem: String },
}

fn minutes(limit: Duration) -> String {
    let seconds = limit.as_secs();
    if seconds >= 120 {
        format!("{} minutes", seconds / 60)
    } else {
        format!("{seconds} seconds")
    }
}

impl TeamError {
    /// The code programs branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::SignInRequired { .. } => ErrorCode::TeamSignInRequired,
            Self::Denied { .. } => ErrorCode::TeamDenied,
            Self::VaultNotFound { .. } => ErrorCode::NotFound,
            Self::Conflict { .. } => ErrorCode::TeamConflict,
            Self::Unreachable { .. }
            | Self::Timeout { .. }
            | Self::Untrusted { .. }
            | Self::StaleTooLong { .. }
            | Self::BadAnswer { .. } => ErrorCode::TeamServer,
        }
    }

    /// The server could not be asked (down, too slow): the last credential
    /// read from it may still be used for a while. Every other failure is
    /// the server's answer (or the trust in it) and counts at once.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do_and_codes_are_stable() {
        let signed_out = TeamError::SignInRequired {
            server: "https://bao.example.com".into(),
        };
        assert!(signed_out
            .to_string()
            .contains("Sign in to the team server again"));
        assert_eq!(signed_out.code(), "team_sign_in_required");
        let denied = TeamError::Denied {
            server: "https://bao.example.com".into(),
            path: "kv/keybearer/production/github/".into(),
            action: "change",
        };
        assert!(denied
            .to_string()
            .contains("does not let you change kv/keybearer/production/github/"));
        let stale = TeamError::StaleTooLong {
            server: "s".into(),
            path: "p".into(),
            limit: Duration::from_secs(3600),
        };
        assert!(
            stale.to_string().contains("more than 60 minutes"),
            "{stale}"
        );
        assert!(!stale.is_unreachable());
    }
}
