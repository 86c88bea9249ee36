//! Header rules at the proxy boundary: hop-by-hop headers never cross it,
//! and a request must name the listener itself as its host.

use http::header::{
    HeaderMap, HeaderName, CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::Uri;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1),
/// plus the non-standard ones proxies commonly see. `Proxy-*` is matched by
/// prefix. Names made once, not parsed per request.
const HOP_BY_HOP: [HeaderName; 7] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    TE,
    TRAILER,
    HeaderName::from_static("trailers"),
    TRANSFER_ENCODING,
    UPGRADE,
];

/// Removes hop-by-hop headers, including every header named in `Connection`.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    if headers
        .keys()
        .any(|name| name.as_str().starts_with("proxy-"))
    {
        let proxy_headers: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("proxy-"))
            .cloned()
            .collect();
        for name in proxy_headers {
            headers.remove(name);
        }
    }
}

/// DNS-rebinding guard: a browser tricked into calling the listener sends the
/// attacker's host name, so only `127.0.0.1:PORT` and `localhost:PORT` pass.
/// An absolute-form request target must name the listener too.
pub(crate) fn host_is_listener(headers: &HeaderMap, uri: &Uri, port: u16) -> bool {
    let is_listener = |host: &str| {
        let Some((name, host_port)) = host.rsplit_once(':') else {
            return false;
        };
        host_port.parse::<u16>().ok() == Some(port)
            && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
    };
    let mut hosts = headers.get_all(HOST).iter();
    let header_ok = match (hosts.next(), hosts.next()) {
        (Some(value), None) => value.to_str().is_ok_and(is_listener),
        _ => false,
    };
    let target_ok = uri
        .authority()
        .is_none_or(|authority| is_listener(authority.as_str()));
    header_ok && target_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_go() {
        let mut headers = map(&[
            ("connection", "keep-alive, X-Private-Hop"),
            ("connection", "close"),
            ("keep-alive", "timeout=5"),
            ("x-private-hop", "1"),
            ("proxy-authorization", "Basic abc"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("mcp-session-id", "abc"),
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
        ]);
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "content-type", "mcp-session-id"]);
    }

    #[test]
    fn only_the_listener_is_an_acceptable_host() {
        let origin: Uri = "/mcp".parse().expect("uri");
        let ok = |host: &str| host_is_listener(&map(&[("host", host)]), &origin, 4567);
        assert!(ok("127.0.0.1:4567"));
        assert!(ok("localhost:4567"));
        assert!(ok("LOCALHOST:4567"));
        assert!(!ok("127.0.0.1:4568"));
        assert!(!ok("127.0.0.1"));
        assert!(!ok("evil.example:4567"));
        assert!(!ok("127.0.0.1.evil.example:4567"));
        assert!(!ok("[::1]:4567"));
        assert!(!host_is_listener(&HeaderMap::new(), &origin, 4567));
        let two = map(&[("host", "127.0.0.1:4567"), ("host", "evil.example:4567")]);
        assert!(!host_is_listener(&two, &origin, 4567));

        let absolute: Uri = "http://evil.example:4567/mcp".parse().expect("uri");
        assert!(!host_is_listener(
            &map(&[("host", "127.0.0.1:4567")]),
            &absolute,
            4567
        ));
        let own: Uri = "http://127.0.0.1:4567/mcp".parse().expect("uri");
        assert!(host_is_listener(
            &map(&[("host", "127.0.0.1:4567")]),
            &own,
            4567
        ));
    }
}
