//! The catalog's public data model: one [`Entry`] per remote MCP server, with
//! its addresses ([`Remote`]) and the ways a person can sign in to it
//! ([`SignIn`], in order of preference).
//!
//! Flow: entries are built only by the shipped-data loader (`shipped.rs`) and the
//! registry reader (`registry.rs`), and both pass every entry through
//! `validate.rs` first, so a value of these types always holds checked text
//! and checked addresses. None of these types can hold a secret: a sign-in
//! says where a token is made and which header carries it, never the token.
//!
//! Limits: the types serialise for the UI and for `--json` output; they do not
//! deserialise (a cached registry answer is parsed again with
//! `parse_registry_page`, so cached data is checked like fresh data).

use serde::Serialize;

/// How the client talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "CatalogTransport")
)]
pub enum Transport {
    /// MCP's current HTTP transport (one endpoint, POST and optional GET stream).
    StreamableHttp,
    /// The older HTTP+SSE transport.
    Sse,
}

impl Transport {
    /// The name used in the data file and in the MCP Registry's `server.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamableHttp => "streamable_http",
            Self::Sse => "sse",
        }
    }
}

/// One address of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "CatalogRemote")
)]
pub struct Remote {
    /// An `https://` address (normalised: lowercase host, no default port).
    pub url: String,
    pub transport: Transport,
    /// The sign-in kinds this address is for; empty means every kind of the
    /// entry. (Some vendors use one address for OAuth and another for tokens.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<SignInKind>>", optional))]
    pub for_sign_in: Vec<SignInKind>,
}

/// The kind of a [`SignIn`], without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "CatalogSignInKind")
)]
pub enum SignInKind {
    Oauth,
    OauthClient,
    Token,
    Header,
    Discover,
}

impl SignInKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oauth => "oauth",
            Self::OauthClient => "oauth_client",
            Self::Token => "token",
            Self::Header => "header",
            Self::Discover => "discover",
        }
    }
}

/// A header the user fills in (for [`SignIn::Header`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "CatalogHeader")
)]
pub struct HeaderField {
    /// The header's name, e.g. `X-Api-Key`.
    pub name: String,
    /// What to put in it, in the vendor's words (may be absent).
    pub description: Option<String>,
    /// Whether the server refuses requests without it.
    pub required: bool,
}

/// One way to sign in to a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "CatalogSignIn")
)]
pub enum SignIn {
    /// OAuth where the app registers itself (dynamic client registration):
    /// one click for the user.
    Oauth {
        /// Scopes to ask for; empty means the server's defaults.
        scopes: Vec<String>,
    },
    /// OAuth where the user must first create an OAuth app (a "client") at the
    /// vendor and paste its id (and secret) into Keybearer.
    OauthClient {
        /// The page where the app is created.
        client_page: String,
        /// Whether the vendor's token endpoint needs the app's client secret.
        client_secret: bool,
        scopes: Vec<String>,
        /// The vendor's authorization endpoint, when the catalog knows it
        /// (otherwise it is found from the server's metadata, RFC 9728).
        authorize_url: Option<String>,
        /// The vendor's token endpoint, when the catalog knows it.
        token_url: Option<String>,
    },
    /// A personal token the user makes on a web page and pastes.
    Token {
        /// The page where the token is made.
        token_page: String,
        /// The scopes or permissions to tick on that page (may be empty).
        permissions: Vec<String>,
        /// The header that carries the token; `None` means
        /// `Authorization: Bearer <token>`.
        header: Option<String>,
    },
    /// One or more named headers the user fills in (API keys and the like).
    Header { headers: Vec<HeaderField> },
    /// Not known in advance: the app asks the server (a 401 naming resource
    /// metadata, RFC 9728, means OAuth; a plain 401 means a token or header).
    Discover,
}

impl SignIn {
    pub fn kind(&self) -> SignInKind {
        match self {
            Self::Oauth { .. } => SignInKind::Oauth,
            Self::OauthClient { .. } => SignInKind::OauthClient,
            Self::Token { .. } => SignInKind::Token,
            Self::Header { .. } => SignInKind::Header,
            Self::Discover => SignInKind::Discover,
        }
    }
}

/// Where an entry's facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "CatalogOrigin")
)]
pub enum Origin {
    /// The catalog shipped inside Keybearer (checked by hand against the
    /// vendor's docs).
    Shipped,
    /// The official MCP Registry (what the publisher declared).
    Registry,
}

/// One known remote MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, rename = "CatalogEntry"))]
pub struct Entry {
    /// Stable identifier: a lowercase slug for shipped entries (`github`), the
    /// registry's name in lowercase for registry entries (`com.example/server`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it is for, in one line a non-technical person understands.
    pub purpose: String,
    /// Addresses, the preferred (Streamable HTTP) first.
    pub remotes: Vec<Remote>,
    /// Ways to sign in, the preferred first.
    pub sign_in: Vec<SignIn>,
    /// The vendor's documentation.
    pub docs: Option<String>,
    /// Up to two letters for the badge shown instead of a logo.
    pub initials: String,
    /// The badge's colour, `#rrggbb`.
    pub color: String,
    pub origin: Origin,
    /// The server's name in the MCP Registry, when known.
    pub registry_name: Option<String>,
}

impl Entry {
    /// The addresses usable with a sign-in kind, the preferred first.
    pub fn remotes_for(&self, kind: SignInKind) -> impl Iterator<Item = &Remote> {
        self.remotes.iter().filter(move |remote| {
            remote.for_sign_in.is_empty() || remote.for_sign_in.contains(&kind)
        })
    }

    /// Whether any of the entry's ways to sign in is of this kind.
    pub fn signs_in_with(&self, kind: SignInKind) -> bool {
        self.sign_in.iter().any(|sign_in| sign_in.kind() == kind)
    }
}

/// Up to two letters from a display name: the first letters of its first two
/// words, upper-cased ("Hugging Face" → "HF"), or the first two letters of a
/// single word, the first upper-cased ("GitHub" → "Gi").
pub(crate) fn initials(name: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let upper = |word: &str| {
        word.chars()
            .take(1)
            .flat_map(char::to_uppercase)
            .collect::<String>()
    };
    match words.as_slice() {
        [] => "?".to_owned(),
        [only] => upper(only) + &only.chars().skip(1).take(1).collect::<String>(),
        [first, second, ..] => upper(first) + &upper(second),
    }
}

/// A muted badge colour derived from the id (FNV-1a), the same on every run.
/// Twelve hues, all dark enough for white letters.
pub(crate) fn derived_color(id: &str) -> String {
    const PALETTE: [&str; 12] = [
        "#3B5B92", "#2F6F6A", "#6B4E8A", "#8A4F4F", "#4F6B3B", "#7A5C2E", "#345E7D", "#5E3F6E",
        "#2E6B52", "#6E4A3A", "#4A4F7A", "#5A6270",
    ];
    let mut hash: u32 = 0x811c_9dc5;
    for byte in id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let index = usize::try_from(hash).unwrap_or(0) % PALETTE.len();
    PALETTE[index].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_two_words_or_two_letters() {
        assert_eq!(initials("Hugging Face"), "HF");
        assert_eq!(initials("GitHub"), "Gi");
        assert_eq!(initials("monday.com"), "MC");
        assert_eq!(initials("Cloudflare AI Gateway"), "CA");
        assert_eq!(initials("  "), "?");
    }

    #[test]
    fn derived_colours_are_stable_hex() {
        let color = derived_color("github");
        assert_eq!(color, derived_color("github"));
        assert_eq!(color.len(), 7);
        assert!(color.starts_with('#'));
    }
}
