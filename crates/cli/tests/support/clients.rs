//! Shared by `apps_clients.rs` and `apps_clients_model.rs`: a Home whose
//! vault `Work` holds three servers from the official Python SDK
//! (Streamable HTTP and legacy SSE accepting only the stored token, and a
//! third Streamable HTTP one accepting another token, so it answers the
//! bridge with 401), connected to one app; and the leak check after a run.

use super::agents::{assert_not_under, ClientOutput};
use super::session::{start_mcp_server, token, Home, McpServer};

/// A Home whose vault `Work` holds the three servers, connected to `app`.
pub struct Fixture {
    pub h: Home,
    pub secret: String,
    pub http: McpServer,
    pub sse: McpServer,
    /// Accepts another token: the bridge's request is refused (401).
    pub refused: McpServer,
}

pub fn connected(app: &str) -> Fixture {
    let h = Home::new();
    let secret = token("apps_clients");
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    let refused = start_mcp_server("streamable_http", &token("not_the_stored_one"));
    h.vault("Work", "development");
    h.add("Work", &http.url, "streamable_http", &secret);
    h.add("Work", &sse.url, "sse", &secret);
    h.add("Work", &refused.url, "streamable_http", &secret);
    h.apps(&["apps", "connect", app, "--vault", "Work"]).ok();
    Fixture {
        h,
        secret,
        http,
        sse,
        refused,
    }
}

impl Fixture {
    /// The token is in no file of the throwaway HOME, no client output, and
    /// nowhere Keybearer's own leak check looks.
    pub fn assert_token_nowhere(&self, outputs: &[&str]) {
        assert_not_under(&self.h.app_home(), &self.secret);
        for output in outputs {
            assert!(
                !output.contains(&self.secret),
                "the token is in a client's output"
            );
        }
        self.h.assert_nowhere(&self.secret);
    }

    pub fn outputs<'a>(runs: &[&'a ClientOutput]) -> Vec<&'a str> {
        runs.iter()
            .flat_map(|run| [run.stdout.as_str(), run.stderr.as_str()])
            .collect()
    }
}
