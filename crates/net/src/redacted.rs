//! An upstream answer's body with the request's secrets covered as it
//! streams (docs/architecture.md, "Echoed secrets"): the proxy hands it to
//! the agent, the bridge reads the server's messages from it.
//!
//! Flow: every data frame goes through a `keybearer_base::echo::Redactor`
//! (any chunking; at most the longest needle less one byte held back, the
//! rest passed on at once, the same buffer when nothing was found); at the
//! end the held bytes follow, then the trailers, their values covered too
//! and a field whose name holds a secret dropped. The first cover calls
//! `report` once (the sender records `credential.echoed`). Covers keep the
//! length, so the size hint (and a `Content-Length`) stays true.
//!
//! Limits: the body must be unencoded; the sender asks for that
//! (`Accept-Encoding: identity`) and refuses an answer that comes
//! compressed all the same, since compressed bytes cannot be searched.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING};
use hyper::body::{Body, Frame, SizeHint};
use keybearer_base::echo::{Needles, Redactor};

/// A body whose secrets are covered; `R` is called at the first cover.
pub struct Redacted<B, R> {
    inner: B,
    redactor: Redactor,
    report: Option<R>,
    trailers: Option<HeaderMap>,
    ended: bool,
}

impl<B, R: FnOnce()> Redacted<B, R> {
    pub fn new(inner: B, needles: Arc<Needles>, report: R) -> Self {
        Self {
            inner,
            redactor: Redactor::new(needles),
            report: Some(report),
            trailers: None,
            ended: false,
        }
    }

    fn reported(&mut self) {
        if self.redactor.covered() > 0 {
            if let Some(report) = self.report.take() {
                report();
            }
        }
    }
}

impl<B, R> Body for Redacted<B, R>
where
    B: Body<Data = Bytes> + Unpin,
    R: FnOnce() + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        loop {
            if self.ended {
                let rest = self.redactor.finish();
                if !rest.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(rest))));
                }
                return Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                None => self.ended = true,
                // The held bytes (a needle's beginning at most) go nowhere.
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let out = self.redactor.push(data);
                        self.reported();
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(frame) => {
                        if let Ok(mut trailers) = frame.into_trailers() {
                            if redact_headers(self.redactor.needles(), &mut trailers) {
                                if let Some(report) = self.report.take() {
                                    report();
                                }
                            }
                            self.trailers = Some(trailers);
                        }
                        self.ended = true;
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.redactor.held() == 0
            && self.trailers.is_none()
            && (self.ended || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        // Covers keep the length; what is held was counted by the inner body.
        let mut hint = self.inner.size_hint();
        let held = self.redactor.held() as u64;
        hint.set_lower(hint.lower().saturating_add(held));
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper.saturating_add(held));
        }
        hint
    }
}

/// Covers the secrets in `headers`' values and drops a field whose name
/// holds one (names are read in lower case, so any case counts); true if
/// there was any.
pub fn redact_headers(needles: &Needles, headers: &mut HeaderMap) -> bool {
    if needles.is_empty() {
        return false;
    }
    let mut found = false;
    let named: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| needles.occurs_in_ignoring_case(name.as_str().as_bytes()))
        .cloned()
        .collect();
    for name in named {
        headers.remove(name);
        found = true;
    }
    for value in headers.values_mut() {
        if let Some((covered, _)) = needles.redact(value.as_bytes()) {
            // A cover is visible ASCII, so this always takes the first arm.
            *value = HeaderValue::from_bytes(&covered)
                .unwrap_or_else(|_| HeaderValue::from_static("[redacted by Keybearer]"));
            found = true;
        }
    }
    found
}

/// A body in any content coding but `identity`: it cannot be searched.
pub fn is_encoded(headers: &HeaderMap) -> bool {
    headers.get_all(CONTENT_ENCODING).iter().any(|value| {
        !value
            .to_str()
            .is_ok_and(|value| value.trim().eq_ignore_ascii_case("identity"))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::BodyExt;

    use super::*;

    const TOKEN: &str = "0123456789abcdefghij";

    /// A body that yields these frames, one per poll.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    /// These chunks, then trailers with the token in a value and a name.
    fn upstream(chunks: &[&'static str]) -> Frames {
        let mut frames: VecDeque<Frame<Bytes>> = chunks
            .iter()
            .map(|chunk| Frame::data(Bytes::from_static(chunk.as_bytes())))
            .collect();
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checked", format!("Bearer {TOKEN}").parse().unwrap());
        trailers.insert(
            http::HeaderName::from_bytes(format!("x-{TOKEN}").as_bytes()).unwrap(),
            HeaderValue::from_static("1"),
        );
        frames.push_back(Frame::trailers(trailers));
        Frames(frames)
    }

    #[tokio::test]
    async fn secrets_are_covered_across_frames_and_in_trailers_and_reported_once() {
        let needles = Arc::new(Needles::from_headers([(
            "authorization",
            format!("Bearer {TOKEN}").as_bytes(),
        )]));
        let reports = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reports);
        let body = Redacted::new(
            upstream(&["a 01234", "56789abc", "defghij b ", TOKEN, " c 0123"]),
            needles,
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
            },
        );
        let collected = body.collect().await.unwrap();
        let trailers = collected.trailers().cloned().unwrap();
        let bytes = collected.to_bytes();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(text.len(), "a  b  c 0123".len() + 40);
        assert!(!text.contains(TOKEN), "{text}");
        assert!(
            text.ends_with(" c 0123"),
            "a beginning never completed goes out"
        );
        assert!(!format!("{trailers:?}").contains(TOKEN));
        assert_eq!(trailers.len(), 1, "the field named after the token is gone");
        assert_eq!(reports.load(Ordering::SeqCst), 1);
    }
}
