//! The HTTP side of sign-in, on the proxy's own client as `probe` is
//! (`upstream::blocking`): 10-second deadlines, redirects never followed,
//! no proxy from the environment for addresses on this computer (and their
//! listener checked, see `loopback`), and every address held to Keybearer's
//! rule (https, or http to loopback).
//!
//! Bodies that carry secrets (form posts, token answers) live in
//! `Zeroizing` buffers sized up front, so no reallocation leaves a copy
//! behind. hyper's own buffers are not zeroised (the same known limit as the
//! proxy's, docs/architecture.md "A token's path").

use std::cell::OnceCell;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{Method, Request};
use http_body_util::Full;
use url::Url;
use zeroize::Zeroizing;

use keybearer_net::upstream::blocking::{secret_body, BlockingClient, Failure};

use super::error::OAuthError;
use super::OAuthSecret;

pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a token, registration or revocation endpoint.
pub(crate) const MAX_ANSWER: usize = 64 * 1024;
/// Largest metadata document read.
pub(crate) const MAX_DOCUMENT: usize = 512 * 1024;
const MAX_SHOWN_URL: usize = 200;

/// Checks an address a server gave (or the user typed) against Keybearer's
/// rule: https, or http only to this computer; no user name, no fragment.
/// `what` names it for the message ("The sign-in service").
pub(crate) fn check_url(what: &str, input: &str) -> Result<Url, OAuthError> {
    let shown = shorten(input.trim());
    let url = Url::parse(input.trim())
        .map_err(|_| OAuthError::bad(what, format!("\"{shown}\" is not a web address")))?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(OAuthError::InsecureUrl(format!(
                "{what} is at {shown}, which uses plain http://. Keybearer signs in only over https:// (plain http:// only to services on this computer), so that codes and tokens are never sent unencrypted."
            )))
        }
        other => {
            return Err(OAuthError::InsecureUrl(format!(
                "{what} is at a \"{other}://\" address ({shown}). Keybearer signs in only over https://."
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(OAuthError::bad(
            what,
            format!("\"{shown}\" has no server name"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OAuthError::bad(
            what,
            "its address contains a user name or password",
        ));
    }
    if url.fragment().is_some() {
        return Err(OAuthError::bad(what, "its address contains a \"#\" part"));
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    url.host()
        .is_some_and(keybearer_base::server_url::is_loopback)
}

/// An address cut for a message, without control or bidirectional
/// characters: a server chooses it, and the message may be printed on a
/// terminal.
pub(crate) fn shorten(url: &str) -> String {
    let url = keybearer_base::text::printable(url);
    if url.len() <= MAX_SHOWN_URL {
        return url;
    }
    let mut end = MAX_SHOWN_URL;
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &url[..end])
}

/// `scheme://host[:port]` of an address, for naming it without its path and query.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// One answer, read whole (up to a limit).
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
}

impl Answer {
    pub(crate) fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// A redirect as an error naming only where it pointed (its origin).
    pub(crate) fn redirect_error(&self, what: &str, base: &Url) -> OAuthError {
        OAuthError::Redirected {
            what: what.to_string(),
            target: location_origin(&self.headers, base),
        }
    }

    pub(crate) fn refuse_redirect(self, what: &str, base: &Url) -> Result<Self, OAuthError> {
        if self.is_redirect() {
            Err(self.redirect_error(what, base))
        } else {
            Ok(self)
        }
    }

    pub(crate) fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect()
    }
}

/// Where a redirect's `Location` points, by its origin only.
pub(crate) fn location_origin(headers: &HeaderMap, base: &Url) -> String {
    headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|location| base.join(location).ok())
        .map(|url| origin(&url))
        .unwrap_or_else(|| "another address".to_string())
}

/// What a POST sends.
pub(crate) enum Payload {
    /// `application/x-www-form-urlencoded`, already encoded (see [`form`]).
    Form(Zeroizing<Vec<u8>>),
    Json(Vec<u8>),
}

/// The client of one operation (its connections are reused), built on
/// first use.
pub(crate) struct Http {
    client: OnceCell<BlockingClient>,
}

impl Http {
    pub(crate) fn new() -> Self {
        Self {
            client: OnceCell::new(),
        }
    }

    fn client(&self, what: &str) -> Result<&BlockingClient, OAuthError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = BlockingClient::new().map_err(|failure| transport(what, failure))?;
        Ok(self.client.get_or_init(|| client))
    }

    pub(crate) fn get(
        &self,
        what: &str,
        url: &Url,
        accept: &str,
        limit: usize,
    ) -> Result<Answer, OAuthError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url.as_str())
            .header(ACCEPT, accept)
            .body(Full::new(Bytes::new()));
        self.send(what, url, request, limit)
    }

    /// GETs only the answer's status and headers; its body (an event
    /// stream may never end) is not read.
    pub(crate) fn get_head(
        &self,
        what: &str,
        url: &Url,
        accept: &str,
    ) -> Result<(u16, HeaderMap), OAuthError> {
        if is_loopback(url) {
            keybearer_platform::loopback::check_url_listeners(url).map_err(|refusal| {
                OAuthError::Unreachable {
                    what: what.to_string(),
                    cause: refusal,
                }
            })?;
        }
        let request = Request::builder()
            .method(Method::GET)
            .uri(url.as_str())
            .header(ACCEPT, accept)
            .body(Full::new(Bytes::new()))
            .map_err(|_| OAuthError::bad(what, "its address cannot be used"))?;
        let mut response = self
            .client(what)?
            .send(request, TIMEOUT)
            .map_err(|failure| transport(what, failure))?;
        Ok((
            response.status.as_u16(),
            std::mem::take(&mut response.headers),
        ))
    }

    /// POSTs `payload`; `basic` is the client_secret_basic header value.
    pub(crate) fn post(
        &self,
        what: &str,
        url: &Url,
        payload: Payload,
        basic: Option<HeaderValue>,
        accept: &str,
        limit: usize,
    ) -> Result<Answer, OAuthError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(url.as_str())
            .header(ACCEPT, accept);
        if let Some(basic) = basic {
            request = request.header(AUTHORIZATION, basic);
        }
        let request = match payload {
            // The buffer is wiped once hyper has sent it.
            Payload::Form(body) => request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(secret_body(body)),
            Payload::Json(body) => request
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body))),
        };
        self.send(what, url, request, limit)
    }

    fn send(
        &self,
        what: &str,
        url: &Url,
        request: http::Result<Request<Full<Bytes>>>,
        limit: usize,
    ) -> Result<Answer, OAuthError> {
        if is_loopback(url) {
            keybearer_platform::loopback::check_url_listeners(url).map_err(|refusal| {
                OAuthError::Unreachable {
                    what: what.to_string(),
                    cause: refusal,
                }
            })?;
        }
        let request = request.map_err(|_| OAuthError::bad(what, "its address cannot be used"))?;
        let mut response = self
            .client(what)?
            .send(request, TIMEOUT)
            .map_err(|failure| transport(what, failure))?;
        let mut body = Zeroizing::new(Vec::with_capacity(limit.min(MAX_ANSWER) + 1));
        let whole = response
            .read_to(&mut body, limit)
            .map_err(|failure| transport(what, failure))?;
        if !whole {
            return Err(OAuthError::bad(
                what,
                format!("the answer is larger than {} KiB", limit / 1024),
            ));
        }
        Ok(Answer {
            status: response.status.as_u16(),
            headers: std::mem::take(&mut response.headers),
            body,
        })
    }
}

