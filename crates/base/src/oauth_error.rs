//! What can go wrong while signing in or keeping a sign-in fresh. Messages
//! are plain words for people who are not engineers and never contain a
//! token, a code or a client secret; `code()` is the stable string programs
//! branch on. What an authorization server says about an error is quoted
//! only through its `error` and `error_description` fields, cleaned by
//! [`quote_field`].

/// Why OAuth sign-in or a refresh failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Something the caller passed is not usable (the server address, a client ID).
    #[error("{message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },

    /// An address fails Keybearer's rule: https, or http only to this computer.
    #[error("{0}")]
    InsecureUrl(String),

    #[error("Could not reach {what} ({cause}). Check the address and your internet connection.")]
    Unreachable { what: String, cause: String },

    #[error("{what} did not answer within {seconds} seconds. It may be down or very slow; try again later.")]
    Timeout { what: String, seconds: u64 },

    /// A redirect answered a request that must not be redirected. Never followed.
    #[error("{what} answered with a redirect to {target}. Keybearer never follows redirects while signing in, so that no code or token reaches another address. If the service has moved, ask its administrator.")]
    Redirected { what: String, target: String },

    /// The server does not offer what sign-in needs (no OAuth metadata, no PKCE, …).
    #[error("{0}")]
    NotSupported(String),

    #[error("{what} sent an answer Keybearer cannot use: {problem}.")]
    BadResponse { what: String, problem: String },

    /// RFC 8414 §3.3: the metadata names another issuer than the one asked.
    #[error("The sign-in service's details name it \"{found}\", but they were fetched for \"{expected}\". Keybearer stopped, because the details may not come from the service the MCP server trusts.")]
    IssuerMismatch { expected: String, found: String },

    /// Neither a client ID from the user nor dynamic registration.
    #[error("The sign-in service {issuer} does not let apps register themselves, and no client ID was given. Ask the MCP server's administrator for a client ID for Keybearer (with redirect address http://127.0.0.1) and enter it when you sign in.")]
    NoClient { issuer: String },

    #[error("The sign-in service refused to register Keybearer as an app ({reason}). You can enter a client ID from the server's administrator instead.")]
    RegistrationRefused { reason: String },

    #[error("The browser could not be opened ({0}). Open the sign-in address shown by Keybearer yourself.")]
    Browser(String),

    #[error("Sign-in did not finish within {minutes} minutes. Start it again when you are ready.")]
    SignInTimedOut { minutes: u64 },

    #[error("Sign-in was cancelled.")]
    Cancelled,

    /// The start page was asked for twice: something besides the browser
    /// loaded it and may know this sign-in's `state` (oauth/listener.rs).
    #[error("Another program on this computer opened the sign-in page before your browser did, so Keybearer stopped the sign-in to keep that program from answering in your place. Nothing was saved. Start sign-in again; if this happens again, look for programs you do not know running on this computer.")]
    SignInIntercepted,

    /// RFC 9207: the `iss` in the authorization response is missing or wrong.
    #[error("The answer from the browser did not come from the expected sign-in service ({problem}), so it was refused. Another service may have tried to take over the sign-in. Start sign-in again.")]
    IssMismatch { problem: String },

    /// The authorization server answered the browser with an error.
    #[error("The sign-in service did not grant access ({reason}).")]
    AuthorizationDenied { reason: String },

    /// `invalid_grant`: the refresh token (or code) is no longer accepted.
    /// The vault turns this into "sign in again".
    #[error("The sign-in is no longer valid{detail}. Sign in again.")]
    InvalidGrant { detail: String },

    /// Any other refusal of the token or revocation endpoint.
    #[error("The sign-in service refused the request ({reason}).")]
    TokenRefused {
        reason: String,
        error: Option<String>,
    },

    #[error("Keybearer could not wait for the browser's answer on this computer ({0}).")]
    Listener(String),

    #[error("The system could not provide random numbers: {0}")]
    Randomness(String),

    /// The sealed sign-in blob could not be read back.
    #[error("The saved sign-in could not be read ({0}). Sign in again.")]
    Stored(String),
}

