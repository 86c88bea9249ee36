//! `server_url`: an MCP server's address as a user types it, an app's
//! settings file holds it or a registry lists it.
//!
//! Input: the address's text.
//!
//! Properties: a normalised address normalises to itself; it is https, or
//! http to this computer, with a server name and no user name, password,
//! query or `#` part, on a path that reads one way; its protocol can be
//! guessed; a refusal says why in printable words (it may quote the
//! address, which a settings file's author chose).

use keybearer_base::reach;
use keybearer_base::server_url::{guess_protocol, is_loopback, normalize_server_url};
use keybearer_base::text::printable;
use url::Url;

pub fn server_url(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match normalize_server_url(input) {
        Ok(normal) => {
            assert_eq!(
                normalize_server_url(&normal).ok().as_deref(),
                Some(normal.as_str()),
                "normalising twice changed {input:?}"
            );
            let url = Url::parse(&normal).expect("a normalised address parses");
            assert_eq!(url.as_str(), normal, "parsing changed a normalised address");
            let loopback = url.host().is_some_and(is_loopback);
            assert!(url.scheme() == "https" || (url.scheme() == "http" && loopback));
            assert!(url.host_str().is_some_and(|h| !h.is_empty()));
            assert!(url.username().is_empty() && url.password().is_none());
            assert!(url.query().is_none() && url.fragment().is_none());
            assert!(reach::is_clean(url.path()), "{normal:?}");
            let _ = guess_protocol(&normal);
        }
        Err(error) => {
            let words = error.to_string();
            assert!(!words.trim().is_empty());
            assert_eq!(
                printable(&words),
                words,
                "a refusal holds control characters"
            );
        }
    }
}
