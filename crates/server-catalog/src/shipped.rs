//! The shipped catalog: `servers.toml`, compiled into the binary with
//! `include_str!`, read into checked [`Entry`] values.
//!
//! Flow: TOML → file-format structs (unknown keys are refused, so a typo in
//! the data fails the tests instead of being ignored) → the model types, each
//! text and address checked and normalised by `validate.rs` → every entry
//! checked again as a whole, and ids and addresses checked for uniqueness.
//!
//! Limits: the data is trusted only as far as its tests go; the same checks as
//! for registry data run on it, plus two of its own: every entry has a docs
//! link, and a Streamable HTTP address comes before an SSE one.

use serde::Deserialize;

use crate::model::{self, Entry, HeaderField, Origin, Remote, SignIn, SignInKind, Transport};
use crate::validate::{self, Invalid};

/// The data file, as shipped.
pub const SERVERS_TOML: &str = include_str!("../servers.toml");

/// Why the shipped data could not be read (only ever seen by tests and by
/// whoever edits `servers.toml`).
#[derive(Debug, thiserror::Error)]
pub enum ShippedError {
    #[error("servers.toml is not valid: {0}")]
    Syntax(String),
    #[error("servers.toml has a wrong value: {0}")]
    Invalid(#[from] Invalid),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    server: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    id: String,
    name: String,
    purpose: String,
    docs: String,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    registry_name: Option<String>,
    remotes: Vec<FileRemote>,
    sign_in: Vec<FileSignIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRemote {
    url: String,
    transport: FileTransport,
    #[serde(default)]
    for_sign_in: Vec<FileKind>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum FileTransport {
    StreamableHttp,
    Sse,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum FileKind {
    Oauth,
    OauthClient,
    Token,
    Header,
    Discover,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FileSignIn {
    Oauth {
        #[serde(default)]
        scopes: Vec<String>,
    },
    OauthClient {
        client_page: String,
        client_secret: bool,
        #[serde(default)]
        scopes: Vec<String>,
        #[serde(default)]
        authorize_url: Option<String>,
        #[serde(default)]
        token_url: Option<String>,
    },
    Token {
        token_page: String,
        #[serde(default)]
        permissions: Vec<String>,
        #[serde(default)]
        header: Option<String>,
    },
    Header {
        headers: Vec<FileHeader>,
    },
    Discover,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHeader {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "yes")]
    required: bool,
}

fn yes() -> bool {
    true
}

impl From<FileKind> for SignInKind {
    fn from(kind: FileKind) -> Self {
        match kind {
            FileKind::Oauth => Self::Oauth,
            FileKind::OauthClient => Self::OauthClient,
            FileKind::Token => Self::Token,
            FileKind::Header => Self::Header,
            FileKind::Discover => Self::Discover,
        }
    }
}

fn optional_address(what: &str, raw: Option<String>) -> Result<Option<String>, Invalid> {
    raw.map(|raw| validate::web_address(what, &raw)).transpose()
}

fn sign_in(file: FileSignIn) -> Result<SignIn, Invalid> {
    Ok(match file {
        FileSignIn::Oauth { scopes } => SignIn::Oauth { scopes },
        FileSignIn::OauthClient {
            client_page,
            client_secret,
            scopes,
            authorize_url,
            token_url,
        } => SignIn::OauthClient {
            client_page: validate::web_address("OAuth app page", &client_page)?,
            client_secret,
            scopes,
            authorize_url: optional_address("authorize address", authorize_url)?,
            token_url: optional_address("token address", token_url)?,
        },
        FileSignIn::Token {
            token_page,
            permissions,
            header,
        } => SignIn::Token {
            token_page: validate::web_address("token page", &token_page)?,
            permissions,
            header,
        },
        FileSignIn::Header { headers } => SignIn::Header {
            headers: headers
                .into_iter()
                .map(|header| HeaderField {
                    name: header.name,
                    description: header.description,
                    required: header.required,
                })
                .collect(),
        },
        FileSignIn::Discover => SignIn::Discover,
    })
}

fn entry(file: FileEntry) -> Result<Entry, Invalid> {
    let id = validate::shipped_id(&file.id)?;
    let in_entry = |invalid: Invalid| {
        Invalid::new(
            format!("entry {}: {}", validate::quoted(&id), invalid.what),
            invalid.problem,
        )
    };
    let name = validate::text("name", &file.name, validate::MAX_NAME_CHARS).map_err(in_entry)?;
    let mut remotes = Vec::with_capacity(file.remotes.len());
    for remote in file.remotes {
        remotes.push(Remote {
            url: validate::web_address("address", &remote.url).map_err(in_entry)?,
            transport: match remote.transport {
                FileTransport::StreamableHttp => Transport::StreamableHttp,
                FileTransport::Sse => Transport::Sse,
            },
            for_sign_in: remote
                .for_sign_in
                .into_iter()
                .map(SignInKind::from)
                .collect(),
        });
    }
    let first_sse = remotes
        .iter()
        .position(|remote| remote.transport == Transport::Sse);
    let last_http = remotes
        .iter()
        .rposition(|remote| remote.transport == Transport::StreamableHttp);
    if let (Some(sse), Some(http)) = (first_sse, last_http) {
        if sse < http {
            return Err(in_entry(Invalid::new(
                "addresses",
                "list the Streamable HTTP address before the SSE one",
            )));
        }
    }
    let entry = Entry {
        purpose: validate::text("purpose", &file.purpose, validate::MAX_PURPOSE_CHARS)
            .map_err(in_entry)?,
        docs: Some(validate::web_address("docs", &file.docs).map_err(in_entry)?),
        initials: model::initials(&name),
        color: file.color.unwrap_or_else(|| model::derived_color(&id)),
        registry_name: file.registry_name,
        origin: Origin::Shipped,
        remotes,
        sign_in: file
            .sign_in
            .into_iter()
            .map(sign_in)
            .collect::<Result<_, _>>()
            .map_err(in_entry)?,
        name,
        id,
    };
    validate::entry(&entry)?;
    Ok(entry)
}

/// Reads a catalog file (the shipped one, or another in tests): every entry
/// checked, ids and addresses unique, sorted by name.
pub fn parse(text: &str) -> Result<Vec<Entry>, ShippedError> {
    let file: File =
        toml::from_str(text).map_err(|error| ShippedError::Syntax(error.to_string()))?;
    let mut entries = file
        .server
        .into_iter()
        .map(entry)
        .collect::<Result<Vec<_>, _>>()?;
    crate::catalog::sort_by_name(&mut entries);
    validate::unique(&entries)?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r##"
[[server]]
id = "example"
name = "Example"
purpose = "Tries things out."
docs = "https://example.com/docs"
remotes = [{ url = "https://mcp.example.com/mcp", transport = "streamable_http" }]
sign_in = [{ kind = "oauth" }]
"##;

    #[test]
    fn a_minimal_entry_reads() {
        let entries = parse(ONE).expect("parses");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].initials, "Ex");
        assert_eq!(entries[0].sign_in, vec![SignIn::Oauth { scopes: vec![] }]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let typo = ONE.replace("docs =", "doc =");
        assert!(matches!(parse(&typo), Err(ShippedError::Syntax(_))));
        let typo = ONE.replace(
            r#"{ kind = "oauth" }"#,
            r#"{ kind = "oauth", scope = ["x"] }"#,
        );
        assert!(matches!(parse(&typo), Err(ShippedError::Syntax(_))));
    }

    #[test]
    fn sse_before_streamable_http_is_refused() {
        let text = ONE.replace(
            r#"remotes = [{ url = "https://mcp.example.com/mcp", transport = "streamable_http" }]"#,
            r#"remotes = [{ url = "https://mcp.example.com/sse", transport = "sse" }, { url = "https://mcp.example.com/mcp", transport = "streamable_http" }]"#,
        );
        let error = parse(&text).expect_err("refused").to_string();
        assert!(error.contains("Streamable HTTP"), "{error}");
    }

    #[test]
    fn a_duplicate_address_is_refused() {
        let twice = format!(
            "{ONE}\n{}",
            ONE.replace(r#"id = "example""#, r#"id = "example-two""#)
        );
        let error = parse(&twice).expect_err("refused").to_string();
        assert!(error.contains("used twice"), "{error}");
    }
}
