//! Asking the MCP Registry for its list: `GET {registry}/v0.1/servers` with
//! `limit=100&version=latest` (and `updated_since` for an update, `cursor`
//! for the next page), page after page, through the one HTTP client of the
//! codebase (`upstream::blocking`: redirects never followed, plain http only
//! to this computer, a loopback listener checked to be a trusted user's).
//!
//! What is sent: the list request and nothing else — `Host`, `Accept:
//! application/json` and `User-Agent: keybearer/<version>`; no cookie, no
//! token, no install id, nothing about the user's credentials or vaults.
//!
//! Each answer must be `200` with a body of at most [`MAX_PAGE_BYTES`]
//! (reading stops there) that the catalog's reader accepts; anything else —
//! no answer before the deadline, a redirect, another status, a refused page
//! — refuses the whole refresh, with a reason in plain words. Pages are
//! gathered by [`RegistryCollection`] (its limits: 2,000 servers, 100 pages,
//! a repeated cursor).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{Request, StatusCode};
use http_body_util::Full;
use keybearer_server_catalog::{
    parse_registry_page, RegistryCollection, RegistryError, MAX_PAGE_BYTES,
};
use url::Url;

use crate::model::Timestamp;
use crate::upstream::blocking::{BlockingClient, Failure};

/// Servers asked for per page (the official registry's most).
const PAGE_LIMIT: &str = "100";

/// Why a refresh was refused, in words that follow "The MCP Registry at X".
#[derive(Debug)]
pub(super) struct Refused(pub String);

/// How long a refresh may take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Each request, from sending it to the end of its answer.
    pub per_request: Duration,
    /// The whole refresh, every page.
    pub total: Duration,
}

/// The list (or, with `since`, what changed since then), every page.
pub(super) fn list(
    registry: &str,
    since: Option<Timestamp>,
    limits: Limits,
) -> Result<RegistryCollection, Refused> {
    let deadline = Instant::now() + limits.total;
    let client = BlockingClient::new()
        .map_err(|failure| Refused(failure_words(&failure, limits.per_request)))?;
    let mut collection = RegistryCollection::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = page_url(registry, since, cursor.as_deref())?;
        let body = get(&client, &url, limits, deadline)?;
        let page = parse_registry_page(&body).map_err(|error| Refused(answer_words(&error)))?;
        match collection.add(page) {
            Some(next) => cursor = Some(next),
            None => return Ok(collection),
        }
    }
}

fn page_url(
    registry: &str,
    since: Option<Timestamp>,
    cursor: Option<&str>,
) -> Result<Url, Refused> {
    let mut url = Url::parse(&format!("{registry}/v0.1/servers"))
        .map_err(|_| Refused("has an address Keybearer cannot use".to_string()))?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("limit", PAGE_LIMIT);
        query.append_pair("version", "latest");
        if let Some(since) = since {
            query.append_pair("updated_since", &whole_seconds(since).to_rfc3339());
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
    }
    Ok(url)
}

/// RFC 3339 without a fraction (what every registry parses).
fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp(at.0 - at.0.rem_euclid(1000))
}

/// One page's body, or why there is none.
fn get(
    client: &BlockingClient,
    url: &Url,
    limits: Limits,
    deadline: Instant,
) -> Result<Vec<u8>, Refused> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Refused(format!(
            "did not send its whole list within {} seconds",
            limits.total.as_secs()
        )));
    }
    let timeout = limits.per_request.min(left);
    let request = Request::get(url.as_str())
        .header(ACCEPT, "application/json")
        .body(Full::new(Bytes::new()))
        .map_err(|_| Refused("has an address Keybearer cannot use".to_string()))?;
    // The words for a timeout: this request's own limit, or the whole
    // refresh's when that came first.
    let bound = if timeout < limits.per_request {
        limits.total
    } else {
        limits.per_request
    };
    let mut answer = client
        .send(request, timeout)
        .map_err(|failure| Refused(failure_words(&failure, bound)))?;
    if answer.status.is_redirection() {
        return Err(Refused(format!(
            "sent the request to another address (HTTP {}), which Keybearer does not follow",
            answer.status.as_u16()
        )));
    }
    if answer.status != StatusCode::OK {
        return Err(Refused(format!(
            "answered with an error (HTTP {})",
            answer.status.as_u16()
        )));
    }
    let mut body = Vec::new();
    let whole = answer
        .read_to(&mut body, MAX_PAGE_BYTES + 1)
        .map_err(|failure| Refused(failure_words(&failure, bound)))?;
    if !whole || body.len() > MAX_PAGE_BYTES {
        return Err(Refused(format!(
            "sent a page bigger than the {} MiB Keybearer reads",
            MAX_PAGE_BYTES / (1024 * 1024)
        )));
    }
    Ok(body)
}

fn failure_words(failure: &Failure, timeout: Duration) -> String {
    match failure {
        Failure::Timeout => format!("did not answer within {} seconds", timeout.as_secs().max(1)),
        Failure::Failed(cause) => format!(
            "could not be reached ({})",
            crate::text::printable(cause)
                .chars()
                .take(200)
                .collect::<String>()
        ),
    }
}

fn answer_words(error: &RegistryError) -> String {
    match error {
        RegistryError::TooBig { size } => {
            format!("sent a page of {size} bytes, more than the {MAX_PAGE_BYTES} Keybearer reads")
        }
        RegistryError::NotJson { detail } => format!("sent something that is not JSON ({detail})"),
        RegistryError::WrongShape { detail } => {
            format!("sent something that is not a list of servers ({detail})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_for_the_list_only() {
        let first = page_url("https://registry.example.com", None, None).expect("url");
        assert_eq!(
            first.as_str(),
            "https://registry.example.com/v0.1/servers?limit=100&version=latest"
        );
        let next = page_url(
            "http://127.0.0.1:9/mirror",
            Some(Timestamp(1_786_000_000_123)),
            Some("io.github.a/b:1.0.0 &x=y"),
        )
        .expect("url");
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:9/mirror/v0.1/servers?limit=100&version=latest&updated_since=2026-08-06T07%3A06%3A40Z&cursor=io.github.a%2Fb%3A1.0.0+%26x%3Dy"
        );
    }
}
