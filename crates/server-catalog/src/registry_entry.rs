//! One server of an MCP Registry answer (`{ "server": server.json, "_meta": … }`)
//! into a catalog [`Entry`], or a reason to skip it.
//!
//! Flow: the JSON value is read into the structs below (unknown fields are
//! ignored, a field of the wrong type skips the server); servers the registry
//! marks deleted are reported as removed, deprecated or older versions are
//! skipped; then each field is checked with `validate.rs`.
//!
//! Mapping (server.json schema 2025-12-11):
//! - `name` → `registry_name`, and in lowercase → `id`;
//! - `title` (else the part of `name` after `/`, or the publisher's label when
//!   that part is generic: `com.stripe/mcp` → "stripe") → `name`;
//!   `description` → `purpose`; a title of 81 to 100 characters or a
//!   description of 201 to 1000 is shortened, a longer one skips the server;
//! - `websiteUrl` (else `repository.url`, when it is a valid https address) → `docs`;
//! - `remotes[]` of type `streamable-http` or `sse` → addresses, Streamable
//!   HTTP first; other types are ignored; an address with `{variables}` skips
//!   the server (Keybearer does not ask for such values yet);
//! - `headers[]` with `isSecret` → a `header` sign-in with those names (after
//!   `discover` when none is required); no secret header → `discover`: the
//!   app asks the server how it signs in (RFC 9728);
//! - the publisher-provided `_meta` key `dev.keybearer/oauth-app` → an
//!   `oauth_client` sign-in first, instead of `discover`
//!   (`registry_oauth_app.rs`).
//!
//! What is kept for the cache (`snapshot.rs`): the server re-written with
//! only the fields read above ([`Kept::trimmed`]), so a cached copy is small
//! and is read again by this same code.
//!
//! Limits: any invalid address, text or header name skips the whole server:
//! a publisher that declares a `javascript:` or non-https address is not
//! trusted for the rest of its entry either.

use serde::{Deserialize, Serialize};

use crate::model::{self, Entry, HeaderField, Origin, Remote, SignIn, Transport};
use crate::registry_oauth_app::{oauth_app_sign_in, OauthAppJson, ServerMeta};
use crate::validate::{self, quoted, Invalid};

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn long_text_is_cut_at_a_sentence_or_a_space() {
        assert_eq!(shorten("Short.", 10), "Short.");
        assert_eq!(
            shorten("One two three. Four five six", 20),
            "One two three."
        );
        assert_eq!(
            shorten("One two. Three four five six", 20),
            "One two. Three…"
        );
        assert_eq!(
            shorten("alpha beta gamma delta epsilon", 20),
            "alpha beta gamma…"
        );
        assert_eq!(shorten(&"x".repeat(30), 10), format!("{}…", "x".repeat(9)));
        assert!(shorten(&"é ".repeat(200), 200).chars().count() <= 200);
    }
}

#[derive(Deserialize, Serialize)]
pub(crate) struct ServerResponse {
    server: ServerDetail,
    #[serde(default, rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<ResponseMeta>,
}

#[derive(Deserialize, Serialize)]
struct ServerDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(
        default,
        rename = "websiteUrl",
        skip_serializing_if = "Option::is_none"
    )]
    website_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repository: Option<Repository>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remotes: Option<Vec<RemoteJson>>,
    #[serde(default, rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<ServerMeta>,
}

#[derive(Deserialize, Serialize)]
struct Repository {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct RemoteJson {
    #[serde(rename = "type")]
    kind: String,
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<HeaderJson>>,
}

#[derive(Clone, Deserialize, Serialize)]
struct HeaderJson {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, rename = "isSecret")]
    is_secret: bool,
    #[serde(default, rename = "isRequired")]
    is_required: bool,
}

#[derive(Deserialize, Serialize)]
struct ResponseMeta {
    #[serde(
        default,
        rename = "io.modelcontextprotocol.registry/official",
        skip_serializing_if = "Option::is_none"
    )]
    official: Option<Official>,
}

#[derive(Deserialize, Serialize)]
struct Official {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, rename = "isLatest", skip_serializing_if = "Option::is_none")]
    is_latest: Option<bool>,
}

/// A usable server: its entry, and the server re-written with only what was
/// read (known address types, secret headers), for the cache.
pub(crate) struct Kept {
    pub(crate) entry: Entry,
    pub(crate) trimmed: serde_json::Value,
}

/// What became of one listed server.
pub(crate) enum Outcome {
    Entry(Box<Kept>),
    /// The registry marks it deleted (its registry name, checked).
    Removed(String),
    /// Not usable; the reason is for the log.
    Skipped {
        server: String,
        reason: String,
        /// The checked registry name when this answer makes a cached copy of
        /// the server out of date (deprecated, no longer valid); `None` when
        /// it says nothing about the cached one (an older version, no name).
        supersedes: Option<String>,
    },
}

