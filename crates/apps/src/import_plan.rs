//! Import's plan: which server entries of an app's settings become which
//! credentials (docs/architecture.md, "App connections"). Everything here
//! is checked before the import changes anything, so a token the vault
//! cannot take, or two entries for one server with different tokens, stop
//! the import with nothing stored and the file untouched.
//!
//! Flow: one plan item per server entry with an importable finding, in file
//! order → its address as a credential stores it → the vault's credential
//! for that address, if it has one (kept; the pasted token is not stored) →
//! else the same credential as an earlier entry of this import with the
//! same address and the same secrets → else a new credential, its secret
//! built and validated here. Limits: an entry's secrets are compared as
//! found (kinds and values), so the same token written as a different
//! header counts as different.

use serde::Serialize;

use keybearer_base::error::{Error, Result};
use keybearer_base::model::{Credential, Protocol};
use keybearer_base::secret::AccessToken;
use keybearer_vault::{CredentialSecret, SecretHeader};

/// A secret found in an app's settings: where, never what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PastedSecret {
    /// The server entry's name in the app's settings.
    pub server: String,
    /// The server's URL (without secret query parameters).
    pub url: String,
    /// Where in the entry: "Authorization header", "X-API-Key header", …
    pub location: String,
    pub importable: bool,
    /// Why it cannot be imported (yet), when it cannot.
    pub note: Option<String>,
}

/// Where one entry's token goes.
pub(super) enum Source {
    /// The vault already holds a credential for the server (its id).
    Existing(String),
    /// A new credential with this secret.
    New {
        secret: CredentialSecret,
        protocol: Option<Protocol>,
    },
    /// The credential of an earlier item of this plan (its index).
    SameAs(usize),
}

pub(super) struct Planned {
    pub(super) server: String,
    /// As a credential stores it (a plain-http localhost pinned).
    pub(super) url: String,
    pub(super) source: Source,
}

/// The plan for `wanted` (importable findings), or why it cannot be done.
/// `file` is the settings file as the user sees it, for the messages.
pub(super) fn plan(
    wanted: &[&app_configs::Finding],
    servers: &[app_configs::ServerEntry],
    existing: &[Credential],
    file: &str,
) -> Result<Vec<Planned>> {
    let mut names: Vec<&str> = Vec::new();
    for finding in wanted {
        if !names.contains(&finding.server.as_str()) {
            names.push(&finding.server);
        }
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut fingerprints: Vec<zeroize::Zeroizing<String>> = Vec::new();
    for server in names {
        let found: Vec<&&app_configs::Finding> =
            wanted.iter().filter(|f| f.server == server).collect();
        let Some(first) = found.first() else {
            continue;
        };
        let cannot = |error: Error| {
            Error::invalid(
                "app",
                format!(
                    "The token of \"{server}\" in {file} cannot be stored: {error} Nothing was changed."
                ),
            )
        };
        let url = keybearer_base::server_url::normalize_server_url(&first.url).map_err(cannot)?;
        let url = keybearer_base::server_url::pin_localhost(&url);
        let fingerprint = fingerprint(&found);
        let source = if let Some(credential) = existing.iter().find(|c| c.mcp_server_url == url) {
            Source::Existing(credential.id.clone())
        } else if let Some(at) = planned.iter().position(|p| p.url == url) {
            if fingerprints[at] != fingerprint {
                return Err(Error::invalid(
                    "app",
                    format!(
                        "\"{}\" and \"{server}\" in {file} are the same server ({url}) with different tokens, and a vault keeps one token per server. Remove the entry you no longer use, then import again. Nothing was changed.",
                        planned[at].server
                    ),
                ));
            }
            Source::SameAs(at)
        } else {
            Source::New {
                secret: secret_of(&found, servers, server).map_err(cannot)?,
                protocol: protocol_of(servers, server),
            }
        };
        planned.push(Planned {
            server: server.to_string(),
            url,
            source,
        });
        fingerprints.push(fingerprint);
    }
    Ok(planned)
}

/// An entry's secrets as found (kinds and values), to compare two entries.
fn fingerprint(found: &[&&app_configs::Finding]) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::new());
    for finding in found {
        out.push_str(&format!("{:?}\0", finding.kind));
        out.push_str(finding.secret.expose_secret());
        out.push('\0');
    }
    out
}