impl OAuthError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "oauth_invalid_input",
            Self::InsecureUrl(_) => "oauth_insecure_url",
            Self::Unreachable { .. } => "oauth_unreachable",
            Self::Timeout { .. } => "oauth_timeout",
            Self::Redirected { .. } => "oauth_redirected",
            Self::NotSupported(_) => "oauth_not_supported",
            Self::BadResponse { .. } => "oauth_bad_response",
            Self::IssuerMismatch { .. } => "oauth_issuer_mismatch",
            Self::NoClient { .. } => "oauth_no_client",
            Self::RegistrationRefused { .. } => "oauth_registration_refused",
            Self::Browser(_) => "oauth_browser",
            Self::SignInTimedOut { .. } => "oauth_sign_in_timed_out",
            Self::Cancelled => "oauth_cancelled",
            Self::SignInIntercepted => "oauth_sign_in_intercepted",
            Self::IssMismatch { .. } => "oauth_iss_mismatch",
            Self::AuthorizationDenied { .. } => "oauth_authorization_denied",
            Self::InvalidGrant { .. } => "oauth_invalid_grant",
            Self::TokenRefused { .. } => "oauth_token_refused",
            Self::Listener(_) => "oauth_listener",
            Self::Randomness(_) => "oauth_randomness",
            Self::Stored(_) => "oauth_stored",
        }
    }

    /// True when only a new sign-in helps: the grant is gone (`invalid_grant`),
    /// the client is unknown to the service (`invalid_client`), or the saved
    /// sign-in is unreadable.
    pub fn needs_sign_in(&self) -> bool {
        match self {
            Self::InvalidGrant { .. } | Self::Stored(_) => true,
            Self::TokenRefused { error, .. } => error.as_deref() == Some("invalid_client"),
            _ => false,
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            message: message.into(),
        }
    }

    pub fn bad(what: &str, problem: impl Into<String>) -> Self {
        Self::BadResponse {
            what: what.to_string(),
            problem: problem.into(),
        }
    }
}

/// Longest `error_description` quoted to the user.
const MAX_QUOTED: usize = 200;
/// Secrets shorter than this are not searched for (they would match words).
const SHORTEST_REDACTED: usize = 8;

/// An `error` or `error_description` from an authorization server, fit to
/// quote: only the characters RFC 6749 §5.2 allows there (printable ASCII
/// without `"` and `\`), at most 200 characters, and with any of `secrets`
/// (what the request sent) replaced by `[hidden]`. `None` when nothing is left.
pub fn quote_field(value: Option<&str>, secrets: &[&str]) -> Option<String> {
    // Secrets go before anything is cut, so that no part of one can remain.
    let hidden = hide(value?.to_string(), secrets);
    let allowed: String = hidden
        .chars()
        .filter(|&c| matches!(c, ' '..='~') && c != '"' && c != '\\')
        .collect();
    let text: String = hide(allowed, secrets).chars().take(MAX_QUOTED).collect();
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn hide(mut text: String, secrets: &[&str]) -> String {
    for secret in secrets {
        if secret.len() >= SHORTEST_REDACTED && text.contains(secret) {
            text = text.replace(secret, "[hidden]");
        }
    }
    text
}

/// "`error`: `error_description`" (or either alone) from an error body, quoted
/// with [`quote_field`]; the rest of the body is never shown.
pub fn error_reason(
    error: Option<&str>,
    description: Option<&str>,
    status: u16,
    secrets: &[&str],
) -> String {
    match (
        quote_field(error, secrets),
        quote_field(description, secrets),
    ) {
        (Some(error), Some(description)) => format!("{error}: {description}"),
        (Some(error), None) => error,
        (None, Some(description)) => description,
        (None, None) => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_hide_secrets_and_odd_characters() {
        let secret = "rt_abcdefghijklmnop";
        let quoted = quote_field(
            Some("bad token \"rt_abcdefghijklmnop\"\n<script>"),
            &[secret],
        )
        .expect("text");
        assert_eq!(quoted, "bad token [hidden]<script>");
        let long = format!("{}{}", "x".repeat(195), secret);
        let cut = quote_field(Some(&long), &[secret]).expect("text");
        assert!(!cut.contains("rt_ab"), "{cut}");
        assert_eq!(quote_field(Some("\u{7}"), &[]), None);
        assert_eq!(error_reason(None, None, 503, &[]), "HTTP 503");
        assert_eq!(
            error_reason(Some("invalid_scope"), Some("nope"), 400, &[]),
            "invalid_scope: nope"
        );
    }

    #[test]
    fn only_a_lost_grant_or_client_needs_a_new_sign_in() {
        assert!(OAuthError::InvalidGrant {
            detail: String::new()
        }
        .needs_sign_in());
        assert!(OAuthError::TokenRefused {
            reason: "x".into(),
            error: Some("invalid_client".into())
        }
        .needs_sign_in());
        assert!(!OAuthError::Timeout {
            what: "x".into(),
            seconds: 10
        }
        .needs_sign_in());
    }
}