fn skipped(server: &str, reason: impl Into<String>) -> Outcome {
    Outcome::Skipped {
        server: server.to_owned(),
        reason: reason.into(),
        supersedes: None,
    }
}

/// A named server skipped because it is no longer usable.
fn superseded(name: &str, label: &str, reason: impl Into<String>) -> Outcome {
    Outcome::Skipped {
        server: label.to_owned(),
        reason: reason.into(),
        supersedes: Some(name.to_owned()),
    }
}

fn reason(invalid: Invalid) -> String {
    format!("{} {}", invalid.what, invalid.problem)
}

/// One element of `servers[]`; `label` names it in skip reasons when it has
/// no usable name (e.g. `#12`).
pub(crate) fn convert(value: serde_json::Value, label: &str) -> Outcome {
    let response: ServerResponse = match serde_json::from_value(value) {
        Ok(response) => response,
        Err(error) => {
            return skipped(
                label,
                format!(
                    "has a field of the wrong type or shape ({})",
                    quoted(&error.to_string())
                ),
            )
        }
    };
    let server = response.server;
    let Some(raw_name) = server.name else {
        return skipped(label, "has no name");
    };
    let name = match validate::registry_name(&raw_name) {
        Ok(name) => name,
        Err(invalid) => return skipped(label, reason(invalid)),
    };
    let label = quoted(&name);
    let official = response.meta.and_then(|meta| meta.official);
    if let Some(official) = official {
        match official.status.as_deref() {
            Some("deleted") => return Outcome::Removed(name),
            Some("deprecated") => {
                return superseded(&name, &label, "is deprecated by its publisher")
            }
            _ => {}
        }
        if official.is_latest == Some(false) {
            return skipped(&label, "is an older version");
        }
    }
    let Some(remotes_json) = server.remotes.filter(|remotes| !remotes.is_empty()) else {
        return superseded(
            &name,
            &label,
            "runs only on the user's computer (no remote address)",
        );
    };
    let repository_url = server.repository.and_then(|repository| repository.url);
    let oauth_app = server
        .meta
        .as_ref()
        .and_then(ServerMeta::oauth_app)
        .cloned();
    let trimmed = ServerResponse {
        server: ServerDetail {
            name: Some(name.clone()),
            title: server.title.clone(),
            description: server.description.clone(),
            website_url: server.website_url.clone(),
            repository: repository_url
                .clone()
                .map(|url| Repository { url: Some(url) }),
            remotes: Some(
                remotes_json
                    .iter()
                    .filter(|remote| matches!(remote.kind.as_str(), "streamable-http" | "sse"))
                    .map(|remote| RemoteJson {
                        kind: remote.kind.clone(),
                        url: remote.url.clone(),
                        headers: remote.headers.as_ref().map(|headers| {
                            headers
                                .iter()
                                .filter(|header| header.is_secret)
                                .cloned()
                                .collect()
                        }),
                    })
                    .collect(),
            ),
            meta: server.meta.as_ref().and_then(ServerMeta::trimmed),
        },
        meta: None,
    };
    match entry(
        &name,
        server.title,
        server.description,
        server.website_url,
        repository_url,
        remotes_json,
        oauth_app.as_ref(),
    ) {
        Ok(entry) => match serde_json::to_value(&trimmed) {
            Ok(trimmed) => Outcome::Entry(Box::new(Kept { entry, trimmed })),
            Err(error) => superseded(&name, &label, format!("could not be kept ({error})")),
        },
        Err(problem) => superseded(&name, &label, problem),
    }
}

/// Longest title read (the registry's own limit); longer ones skip the server.
const MAX_TITLE_CHARS: usize = 100;
/// Longest description read; between this and the catalog's 200 it is
/// shortened, beyond it the server is skipped (a publisher's essay or junk).
const MAX_DESCRIPTION_CHARS: usize = 1000;

/// Text cut to `max` characters: at the end of a sentence when one ends in
/// the second half, else at a space, with "…".
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max - 1).collect();
    if let Some(end) = head.rfind(". ").filter(|end| *end >= head.len() / 2) {
        return head[..=end].to_owned();
    }
    let cut = head
        .rfind(' ')
        .filter(|cut| *cut >= head.len() / 2)
        .unwrap_or(head.len());
    format!("{}…", head[..cut].trim_end())
}

