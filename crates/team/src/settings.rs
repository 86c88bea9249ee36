//! A team server's settings and where a team vault's credentials live on it
//! (docs/architecture.md, "Team vaults").
//!
//! The address follows the rule local credentials follow
//! (`keybearer_base::server_url`): `https://`, or `http://` only to this
//! computer. A server whose certificate the system does not trust is used
//! only with the CA file the user added for it.
//!
//! Paths: a team vault of environment `E` named `N` is the folder
//! `<template with {environment} = E><N>/` of the server's KV v2 mount
//! (template default `keybearer/{environment}/`); each credential is one
//! secret in it, named after its server's address ([`credential_key`]).
//! The template must name the environment, so a vault of one environment
//! can never be read at another's path.

use std::path::PathBuf;
use std::time::Duration;

use keybearer_base::error::{Error, Result};
use keybearer_base::model::validate_environment_name;
use keybearer_base::server_url::is_loopback;
use sha2::{Digest, Sha256};

/// Team vault ids start with this (local ones with `vlt_`): what a
/// [`keybearer_source::Routed`] source routes by.
pub const VAULT_ID_PREFIX: &str = "tvl_";
/// How often a cached credential's version is checked, by default.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// How long the last credential read may be used while the server is out
/// of reach, by default.
pub const DEFAULT_LAST_GOOD_LIMIT: Duration = Duration::from_secs(60 * 60);
/// Where a team's environments live in the mount, by default.
pub const DEFAULT_PATH_TEMPLATE: &str = "keybearer/{environment}/";
/// The placeholder of the path template.
const ENVIRONMENT: &str = "{environment}";

/// The CA certificates trusted for one team server only.
#[derive(Debug, Clone)]
pub(crate) enum Ca {
    /// Read when the client is made (the tests' dev server).
    File(PathBuf),
    /// The PEM the user trusted when adding the server, kept in the
    /// database (a file changed later trusts nothing new).
    Pem(Vec<u8>),
}

/// One team server, as the user set it up.
#[derive(Debug, Clone)]
pub struct TeamServerSettings {
    id: String,
    address: String,
    ca: Option<Ca>,
    mount: String,
    path_template: String,
    check_interval: Duration,
    last_good_limit: Duration,
}

impl TeamServerSettings {
    /// `id` names the server's saved sign-in in the keychain (one per
    /// server); `address` is the server's (`https://bao.example.com:8200`);
    /// `mount` the KV version 2 mount the team's vaults are in (`secret`).
    pub fn new(id: &str, address: &str, mount: &str) -> Result<Self> {
        let id = id.trim();
        if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
            return Err(Error::invalid(
                "team_server",
                "The team server needs a short name (1 to 100 characters).",
            ));
        }
        Ok(Self {
            id: id.to_string(),
            address: normalize_address(address)?,
            ca: None,
            mount: path_segments("mount", mount, false)?,
            path_template: DEFAULT_PATH_TEMPLATE.to_string(),
            check_interval: DEFAULT_CHECK_INTERVAL,
            last_good_limit: DEFAULT_LAST_GOOD_LIMIT,
        })
    }

    /// The server's own CA certificate (PEM), trusted for this server only.
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Ca::File(path.into()));
        self
    }

    /// The server's own CA certificates (PEM, as the user trusted them),
    /// trusted for this server only.
    #[must_use]
    pub fn with_ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca = Some(Ca::Pem(pem));
        self
    }

    /// Where environments live in the mount: must contain `{environment}`.
    pub fn with_path_template(mut self, template: &str) -> Result<Self> {
        let template = template.trim().trim_matches('/');
        let placeholders = template.matches(ENVIRONMENT).count();
        if placeholders != 1 {
            return Err(Error::invalid(
                "path_template",
                "The path of environments must contain {environment} once, like keybearer/{environment}/, so that each environment has its own folder on the team server.",
            ));
        }
        let checked = path_segments(
            "path_template",
            &template.replace(ENVIRONMENT, "environment"),
            true,
        )?;
        if !checked.is_empty() {
            self.path_template = format!("{template}/");
        }
        Ok(self)
    }

    /// How often a cached credential is checked for a newer version.
    #[must_use]
    pub fn with_check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// How long the last credential read may be used while the server is
    /// out of reach.
    #[must_use]
    pub fn with_last_good_limit(mut self, limit: Duration) -> Self {
        self.last_good_limit = limit;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The normalised address, without a trailing slash.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub(crate) fn ca(&self) -> Option<&Ca> {
        self.ca.as_ref()
    }

    /// The path template (`keybearer/{environment}/`).
    pub fn path_template(&self) -> &str {
        &self.path_template
    }

    pub fn mount(&self) -> &str {
        &self.mount
    }

    pub fn check_interval(&self) -> Duration {
        self.check_interval
    }

    pub fn last_good_limit(&self) -> Duration {
        self.last_good_limit
    }

    /// The folder of a vault in the mount: `keybearer/production/github`.
    pub fn vault_path(&self, vault: &TeamVault) -> String {
        format!(
            "{}{}",
            self.path_template.replace(ENVIRONMENT, &vault.environment),
            vault.name
        )
    }
}

/// A team vault: a folder of a team server, of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamVault {
    pub id: String,
    pub environment: String,
    /// The folder's name (`github`): letters, digits, `.`, `_`, `-`.
    pub name: String,
}

