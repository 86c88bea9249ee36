//! The token endpoint (code exchange, refresh) and the revocation endpoint
//! (RFC 7009), with the client authenticated as registered (`none`,
//! `client_secret_basic`, `client_secret_post`) and `resource` (RFC 8707) on
//! every token request. A redirect is refused, never followed. An error
//! answer is quoted only through its `error` and `error_description`.

use serde::Deserialize;
use url::Url;

use super::error::{error_reason, OAuthError};
use super::http::{basic_auth, check_url, form, Answer, Http, Payload, MAX_ANSWER};
use super::{ClientRegistration, OAuthGrant, OAuthSecret, TokenEndpointAuth};

const TOKEN_ENDPOINT: &str = "The sign-in service's token endpoint";
const REVOCATION_ENDPOINT: &str = "The sign-in service's revocation endpoint";
/// Longest lifetime believed (ten years); larger values are cut to it.
const MAX_EXPIRES_IN: i64 = 10 * 365 * 24 * 3600;

/// Which token a revocation names (RFC 7009 `token_type_hint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

impl TokenHint {
    fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// What a revocation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The service accepted the revocation (RFC 7009 answers 200 also for
    /// tokens it no longer knows).
    Revoked,
    /// The service has no revocation endpoint: the tokens stay valid until
    /// they expire.
    NotSupported,
}

/// Exchanges an authorization code (with its PKCE verifier) for a grant.
pub(crate) fn exchange_code(
    http: &Http,
    registration: &ClientRegistration,
    code: &OAuthSecret,
    verifier: &OAuthSecret,
    redirect_uri: &str,
    resource: &str,
    requested_scope: Option<&str>,
) -> Result<OAuthGrant, OAuthError> {
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose_secret()),
        ("resource", resource),
    ];
    let secrets = [code.expose_secret(), verifier.expose_secret()];
    let answer = token_request(http, registration, &params, &secrets)?;
    grant_from(
        answer,
        &hidden(registration, &secrets),
        None,
        requested_scope,
    )
}

/// Refreshes `grant` (RFC 6749 §6) for `resource`. The new grant carries the
/// rotated refresh token when the service sent one, else the old one, and
/// the old scope when the service does not say.
pub fn refresh(
    registration: &ClientRegistration,
    grant: &OAuthGrant,
    resource: &str,
) -> Result<OAuthGrant, OAuthError> {
    let Some(refresh_token) = &grant.refresh_token else {
        return Err(OAuthError::InvalidGrant {
            detail: " (the service gave no refresh token, so the sign-in cannot be renewed)"
                .to_string(),
        });
    };
    let params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
        ("resource", resource),
    ];
    let secrets = [refresh_token.expose_secret()];
    let answer = token_request(&Http::new(), registration, &params, &secrets)?;
    grant_from(
        answer,
        &hidden(registration, &secrets),
        Some(refresh_token),
        grant.scope.as_deref(),
    )
}

/// Revokes `token` (RFC 7009).
pub fn revoke(
    registration: &ClientRegistration,
    token: &OAuthSecret,
    hint: TokenHint,
) -> Result<Revocation, OAuthError> {
    let Some(endpoint) = &registration.revocation_endpoint else {
        return Ok(Revocation::NotSupported);
    };
    let url = check_url(REVOCATION_ENDPOINT, endpoint)?;
    let params = [
        ("token", token.expose_secret()),
        ("token_type_hint", hint.as_str()),
    ];
    let secrets = [token.expose_secret()];
    let answer = post_authenticated(
        &Http::new(),
        registration,
        REVOCATION_ENDPOINT,
        &url,
        &params,
    )?;
    if answer.status == 200 {
        return Ok(Revocation::Revoked);
    }
    Err(refusal(&answer, registration, &secrets))
}

fn token_request(
    http: &Http,
    registration: &ClientRegistration,
    params: &[(&str, &str)],
    secrets: &[&str],
) -> Result<Answer, OAuthError> {
    let url = check_url(TOKEN_ENDPOINT, &registration.token_endpoint)?;
    let answer = post_authenticated(http, registration, TOKEN_ENDPOINT, &url, params)?;
    if refuses(&answer) {
        Err(refusal(&answer, registration, secrets))
    } else {
        Ok(answer)
    }
}

/// Whether a token endpoint's answer refuses: an error status, or a success
/// whose body is an `error` and no token (GitHub answers errors with 200).
fn refuses(answer: &Answer) -> bool {
    if !(200..300).contains(&answer.status) {
        return true;
    }
    serde_json::from_slice::<ErrorBody>(&answer.body).is_ok_and(|body| body.error.is_some())
        && serde_json::from_slice::<TokenAnswer>(&answer.body).is_err()
}

