//! MCP server URL rules (docs/architecture.md): a credential matches a server when the
//! normalised URLs are equal. Scheme and host are lower-cased and the default
//! port dropped by the `url` crate; the path is kept.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{Error, Result};

const MAX_URL_LEN: usize = 2048;

/// Returns the canonical form of an MCP server URL, or an error that says
/// what to fix.
pub fn normalize_server_url(input: &str) -> Result<String> {
    let invalid = |message: String| Err(Error::invalid("mcp_server_url", message));
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return invalid(
            "Enter the address of the MCP server, for example https://mcp.example.com/mcp.".into(),
        );
    }
    if trimmed.len() > MAX_URL_LEN {
        return invalid("That address is too long (over 2048 characters).".into());
    }
    let url = match Url::parse(trimmed) {
        Ok(url) => url,
        // Quoted as it can be shown: an address from a settings file may
        // hold control characters that would rewrite a terminal.
        Err(_) => {
            return invalid(format!(
                "\"{}\" is not a web address. It should look like https://mcp.example.com/mcp.",
                crate::text::printable(trimmed)
            ))
        }
    };
    let loopback = url.host().is_some_and(is_loopback);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return invalid(
                "Only https:// addresses are allowed, so the token is never sent unencrypted. (http:// is accepted only for servers on this computer, such as http://127.0.0.1:8000/mcp.)".into(),
            )
        }
        other => {
            return invalid(format!(
                "\"{other}://\" addresses are not supported. Use an https:// address."
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return invalid("The address has no server name.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid(
            "The address contains a user name or password. Remove it: the token is stored separately.".into(),
        );
    }
    if url.query().is_some() {
        return invalid(
            "The address contains a query (the part after \"?\"). Remove it: a credential applies to the whole server path.".into(),
        );
    }
    if url.fragment().is_some() {
        return invalid("The address contains a \"#\" part. Remove it.".into());
    }
    // The proxy and the bridge refuse to send to a path with more than one
    // reading (`reach`): a credential for one would never work.
    if !crate::reach::is_clean(url.path()) {
        return invalid(
            "The address's path has a part Keybearer never sends a token to (\";\", an encoded \"%\", \"/\" or \"\\\", or an empty part such as \"//\"). Use the address exactly as the server's documentation gives it.".into(),
        );
    }
    // Written out, an address can grow (each byte a URL must encode takes
    // three): one longer than the limit would be refused the next time it
    // is read, so a credential saved with it could never be used.
    let normal: String = url.into();
    if normal.len() > MAX_URL_LEN {
        return invalid(
            "That address is too long once written out in full (over 2048 characters).".into(),
        );
    }
    Ok(normal)
}

/// Plain-http `localhost` pinned to one address of this computer, as a new credential
/// is stored (docs/architecture.md, "Proxy"): the name can mean 127.0.0.1
/// or ::1, and a program listening on the one the server does not use could
/// otherwise receive the token. The address a trusted user's server (ours,
/// root's, a system service's: `loopback`) listens on now (IPv4 first; on
/// Linux asked of the kernel, elsewhere by trying to connect), or 127.0.0.1
/// when none runs yet. Other URLs (https included) are returned as they are.
pub fn pin_localhost(normalized: &str) -> String {
    let Ok(mut url) = Url::parse(normalized) else {
        return normalized.to_string();
    };
    // Plain http only: over https the certificate names the server, and
    // the name is what it was issued for.
    if url.scheme() != "http"
        || !matches!(url.host(), Some(Host::Domain(name)) if name.eq_ignore_ascii_case("localhost"))
    {
        return normalized.to_string();
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let pinned = match keybearer_platform::loopback::trusted_listener(port) {
        Some(Some(ours)) => ours,
        // The kernel says no trusted server listens: the usual address,
        // never one another user's program answers on.
        Some(None) => std::net::Ipv4Addr::LOCALHOST.into(),
        None => answering(port),
    };
    let literal = match pinned {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    if url.set_host(Some(&literal)).is_err() {
        return normalized.to_string();
    }
    url.into()
}

/// Where no socket table tells: 127.0.0.1 unless only ::1 accepts a connection.
fn answering(port: u16) -> IpAddr {
    let accepts = |ip: IpAddr| {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::new(ip, port),
            std::time::Duration::from_millis(300),
        )
        .is_ok()
    };
    let v4: IpAddr = std::net::Ipv4Addr::LOCALHOST.into();
    let v6: IpAddr = std::net::Ipv6Addr::LOCALHOST.into();
    if !accepts(v4) && accepts(v6) {
        v6
    } else {
        v4
    }
}

pub fn is_loopback(host: Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(ip).is_loopback(),
    }
}

/// The protocol a new credential most likely uses: legacy SSE servers conventionally
/// live under `/sse`; everything else today is streamable HTTP.
pub fn guess_protocol(normalized_url: &str) -> crate::model::Protocol {
    let path = Url::parse(normalized_url)
        .map(|url| url.path().trim_end_matches('/').to_ascii_lowercase())
        .unwrap_or_default();
    if path.ends_with("/sse") {
        crate::model::Protocol::Sse
    } else {
        crate::model::Protocol::StreamableHttp
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::normalize_server_url;

    fn url_strategy() -> impl Strategy<Value = String> {
        (
            prop_oneof![Just("https"), Just("HTTPS"), Just("http"), Just("HtTp")],
            prop_oneof![
                Just("mcp.example.com"),
                Just("MCP.Example.COM"),
                Just("127.0.0.1"),
                Just("localhost"),
                Just("[::1]"),
                Just("evil.example"),
            ],
            prop_oneof![Just(""), Just(":443"), Just(":80"), Just(":8443")],
            "(/[a-zA-Z0-9._~%-]{0,6}){0,4}",
            prop_oneof![Just(""), Just("?q=1"), Just("#frag"), Just("")],
        )
            .prop_map(|(scheme, host, port, path, tail)| {
                format!("{scheme}://{host}{port}{path}{tail}")
            })
    }

    proptest! {
        /// Normalising twice changes nothing, and what is accepted is https,
        /// or http to this computer, with no query or fragment.
        #[test]
        fn normalisation_is_idempotent_and_strict(input in url_strategy()) {
            if let Ok(once) = normalize_server_url(&input) {
                prop_assert_eq!(normalize_server_url(&once).ok(), Some(once.clone()));
                prop_assert!(!once.contains('?') && !once.contains('#'));
                let parsed = url::Url::parse(&once).expect("parses");
                let local = parsed.host().is_some_and(super::is_loopback);
                prop_assert!(parsed.scheme() == "https" || (parsed.scheme() == "http" && local));
                prop_assert_eq!(parsed.scheme(), parsed.scheme().to_ascii_lowercase());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        normalize_server_url(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn rejected(input: &str) -> String {
        match normalize_server_url(input) {
            Ok(url) => panic!("{input} was accepted as {url}"),
            Err(error) => {
                assert_eq!(error.code(), "invalid_input");
                error.to_string()
            }
        }
    }

    #[test]
    fn normalises_scheme_host_and_default_port() {
        assert_eq!(
            ok("HTTPS://API.Example.COM:443/MCP"),
            "https://api.example.com/MCP"
        );
        assert_eq!(ok("  https://a.example/mcp  "), "https://a.example/mcp");
        assert_eq!(ok("https://a.example"), "https://a.example/");
        assert_eq!(ok("https://a.example:8443/x/"), "https://a.example:8443/x/");
        assert_ne!(ok("https://a.example/x"), ok("https://a.example/x/"));
        assert_eq!(ok("http://LOCALHOST:80/mcp"), "http://localhost/mcp");
        assert_eq!(ok("http://127.0.0.2:9000/sse"), "http://127.0.0.2:9000/sse");
        assert_eq!(ok("http://[::1]:9000/mcp"), "http://[::1]:9000/mcp");
    }

    #[test]
    fn rejects_what_a_credential_url_must_not_have() {
        assert!(rejected("http://example.com/mcp").contains("https"));
        assert!(rejected("http://10.0.0.1/mcp").contains("https"));
        assert!(rejected("ftp://example.com").contains("not supported"));
        assert!(rejected("https://user:pw@example.com/").contains("user name"));
        assert!(rejected("https://user@example.com/").contains("user name"));
        assert!(rejected("https://example.com/mcp?x=1").contains("query"));
        assert!(rejected("https://example.com/mcp?").contains("query"));
        assert!(rejected("https://example.com/mcp#top").contains('#'));
        assert!(rejected("not a url").contains("not a web address"));
        assert!(rejected("").contains("Enter the address"));
        assert!(rejected(&format!("https://a.example/{}", "x".repeat(3000))).contains("too long"));
        // Paths the proxy and the bridge would never send a token to.
        for path in [
            "/a;b/mcp",
            "/a/..;/b",
            "/%252e%252e/mcp",
            "/a%2fb",
            "/a%5Cb",
            "//mcp",
            "/a//b",
        ] {
            let said = rejected(&format!("https://example.com{path}"));
            assert!(said.contains("never sends a token"), "{path}: {said}");
        }
    }

    #[test]
    fn guesses_protocol_from_path() {
        use crate::model::Protocol;
        assert_eq!(guess_protocol("https://a.example/sse"), Protocol::Sse);
        assert_eq!(guess_protocol("https://a.example/v1/SSE/"), Protocol::Sse);
        assert_eq!(
            guess_protocol("https://a.example/mcp"),
            Protocol::StreamableHttp
        );
    }

    #[test]
    fn localhost_is_pinned_to_the_address_our_server_listens_on() {
        // Only IPv6: another program could take 127.0.0.1 on this port.
        let v6 = std::net::TcpListener::bind("[::1]:0").expect("bind ::1");
        let port = v6.local_addr().expect("addr").port();
        assert_eq!(
            pin_localhost(&ok(&format!("http://localhost:{port}/mcp"))),
            format!("http://[::1]:{port}/mcp")
        );
        // IPv4 (also when both are there).
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = v4.local_addr().expect("addr").port();
        assert_eq!(
            pin_localhost(&ok(&format!("http://LOCALHOST:{port}/sse"))),
            format!("http://127.0.0.1:{port}/sse")
        );
        // Nothing listens yet: the usual address.
        drop(v4);
        assert_eq!(
            pin_localhost(&ok(&format!("http://localhost:{port}/mcp"))),
            format!("http://127.0.0.1:{port}/mcp")
        );
        // Everything else is left as it is.
        for url in [
            "https://localhost:8443/mcp",
            "https://mcp.example.com/mcp",
            "http://127.0.0.1:9/x",
            "http://[::1]:9/x",
        ] {
            assert_eq!(pin_localhost(&ok(url)), ok(url));
        }
    }
}