impl TeamVault {
    pub fn new(id: &str, environment: &str, name: &str) -> Result<Self> {
        if !id.starts_with(VAULT_ID_PREFIX) || id.len() <= VAULT_ID_PREFIX.len() {
            return Err(Error::invalid(
                "vault",
                format!("A team vault's id starts with {VAULT_ID_PREFIX}."),
            ));
        }
        let name = path_segments("vault", name, false)?;
        if name.contains('/') {
            return Err(Error::invalid(
                "vault",
                "A team vault's name is one folder name: letters, digits, \".\", \"_\" and \"-\", no \"/\".",
            ));
        }
        Ok(Self {
            id: id.to_string(),
            environment: validate_environment_name(environment)?,
            name,
        })
    }
}

/// A credential's secret name in its vault's folder: its server's address
/// made readable (`mcp.example.com_mcp`), then the first 8 hex digits of
/// the SHA-256 of the whole normalised address, so two addresses never
/// share a name.
pub fn credential_key(normalized_url: &str) -> String {
    let readable: String = normalized_url
        .split_once("://")
        .map_or(normalized_url, |(_, rest)| rest)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let readable: String = readable.trim_matches('_').chars().take(60).collect();
    let digest = Sha256::digest(normalized_url.as_bytes());
    format!(
        "{readable}-{}",
        &data_encoding::HEXLOWER.encode(&digest)[..8]
    )
}

/// The server's address: https, or http to this computer; no user, query
/// or fragment; no trailing slash.
fn normalize_address(input: &str) -> Result<String> {
    let invalid = |message: &str| Err(Error::invalid("team_server_address", message));
    let trimmed = input.trim();
    let Ok(url) = url::Url::parse(trimmed) else {
        return invalid(
            "That is not a web address. A team server's address looks like https://bao.example.com:8200.",
        );
    };
    let local = url.host().is_some_and(is_loopback);
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        "http" => {
            return invalid(
                "Only https:// addresses are allowed for a team server, so your sign-in and your team's credentials are never sent unencrypted. (http:// is accepted only for a server on this computer.)",
            )
        }
        _ => return invalid("Use the team server's https:// address."),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return invalid("The address has no server name.");
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return invalid(
            "Give the team server's address only (like https://bao.example.com:8200), without a user name, \"?\" or \"#\" part.",
        );
    }
    if !keybearer_base::reach::is_clean(url.path()) {
        return invalid("The address's path cannot be read one way only. Give the address your administrator gave you.");
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Path segments of letters, digits, `.`, `_` and `-`, joined by `/`, none
/// `.` or `..`; `/` around them dropped. `empty_ok`: nothing is allowed.
fn path_segments(field: &'static str, value: &str, empty_ok: bool) -> Result<String> {
    let value = value.trim().trim_matches('/');
    let valid = value.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    });
    if (value.is_empty() && !empty_ok) || (!value.is_empty() && !valid) {
        return Err(Error::invalid(
            field,
            format!("\"{}\" is not a usable path on the team server: use folder names of letters, digits, \".\", \"_\" and \"-\", separated by \"/\".", keybearer_base::text::printable(value)),
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_local_rule() {
        let ok = |input: &str| {
            TeamServerSettings::new("team", input, "secret")
                .map(|settings| settings.address().to_string())
        };
        assert_eq!(
            ok("https://Bao.Example.com:8200/").expect("valid"),
            "https://bao.example.com:8200"
        );
        assert_eq!(
            ok("http://127.0.0.1:8200").expect("loopback"),
            "http://127.0.0.1:8200"
        );
        for bad in [
            "http://bao.example.com",
            "ftp://x",
            "https://u:p@x",
            "https://x/?a",
            "nope",
        ] {
            let error = ok(bad).expect_err(bad);
            assert_eq!(error.code(), "invalid_input");
        }
    }

    #[test]
    fn each_environment_has_its_own_folder() {
        let settings = TeamServerSettings::new("team", "https://bao.example.com", "/kv/")
            .expect("valid")
            .with_path_template("teams/acme/{environment}")
            .expect("template");
        let production = TeamVault::new("tvl_1", "Production", "github").expect("vault");
        assert_eq!(settings.mount(), "kv");
        assert_eq!(
            settings.vault_path(&production),
            "teams/acme/production/github"
        );
        let default =
            TeamServerSettings::new("team", "https://bao.example.com", "secret").expect("valid");
        assert_eq!(
            default.vault_path(&production),
            "keybearer/production/github"
        );
        for template in [
            "keybearer/shared",
            "{environment}/{environment}",
            "a/../{environment}",
        ] {
            assert!(
                default.clone().with_path_template(template).is_err(),
                "{template}"
            );
        }
        for name in ["", "..", "a/b", "a b"] {
            assert!(
                TeamVault::new("tvl_1", "development", name).is_err(),
                "{name}"
            );
        }
        assert!(TeamVault::new("vlt_1", "development", "github").is_err());
    }

    #[test]
    fn credential_keys_are_readable_and_distinct() {
        let a = credential_key("https://mcp.example.com/mcp");
        let b = credential_key("https://mcp.example.com/mcp_");
        assert!(a.starts_with("mcp.example.com_mcp-"), "{a}");
        assert_eq!(a.len(), "mcp.example.com_mcp-".len() + 8);
        assert_ne!(a, b);
        assert_eq!(
            credential_key("http://127.0.0.1:8000/mcp"),
            credential_key("http://127.0.0.1:8000/mcp")
        );
    }
}
