//! `proxy_head`: a request head as an agent sends it to a session's
//! listener, after the addresses the upstream named so far.
//!
//! Input: an HTTP/1.1 request head (up to its blank line; `$SECRET` stands
//! for the session's secret, which the fuzzer cannot guess), then lines,
//! each an address the upstream named (an SSE `endpoint`, a `Location`),
//! judged and learned first. The credential is
//! `https://mcp.example.com/v1/mcp` on listener port 4567.
//!
//! Properties: an address is learned only on the upstream's origin, in the
//! credential's folder, on a path that reads one way, and exactly when the
//! shared rule (`reach::check`) allows it; a head is let through only with
//! the listener as its one host, GET/POST/DELETE, exactly the session's
//! secret and an allowed path; what goes upstream keeps the agent's path
//! and query and method, has the upstream's `Host`, no `Authorization`, no
//! hop-by-hop, `Proxy-*` or forwarding header (nor any named in
//! `Connection`), asks for an unencoded answer, and carries the secret in
//! no header the proxy added or kept from `Authorization`.

use http::header::{HeaderName, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONNECTION, HOST};
use http::{Method, Request, Version};
use url::Url;

use keybearer_base::reach;
use keybearer_proxy::fuzzing::{Listener, Named};

const CREDENTIAL: &str = "https://mcp.example.com/v1/mcp";
const PORT: u16 = 4567;

const DROPPED: [&str; 13] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-forwarded-port",
];

pub fn proxy_head(data: &[u8]) {
    let credential = Url::parse(CREDENTIAL).expect("the credential URL");
    let listener = Listener::new(&credential, PORT).expect("a listener's rules");
    let (head, named) = match data.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => data.split_at(end + 4),
        None => (data, &b""[..]),
    };
    let mut learned = std::collections::BTreeSet::new();
    for line in named.split(|b| *b == b'\n') {
        let Ok(address) = std::str::from_utf8(line) else {
            continue;
        };
        if let Some(path) = upstream_named(&listener, &credential, address) {
            learned.insert(path);
            // The listener keeps at most 32 learned paths.
            assert!(learned.len() > 32 || learned.iter().all(|p| listener.allows(p)));
        }
    }
    let secret = listener.secret().to_string();
    let head = replace(head, b"$SECRET", secret.as_bytes());
    let Some(parts) = parse(&head) else {
        return;
    };
    let before = parts.clone();
    match listener.forward(parts) {
        Err(_) => {}
        Ok(after) => admitted(&listener, &secret, &before, &after),
    }
}

/// The path learned, if any.
fn upstream_named(listener: &Listener, credential: &Url, address: &str) -> Option<String> {
    let shared = reach::check(credential, address);
    match listener.upstream_named(address) {
        Named::Learned(path) => {
            let allowed = shared.expect("learned only what the shared rule allows");
            assert_eq!(allowed.path(), path);
            assert!(path.starts_with("/v1/"), "outside the folder: {path:?}");
            assert!(
                reach::is_clean(&path),
                "learned a path read two ways: {path:?}"
            );
            if let Some(local) = listener.to_listener(address) {
                let local = Url::parse(&local).expect("a rewritten address parses");
                assert_eq!(
                    local.origin().ascii_serialization(),
                    "http://127.0.0.1:4567"
                );
                assert_eq!(local.path(), path, "rewritten to another path");
            }
            Some(path)
        }
        Named::Elsewhere => {
            assert_eq!(shared, Err(reach::Refused::OtherServer));
            None
        }
        Named::Outside(what) => {
            let refused = shared.expect_err("refused what the shared rule refuses");
            assert_eq!(what, refused.to_string());
            None
        }
    }
}

fn admitted(
    listener: &Listener,
    secret: &str,
    before: &http::request::Parts,
    after: &http::request::Parts,
) {
    // Who may be let through.
    let hosts: Vec<&HeaderValue> = before.headers.get_all(HOST).iter().collect();
    assert_eq!(hosts.len(), 1, "one Host header");
    let host = hosts[0]
        .to_str()
        .expect("a readable Host")
        .to_ascii_lowercase();
    assert!(
        host == "127.0.0.1:4567" || host == "localhost:4567",
        "admitted for host {host:?}"
    );
    if let Some(authority) = before.uri.authority() {
        let authority = authority.as_str().to_ascii_lowercase();
        assert!(authority == "127.0.0.1:4567" || authority == "localhost:4567");
    }
    assert!(matches!(
        before.method,
        Method::GET | Method::POST | Method::DELETE
    ));
    let presented: Vec<&HeaderValue> = before.headers.get_all(AUTHORIZATION).iter().collect();
    assert_eq!(presented.len(), 1, "one Authorization header");
    let presented = presented[0].as_bytes();
    assert!(presented[..7].eq_ignore_ascii_case(b"bearer "));
    assert_eq!(presented[7..].trim_ascii(), secret.as_bytes());
    let path = before.uri.path();
    assert!(
        reach::is_clean(path),
        "admitted a path read two ways: {path:?}"
    );
    assert!(listener.allows(path));
    assert!(path == "/v1/mcp" || path.starts_with("/v1/"), "{path:?}");

    // What goes upstream.
    assert_eq!(after.method, before.method);
    assert_eq!(after.version, Version::HTTP_11);
    assert!(after.uri.scheme().is_none() && after.uri.authority().is_none());
    assert_eq!(after.uri.path(), before.uri.path());
    assert_eq!(after.uri.query(), before.uri.query());
    assert_eq!(after.headers.get_all(HOST).iter().count(), 1);
    assert_eq!(after.headers.get(HOST), Some(listener.upstream_host()));
    assert_eq!(
        after
            .headers
            .get(ACCEPT_ENCODING)
            .map(HeaderValue::as_bytes),
        Some(&b"identity"[..])
    );
    assert!(after.headers.get(AUTHORIZATION).is_none());
    for name in after.headers.keys() {
        let name = name.as_str();
        assert!(!DROPPED.contains(&name), "{name} went upstream");
        assert!(!name.starts_with("proxy-"), "{name} went upstream");
    }
    for named in before
        .headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
    {
        assert!(
            after.headers.get(&named).is_none(),
            "{named} was named in Connection and went upstream"
        );
    }
    // Every header that goes upstream is one the agent sent (other than
    // the three the proxy sets), so the secret leaves only where the agent
    // itself copied it.
    for (name, value) in &after.headers {
        if name == HOST || name == ACCEPT_ENCODING {
            continue;
        }
        assert!(
            before
                .headers
                .get_all(name)
                .iter()
                .any(|sent| sent == value),
            "{name} was not sent by the agent"
        );
    }
}

/// The head as hyper reads it: `None` where hyper answers 400.
fn parse(head: &[u8]) -> Option<http::request::Parts> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(_) = request.parse(head).ok()? else {
        return None;
    };
    let mut builder = Request::builder()
        .method(Method::from_bytes(request.method?.as_bytes()).ok()?)
        .uri(request.path?)
        .version(if request.version? == 0 {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        });
    for header in request.headers.iter() {
        builder = builder.header(
            HeaderName::from_bytes(header.name.as_bytes()).ok()?,
            HeaderValue::from_bytes(header.value).ok()?,
        );
    }
    Some(builder.body(()).ok()?.into_parts().0)
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}
