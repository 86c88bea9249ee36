//! The neutral shape of an MCP server entry, whatever app it came from, and
//! the bridge entry Keybearer writes. Also: how to tell Keybearer's entries
//! from everyone else's.
//!
//! An entry is Keybearer's when it is stdio and its arguments contain
//! `bridge` followed somewhere by `--connection <id>` (or `--connection=<id>`);
//! the arguments Keybearer writes are
//! `["bridge", "--connection", "<con_id>", "--server", "<url>"]`.
//! Values here are plain `String`s (the caller wraps secrets), so every
//! `Debug` impl prints names only, never env values, header values, argument
//! lists or URL query strings. Limits: an entry whose shape is not
//! recognised is reported as `Transport::Other`, not guessed at.

use std::fmt;

/// One server entry in an app's settings file.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// The key it is stored under.
    pub name: String,
    pub transport: Transport,
}

/// How the app reaches the server.
#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    /// The app starts a program and talks to it over stdin/stdout.
    Stdio(StdioServer),
    /// The app connects to a URL.
    Remote(RemoteServer),
    /// Something this crate does not interpret (a goose built-in, a Zed
    /// extension server, a malformed entry). `kind` says what, in words.
    Other { kind: String },
}

#[derive(Clone, PartialEq, Eq, Default)]
pub struct StdioServer {
    pub command: String,
    pub args: Vec<String>,
    /// Environment variables, in file order.
    pub env: Vec<(String, String)>,
}

#[derive(Clone, PartialEq, Eq, Default)]
pub struct RemoteServer {
    pub url: String,
    /// What the file says about the protocol, when it says anything.
    pub transport: Option<RemoteTransport>,
    /// Literal headers, in file order.
    pub headers: Vec<(String, String)>,
    /// Environment variables some apps pass to remote entries (goose).
    pub env: Vec<(String, String)>,
}

/// The remote protocol named by the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteTransport {
    /// Legacy HTTP+SSE.
    Sse,
    /// Streamable HTTP.
    Http,
}

/// A stdio entry Keybearer writes: the bridge program with its arguments.
/// `env` is for non-secret values only.
#[derive(Clone, PartialEq, Eq)]
pub struct BridgeEntry {
    pub name: String,
    /// Absolute path of the Keybearer program.
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl BridgeEntry {
    /// The standard bridge entry for a connection.
    pub fn new(
        name: impl Into<String>,
        command: impl Into<String>,
        connection_id: &str,
        server_url: &str,
    ) -> Self {
        Self {
            name: name.into(),
            command: command.into(),
            args: vec![
                "bridge".into(),
                "--connection".into(),
                connection_id.into(),
                "--server".into(),
                server_url.into(),
            ],
            env: Vec::new(),
        }
    }

    /// The connection this entry bridges, read from its arguments.
    pub fn connection_id(&self) -> Option<&str> {
        bridge_connection_id(&self.args)
    }
}

impl ServerEntry {
    /// The bridge's connection id, when this is a Keybearer entry.
    pub fn keybearer_connection(&self) -> Option<&str> {
        match &self.transport {
            Transport::Stdio(s) => bridge_connection_id(&s.args),
            _ => None,
        }
    }

    /// Whether this is Keybearer's bridge entry for `connection_id`.
    pub fn is_ours(&self, connection_id: &str) -> bool {
        self.keybearer_connection() == Some(connection_id)
    }
}

/// `bridge … --connection <id>` → `<id>`. The id must follow `bridge`.
pub fn bridge_connection_id(args: &[String]) -> Option<&str> {
    let start = args.iter().position(|a| a == "bridge")?;
    let rest = &args[start + 1..];
    rest.iter().enumerate().find_map(|(i, arg)| {
        if arg == "--connection" {
            rest.get(i + 1)
                .map(String::as_str)
                .filter(|id| !id.is_empty())
        } else {
            arg.strip_prefix("--connection=")
                .filter(|id| !id.is_empty())
        }
    })
}

/// A URL without its query string, fragment or user info, for logs.
pub(crate) fn url_for_debug(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let base = &url[..cut];
    match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://<user>@{}", &base[..scheme_end], &base[at + 1..])
        }
        _ => base.to_string(),
    }
}

/// Prints `[NAME=<redacted>, …]`.
struct RedactedPairs<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedPairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=<redacted>")))
            .finish()
    }
}

/// Prints `<N args>`: arguments can carry headers and tokens (mcp-remote).
struct ArgCount(usize);

impl fmt::Debug for ArgCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} args>", self.0)
    }
}

impl fmt::Debug for ServerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerEntry")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .finish()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Stdio(s) => s.fmt(f),
            Transport::Remote(r) => r.fmt(f),
            Transport::Other { kind } => f.debug_struct("Other").field("kind", kind).finish(),
        }
    }
}

impl fmt::Debug for StdioServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdio")
            .field("command", &self.command)
            .field("args", &ArgCount(self.args.len()))
            .field("env", &RedactedPairs(&self.env))
            .finish()
    }
}

impl fmt::Debug for RemoteServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("url", &url_for_debug(&self.url))
            .field("transport", &self.transport)
            .field("headers", &RedactedPairs(&self.headers))
            .field("env", &RedactedPairs(&self.env))
            .finish()
    }
}

impl fmt::Debug for BridgeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeEntry")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("connection", &self.connection_id())
            .field("args", &ArgCount(self.args.len()))
            .field("env", &RedactedPairs(&self.env))
            .finish()
    }
}