/// POSTs `params` with the client authenticated as registered. Redirects
/// are refused here, for both endpoints.
fn post_authenticated(
    http: &Http,
    registration: &ClientRegistration,
    what: &str,
    url: &Url,
    params: &[(&str, &str)],
) -> Result<Answer, OAuthError> {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("client_id", &registration.client_id));
    let mut basic = None;
    match (
        registration.token_endpoint_auth,
        &registration.client_secret,
    ) {
        (TokenEndpointAuth::None, _) => {}
        (TokenEndpointAuth::ClientSecretPost, Some(secret)) => {
            all.push(("client_secret", secret.expose_secret()));
        }
        (TokenEndpointAuth::ClientSecretBasic, Some(secret)) => {
            basic = Some(basic_auth(&registration.client_id, secret)?);
        }
        (_, None) => {
            return Err(OAuthError::invalid(
                "client_secret",
                "The client secret for this sign-in is missing. Sign in again with it.",
            ))
        }
    }
    http.post(
        what,
        url,
        Payload::Form(form(&all)),
        basic,
        "application/json",
        MAX_ANSWER,
    )?
    .refuse_redirect(what, url)
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// What a request sent that its answer's words must not show: `sent` and
/// the client secret.
pub(crate) fn hidden<'a>(registration: &'a ClientRegistration, sent: &[&'a str]) -> Vec<&'a str> {
    let mut secrets: Vec<&str> = sent.to_vec();
    if let Some(secret) = &registration.client_secret {
        secrets.push(secret.expose_secret());
    }
    secrets
}

/// An error answer, quoting only `error` and `error_description`.
pub(crate) fn refusal(
    answer: &Answer,
    registration: &ClientRegistration,
    sent: &[&str],
) -> OAuthError {
    let secrets = hidden(registration, sent);
    let body: Option<ErrorBody> = serde_json::from_slice(&answer.body).ok();
    let error = body
        .as_ref()
        .and_then(|body| body.error.as_deref())
        .and_then(|error| super::error::quote_field(Some(error), &secrets));
    let reason = error_reason(
        error.as_deref(),
        body.as_ref()
            .and_then(|body| body.error_description.as_deref()),
        answer.status,
        &secrets,
    );
    if error.as_deref() == Some("invalid_grant") {
        return OAuthError::InvalidGrant {
            detail: format!(" (the sign-in service said: {reason})"),
        };
    }
    let reason = if answer.status >= 500 && error.is_none() {
        format!("{reason}; the service may be having problems, try again later")
    } else {
        reason
    };
    OAuthError::TokenRefused { reason, error }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// A successful token answer as a grant; `previous_refresh` is kept when
/// the service does not rotate it, `requested_scope` when it names none.
/// What the answer says is quoted with `hidden` (what the request sent)
/// hidden.
pub(crate) fn grant_from(
    answer: Answer,
    hidden: &[&str],
    previous_refresh: Option<&OAuthSecret>,
    requested_scope: Option<&str>,
) -> Result<OAuthGrant, OAuthError> {
    let parsed: TokenAnswer = serde_json::from_slice(&answer.body).map_err(|_| {
        OAuthError::bad(
            TOKEN_ENDPOINT,
            "its answer is not a token answer (RFC 6749 §5.1)",
        )
    })?;
    let TokenAnswer {
        access_token,
        token_type,
        expires_in,
        refresh_token,
        scope,
    } = parsed;
    let access_token = token_secret(access_token, "access token")?;
    let refresh_token = match refresh_token {
        Some(token) if !token.is_empty() => Some(token_secret(token, "refresh token")?),
        _ => previous_refresh.cloned(),
    };
    let token_type = token_type.unwrap_or_default();
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(OAuthError::NotSupported(format!(
            "The sign-in service issued a \"{}\" token; Keybearer can only use Bearer tokens.",
            super::error::quote_field(Some(&token_type), hidden).unwrap_or_default()
        )));
    }
    let expires_at = expires_in
        .as_ref()
        .and_then(seconds)
        .map(|seconds| super::now().saturating_add(seconds.clamp(0, MAX_EXPIRES_IN)));
    let scope = scope
        .filter(|scope| !scope.trim().is_empty())
        .or_else(|| requested_scope.map(str::to_string));
    Ok(OAuthGrant {
        access_token,
        token_type: "Bearer".to_string(),
        expires_at,
        obtained_at: Some(super::now()),
        refresh_token,
        scope,
    })
}

/// `expires_in` as a number, or as a string of digits (some services send that).
fn seconds(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64)),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A token that can go into an `Authorization` header: printable ASCII, no
/// spaces, at most 16 KiB. The error never quotes it.
fn token_secret(value: String, name: &str) -> Result<OAuthSecret, OAuthError> {
    let secret = OAuthSecret::new(value);
    let text = secret.expose_secret();
    if text.is_empty() {
        return Err(OAuthError::bad(
            TOKEN_ENDPOINT,
            format!("its {name} is empty"),
        ));
    }
    if text.len() > keybearer_base::secret::MAX_TOKEN_BYTES {
        return Err(OAuthError::bad(
            TOKEN_ENDPOINT,
            format!("its {name} is longer than 16 KiB"),
        ));
    }
    if !text.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(OAuthError::bad(
            TOKEN_ENDPOINT,
            format!("its {name} contains characters that cannot be sent in an HTTP header"),
        ));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderMap;
    use zeroize::Zeroizing;

    fn registration() -> ClientRegistration {
        ClientRegistration {
            client_id: "client".into(),
            client_secret: Some(OAuthSecret::new("client-secret-value".into())),
            token_endpoint_auth: TokenEndpointAuth::ClientSecretPost,
            issuer: "https://as.example".into(),
            authorization_endpoint: "https://as.example/authorize".into(),
            token_endpoint: "https://as.example/token".into(),
            revocation_endpoint: None,
            source: super::super::RegistrationSource::PreRegistered,
            redirect_uri: None,
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: HeaderMap::new(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn errors_quote_only_error_and_description_without_secrets() {
        let body = r#"{"error":"invalid_grant","error_description":"refresh token rt_secret-refresh-token is unknown","debug":"client-secret-value"}"#;
        let error = refusal(
            &answer(400, body),
            &registration(),
            &["rt_secret-refresh-token"],
        );
        assert_eq!(error.code(), "oauth_invalid_grant");
        assert!(error.needs_sign_in());
        let text = error.to_string();
        assert!(!text.contains("rt_secret"), "{text}");
        assert!(!text.contains("client-secret-value"), "{text}");
        assert!(text.contains("Sign in again"), "{text}");

        let html = refusal(
            &answer(502, "<html>client-secret-value</html>"),
            &registration(),
            &[],
        );
        assert_eq!(html.code(), "oauth_token_refused");
        assert!(html.to_string().contains("HTTP 502"), "{html}");
        assert!(!html.to_string().contains("client-secret-value"));
    }

    #[test]
    fn an_error_answered_with_200_is_a_refusal() {
        let github = answer(
            200,
            r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#,
        );
        assert!(refuses(&github));
        let error = refusal(&github, &registration(), &[]);
        assert_eq!(error.code(), "oauth_token_refused");
        assert!(
            error.to_string().contains("bad_verification_code"),
            "{error}"
        );
        assert!(!refuses(&answer(
            200,
            r#"{"access_token":"at_1","token_type":"bearer","scope":"repo"}"#
        )));
        assert!(refuses(&answer(400, r#"{"error":"invalid_grant"}"#)));
    }

    #[test]
    fn token_answers_become_grants() {
        let previous = OAuthSecret::new("rt_old".into());
        let grant = grant_from(
            answer(
                200,
                r#"{"access_token":"at_1","token_type":"bearer","expires_in":"60"}"#,
            ),
            &[],
            Some(&previous),
            Some("mcp"),
        )
        .expect("grant");
        assert_eq!(grant.refresh_token.as_ref(), Some(&previous));
        assert_eq!(grant.scope.as_deref(), Some("mcp"));
        assert_eq!(grant.token_type, "Bearer");
        let expires_at = grant.expires_at.expect("expiry");
        assert!((expires_at - super::super::now() - 60).abs() <= 2);

        let dpop = grant_from(
            answer(200, r#"{"access_token":"at_1","token_type":"DPoP"}"#),
            &[],
            None,
            None,
        )
        .expect_err("dpop");
        assert_eq!(dpop.code(), "oauth_not_supported");
        let spaced = grant_from(
            answer(200, r#"{"access_token":"at 1","token_type":"Bearer"}"#),
            &[],
            None,
            None,
        )
        .expect_err("space");
        assert!(!spaced.to_string().contains("at 1"));
    }
}