/// A display name for a server without a title: the part after `/`, or, when
/// that says nothing ("mcp", "server"), the publisher's label from the
/// namespace (`com.stripe/mcp` → "stripe").
fn untitled_name(name: &str) -> String {
    const GENERIC: &[&str] = &["mcp", "server", "mcp-server", "remote", "api"];
    const DOMAINS: &[&str] = &[
        "com", "io", "ai", "app", "dev", "net", "org", "co", "github",
    ];
    let is = |list: &[&str], word: &str| list.contains(&word.to_ascii_lowercase().as_str());
    let (namespace, last) = name.split_once('/').unwrap_or(("", name));
    if !is(GENERIC, last) {
        return last.to_owned();
    }
    namespace
        .rsplit('.')
        .find(|label| !is(GENERIC, label) && !is(DOMAINS, label))
        .unwrap_or(last)
        .to_owned()
}

fn entry(
    name: &str,
    title: Option<String>,
    description: Option<String>,
    website_url: Option<String>,
    repository_url: Option<String>,
    remotes_json: Vec<RemoteJson>,
    oauth_app: Option<&OauthAppJson>,
) -> Result<Entry, String> {
    if remotes_json.len() > validate::MAX_REMOTES {
        return Err(format!(
            "has {} addresses; at most {} are read",
            remotes_json.len(),
            validate::MAX_REMOTES
        ));
    }
    let display = title.unwrap_or_else(|| untitled_name(name));
    let display = validate::text("title", &display, MAX_TITLE_CHARS).map_err(reason)?;
    let display = shorten(&display, validate::MAX_NAME_CHARS);
    let purpose = validate::text(
        "description",
        description.as_deref().unwrap_or_default(),
        MAX_DESCRIPTION_CHARS,
    )
    .map_err(reason)?;
    let purpose = shorten(&purpose, validate::MAX_PURPOSE_CHARS);
    let docs = match website_url {
        Some(url) => Some(validate::web_address("website address", &url).map_err(reason)?),
        None => repository_url.and_then(|url| validate::web_address("repository", &url).ok()),
    };

    let mut remotes: Vec<Remote> = Vec::new();
    let mut headers: Vec<HeaderField> = Vec::new();
    for remote in remotes_json {
        let transport = match remote.kind.as_str() {
            "streamable-http" => Transport::StreamableHttp,
            "sse" => Transport::Sse,
            _ => continue,
        };
        if remote.url.contains('{') || remote.url.contains('}') {
            return Err(format!(
                "address {} needs values filled in, which Keybearer does not ask for yet",
                quoted(&remote.url)
            ));
        }
        let url = validate::web_address("address", &remote.url).map_err(reason)?;
        if remotes.iter().any(|known| known.url == url) {
            continue;
        }
        remotes.push(Remote {
            url,
            transport,
            for_sign_in: Vec::new(),
        });
        for header in remote
            .headers
            .unwrap_or_default()
            .into_iter()
            .filter(|header| header.is_secret)
        {
            let header_name = validate::header_name("header", &header.name).map_err(reason)?;
            let description = header
                .description
                .map(|text| {
                    validate::text("header description", &text, validate::MAX_DESCRIPTION_CHARS)
                })
                .transpose()
                .map_err(reason)?;
            match headers
                .iter_mut()
                .find(|known| known.name.eq_ignore_ascii_case(&header_name))
            {
                Some(known) => known.required |= header.is_required,
                None => headers.push(HeaderField {
                    name: header_name,
                    description,
                    required: header.is_required,
                }),
            }
            if headers.len() > validate::MAX_HEADERS {
                return Err(format!(
                    "asks for more than {} headers",
                    validate::MAX_HEADERS
                ));
            }
        }
    }
    if remotes.is_empty() {
        return Err(
            "has no address of a type Keybearer speaks (streamable-http or sse)".to_owned(),
        );
    }
    remotes.sort_by_key(|remote| remote.transport != Transport::StreamableHttp);

    let sign_in = match oauth_app {
        // The publisher says: an OAuth app the user makes (there is nothing
        // to discover that would do better).
        Some(app) => {
            let mut ways = vec![oauth_app_sign_in(app, &remotes)?];
            if !headers.is_empty() {
                ways.push(SignIn::Header { headers });
            }
            ways
        }
        None if headers.is_empty() => vec![SignIn::Discover],
        None if headers.iter().any(|header| header.required) => vec![SignIn::Header { headers }],
        None => vec![SignIn::Discover, SignIn::Header { headers }],
    };
    let id = name.to_ascii_lowercase();
    let entry = Entry {
        initials: model::initials(&display),
        color: model::derived_color(&id),
        name: display,
        purpose,
        remotes,
        sign_in,
        docs,
        origin: Origin::Registry,
        registry_name: Some(name.to_owned()),
        id,
    };
    validate::entry(&entry).map_err(reason)?;
    Ok(entry)
}
