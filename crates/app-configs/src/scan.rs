//! Finds tokens pasted into an app's settings, for "import": the caller
//! moves each one into the vault and replaces the entry by a bridge entry.
//!
//! Flow: list the entries → keep the remote ones, plus stdio entries that
//! run `mcp-remote <url> --header "Name: value"` (what most Claude Desktop
//! users paste) → report literal secret-looking headers, secret query
//! parameters of the URL, and secret-named environment variables. Values
//! that are references (`${VAR}`, `${env:VAR}`, `{env:VAR}`, `$VAR`,
//! `${input:id}`) are not secrets and are skipped; an mcp-remote header that
//! is a `${VAR}` reference is resolved through the entry's own `env`.
//!
//! Limits: local stdio servers are not scanned (their env tokens go to a
//! local program, not to a remote server); tokens inside URL paths or user
//! info, and proxies other than mcp-remote, are not recognised. The secret
//! is copied into a `SecretString`; the parser's own copies of the file are
//! not zeroised.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::entries::{ServerEntry, Transport};
use crate::error::Result;
use crate::locations::ConfigFile;

/// A secret value. `Debug` prints `<redacted>`; it has no `Display`.
pub struct SecretValue(SecretString);

impl SecretValue {
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// The secret itself. Do not log it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn into_secret_string(self) -> SecretString {
        self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where in the entry the secret was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// `Authorization: Bearer <secret>`.
    BearerToken,
    /// Any other secret-looking header (the name as written); the secret is
    /// the whole header value.
    OtherHeader(String),
    /// A URL query parameter (the name as written).
    QueryParam(String),
    /// An environment variable given to a remote entry (the name).
    EnvVar(String),
}

/// One secret found in one entry.
#[derive(Debug)]
pub struct Finding {
    /// The entry's name.
    pub server: String,
    /// The server URL with secret query parameters removed.
    pub url: String,
    pub kind: FindingKind,
    pub secret: SecretValue,
}

/// Scans a settings file's text.
pub fn scan(file: &ConfigFile, text: &str) -> Result<Vec<Finding>> {
    Ok(scan_entries(&crate::edit::list_servers(file, text)?))
}

/// Scans entries already listed.
pub fn scan_entries(entries: &[ServerEntry]) -> Vec<Finding> {
    entries.iter().flat_map(scan_entry).collect()
}

struct RemoteView {
    url: String,
    headers: Vec<(String, String)>,
    env: Vec<(String, String)>,
}

fn remote_view(entry: &ServerEntry) -> Option<RemoteView> {
    match &entry.transport {
        Transport::Remote(r) => Some(RemoteView {
            url: r.url.clone(),
            headers: r.headers.clone(),
            env: r.env.clone(),
        }),
        Transport::Stdio(s) => {
            let words: Vec<&str> = std::iter::once(s.command.as_str())
                .chain(s.args.iter().map(String::as_str))
                .collect();
            let at = words.iter().position(|w| is_mcp_remote(w))?;
            let rest = &words[at + 1..];
            let url = rest
                .iter()
                .find(|w| w.starts_with("https://") || w.starts_with("http://"))?;
            let mut headers = Vec::new();
            let mut i = 0;
            while i < rest.len() {
                let value = match rest[i].strip_prefix("--header=") {
                    Some(v) => Some(v),
                    None if rest[i] == "--header" => rest.get(i + 1).copied(),
                    None => None,
                };
                if let Some((name, value)) = value.and_then(|v| v.split_once(':')) {
                    headers.push((name.trim().to_string(), value.trim().to_string()));
                }
                i += 1;
            }
            Some(RemoteView {
                url: url.to_string(),
                headers,
                env: s.env.clone(),
            })
        }
        Transport::Other { .. } => None,
    }
}

/// `mcp-remote`, `mcp-remote@latest`, `/path/to/mcp-remote`, …
fn is_mcp_remote(word: &str) -> bool {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    base == "mcp-remote" || base.starts_with("mcp-remote@") || base == "mcp-remote.cmd"
}