/// The credential an entry's findings make: a bearer token alone stays a
/// bearer credential; otherwise every literal header the entry sends (the
/// secret ones found, and for a plain remote entry its other headers too,
/// which the server may need as well) becomes a header credential.
fn secret_of(
    found: &[&&app_configs::Finding],
    servers: &[app_configs::ServerEntry],
    server: &str,
) -> Result<CredentialSecret> {
    use app_configs::FindingKind;
    if let [only] = found {
        if only.kind == FindingKind::BearerToken {
            return Ok(AccessToken::new(only.secret.expose_secret().to_string())?.into());
        }
    }
    let mut headers: Vec<SecretHeader> = Vec::new();
    for finding in found {
        let header = match &finding.kind {
            FindingKind::BearerToken => SecretHeader::new(
                "Authorization",
                format!("Bearer {}", finding.secret.expose_secret()),
            )?,
            FindingKind::OtherHeader(name) => {
                SecretHeader::new(name, finding.secret.expose_secret().to_string())?
            }
            FindingKind::QueryParam(_) | FindingKind::EnvVar(_) => continue,
        };
        headers.push(header);
    }
    let others = servers
        .iter()
        .find(|s| s.name == server)
        .and_then(|s| match &s.transport {
            app_configs::Transport::Remote(remote) => Some(remote.headers.clone()),
            _ => None,
        });
    for (name, value) in others.unwrap_or_default() {
        let taken = headers.iter().any(|h| h.name().eq_ignore_ascii_case(&name));
        // Headers Keybearer sets itself (Content-Type, Accept, …) or cannot
        // carry are left to the bridge, not copied into the credential.
        if !taken && !value.contains('$') && !value.contains("{env:") {
            if let Ok(header) = SecretHeader::new(&name, value) {
                headers.push(header);
            }
        }
    }
    CredentialSecret::headers(headers)
}

pub(super) fn describe(finding: &app_configs::Finding) -> PastedSecret {
    use app_configs::FindingKind;
    let (location, importable, note) = match &finding.kind {
        FindingKind::BearerToken => (
            "Authorization header (bearer token)".to_string(),
            true,
            None,
        ),
        FindingKind::OtherHeader(name) => (format!("{name} header"), true, None),
        FindingKind::QueryParam(name) => (
            format!("\"{name}\" in the server's address"),
            false,
            Some(
                "not yet importable: a token in the address cannot be sent as a header".to_string(),
            ),
        ),
        FindingKind::EnvVar(name) => (
            format!("{name} variable"),
            false,
            Some("not yet importable: how the app uses this variable is not known".to_string()),
        ),
    };
    let url_ok = keybearer_base::server_url::normalize_server_url(&finding.url).is_ok();
    let (importable, note) = if importable && !url_ok {
        (
            false,
            Some(
                "not importable: the server's address is not https:// (or this computer)"
                    .to_string(),
            ),
        )
    } else {
        (importable, note)
    };
    PastedSecret {
        server: finding.server.clone(),
        url: finding.url.clone(),
        location,
        importable,
        note,
    }
}

/// The protocol the entry's own settings name, if they name one.
fn protocol_of(servers: &[app_configs::ServerEntry], name: &str) -> Option<Protocol> {
    servers
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| match &s.transport {
            app_configs::Transport::Remote(remote) => remote.transport.map(|t| match t {
                app_configs::RemoteTransport::Sse => Protocol::Sse,
                app_configs::RemoteTransport::Http => Protocol::StreamableHttp,
            }),
            _ => None,
        })
}
