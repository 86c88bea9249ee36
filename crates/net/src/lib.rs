//! Keybearer's network layer (docs/architecture.md, "Crates"): the one HTTP
//! client (hyper + rustls) to MCP servers and sign-in services, async for
//! the proxy and the bridge, blocking for Test connection and OAuth.
//!
//! Owns: TLS roots, the connect limit, the outbound proxy settings, and the
//! owner check of loopback servers on every new connection (through
//! `keybearer-platform`); an answer's body with the request's secrets
//! covered as it streams (`redacted`).
//! Must never depend on: the store, tokens, OAuth, sessions: it carries
//! bytes and headers it is given and knows nothing of where they came from.

pub mod redacted;
pub mod sse;
pub mod upstream;