fn scan_entry(entry: &ServerEntry) -> Vec<Finding> {
    let Some(view) = remote_view(entry) else {
        return Vec::new();
    };
    let (url, query_secrets) = split_query_secrets(&view.url);
    let mut out = Vec::new();
    let mut push = |kind, secret: String| {
        out.push(Finding {
            server: entry.name.clone(),
            url: url.clone(),
            kind,
            secret: SecretValue::new(secret),
        })
    };
    let mut used_env: Vec<&str> = Vec::new();
    for (name, raw) in &view.headers {
        // mcp-remote: "Authorization:${AUTH_HEADER}" with AUTH_HEADER in env.
        let value = match reference_name(raw).and_then(|var| {
            view.env
                .iter()
                .find(|(k, _)| k == var)
                .map(|(k, v)| (k.as_str(), v))
        }) {
            Some((var, v)) => {
                used_env.push(var);
                v.as_str()
            }
            None => raw.as_str(),
        };
        if let Some((kind, secret)) = classify_header(name, value) {
            push(kind, secret);
        }
    }
    for (name, value) in query_secrets {
        push(FindingKind::QueryParam(name), value);
    }
    for (name, value) in &view.env {
        if used_env.contains(&name.as_str()) || !secret_env_name(name) {
            continue;
        }
        if !value.trim().is_empty() && !is_reference(value) {
            push(FindingKind::EnvVar(name.clone()), value.trim().to_string());
        }
    }
    out
}

fn classify_header(name: &str, value: &str) -> Option<(FindingKind, String)> {
    let value = value.trim();
    if value.is_empty() || is_reference(value) {
        return None;
    }
    let lname = name.to_ascii_lowercase();
    if lname == "authorization" || lname == "proxy-authorization" {
        let (scheme, rest) = value.split_once(' ').unwrap_or(("", value));
        let rest = rest.trim();
        if rest.is_empty() || is_reference(rest) {
            return None;
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some((FindingKind::BearerToken, rest.to_string()));
        }
        return Some((
            FindingKind::OtherHeader(name.to_string()),
            value.to_string(),
        ));
    }
    let secretish = ["token", "key", "secret", "auth", "password"]
        .iter()
        .any(|w| lname.contains(w));
    secretish.then(|| {
        (
            FindingKind::OtherHeader(name.to_string()),
            value.to_string(),
        )
    })
}

fn secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["_TOKEN", "_API_KEY", "_KEY", "_SECRET", "_PAT"]
        .iter()
        .any(|suffix| upper.ends_with(suffix))
        || matches!(upper.as_str(), "TOKEN" | "API_KEY" | "APIKEY" | "SECRET")
}

fn secret_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "token"
            | "access_token"
            | "accesstoken"
            | "api_key"
            | "apikey"
            | "api-key"
            | "key"
            | "auth"
            | "auth_token"
            | "authtoken"
            | "secret"
    )
}

/// A value that names a variable instead of holding a secret.
pub(crate) fn is_reference(value: &str) -> bool {
    let v = value.trim();
    v.contains("${") || v.contains("{env:") || is_dollar_var(v)
}

fn is_dollar_var(v: &str) -> bool {
    v.strip_prefix('$').is_some_and(|name| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// `${VAR}` or `$VAR` → `VAR` (whole value only).
fn reference_name(value: &str) -> Option<&str> {
    let v = value.trim();
    if let Some(inner) = v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return Some(inner.strip_prefix("env:").unwrap_or(inner));
    }
    is_dollar_var(v).then(|| &v[1..])
}

/// Splits secret query parameters off a URL: the URL without them, and
/// each (name as written, decoded value).
fn split_query_secrets(url: &str) -> (String, Vec<(String, String)>) {
    let (before_fragment, fragment) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let Some((base, query)) = before_fragment.split_once('?') else {
        return (url.to_string(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut secrets = Vec::new();
    for pair in query.split('&') {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(raw_name);
        let value = percent_decode(raw_value);
        if secret_param(&name) && !value.is_empty() && !is_reference(&value) {
            secrets.push((name, value));
        } else {
            kept.push(pair);
        }
    }
    let mut clean = base.to_string();
    if !kept.is_empty() {
        clean.push('?');
        clean.push_str(&kept.join("&"));
    }
    clean.push_str(fragment);
    (clean, secrets)
}

/// Decodes `%XX` (not `+`: a pasted token may contain a literal plus).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}