/// No answer: too slow, or the cause (DNS, refused, TLS), which names the
/// address or the reason, never headers or bodies.
fn transport(what: &str, failure: Failure) -> OAuthError {
    match failure {
        Failure::Timeout => OAuthError::Timeout {
            what: what.to_string(),
            seconds: TIMEOUT.as_secs(),
        },
        Failure::Failed(cause) => OAuthError::Unreachable {
            what: what.to_string(),
            cause,
        },
    }
}

/// `application/x-www-form-urlencoded` of `pairs`, in a buffer sized for the
/// worst case so that it never reallocates.
pub(crate) fn form(pairs: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let capacity = pairs
        .iter()
        .map(|(name, value)| 3 * (name.len() + value.len()) + 2)
        .sum();
    let mut serializer = url::form_urlencoded::Serializer::new(String::with_capacity(capacity));
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    Zeroizing::new(serializer.finish().into_bytes())
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1), marked sensitive.
pub(crate) fn basic_auth(client_id: &str, secret: &OAuthSecret) -> Result<HeaderValue, OAuthError> {
    let mut pair = Zeroizing::new(String::with_capacity(
        3 * (client_id.len() + secret.expose_secret().len()) + 1,
    ));
    pair.extend(url::form_urlencoded::byte_serialize(client_id.as_bytes()));
    pair.push(':');
    pair.extend(url::form_urlencoded::byte_serialize(
        secret.expose_secret().as_bytes(),
    ));
    let encoded = Zeroizing::new(data_encoding::BASE64.encode(pair.as_bytes()));
    let mut header = Zeroizing::new(String::with_capacity(encoded.len() + 6));
    header.push_str("Basic ");
    header.push_str(&encoded);
    let mut value = HeaderValue::from_str(&header)
        .map_err(|_| OAuthError::invalid("client_secret", "The client secret cannot be sent."))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_https_or_loopback_rule() {
        assert!(check_url("x", "https://as.example/authorize?a=1").is_ok());
        assert!(check_url("x", "http://127.0.0.1:9/token").is_ok());
        assert!(check_url("x", "http://[::1]:9/token").is_ok());
        assert!(check_url("x", "http://localhost/token").is_ok());
        let plain = check_url("The sign-in service", "http://as.example/").expect_err("refused");
        assert_eq!(plain.code(), "oauth_insecure_url");
        assert!(plain.to_string().contains("http://as.example/"), "{plain}");
        assert_eq!(
            check_url("x", "ftp://as.example/")
                .expect_err("refused")
                .code(),
            "oauth_insecure_url"
        );
        assert_eq!(
            check_url("x", "https://u:p@as.example/")
                .expect_err("refused")
                .code(),
            "oauth_bad_response"
        );
        assert!(check_url("x", "https://as.example/#x").is_err());
        assert!(check_url("x", "not a url").is_err());
    }

    #[test]
    fn forms_and_basic_auth_are_encoded() {
        let body = form(&[("a", "b c"), ("d", "é&=")]);
        assert_eq!(body.as_slice(), b"a=b+c&d=%C3%A9%26%3D");
        let value = basic_auth("id:1", &OAuthSecret::new("s e".into())).expect("header");
        assert!(value.is_sensitive());
        let expected = format!("Basic {}", data_encoding::BASE64.encode(b"id%3A1:s+e"));
        assert_eq!(value.to_str().expect("ascii"), expected);
    }
}
