//! The sign-in listener's request parsing and answers (listener.rs).

use super::*;

fn start_path() -> OAuthSecret {
    OAuthSecret::new("/start/abcDEF123".into())
}

fn callback(head: &[u8]) -> Callback {
    match parse_request(head, &start_path(), CALLBACK_PATH) {
        Request::Callback(callback) => callback,
        _ => panic!("not a callback: {}", String::from_utf8_lossy(head)),
    }
}

fn is_other(head: &[u8]) -> bool {
    matches!(
        parse_request(head, &start_path(), CALLBACK_PATH),
        Request::Other
    )
}

#[test]
fn the_callback_path_is_an_answer() {
    let head = b"GET /callback?code=c%2B1&state=s&iss=https%3A%2F%2Fas.example HTTP/1.1\r\nHost: x\r\n\r\n";
    let answer = callback(head);
    assert_eq!(answer.code.expect("code").expose_secret(), "c+1");
    assert_eq!(answer.state.expect("state").expose_secret(), "s");
    assert_eq!(answer.iss.as_deref(), Some("https://as.example"));
    let without_state = callback(b"GET /callback?code=x HTTP/1.1\r\n\r\n");
    assert!(without_state.state.is_none() && without_state.code.is_some());
    let twice = callback(b"GET /callback?code=a&code=b&state=s HTTP/1.1\r\n\r\n");
    assert!(twice.state.is_none(), "an ambiguous answer loses its state");
    let denied = callback(b"GET /callback?error=access_denied&state=s HTTP/1.1\r\n\r\n");
    assert_eq!(denied.error.as_deref(), Some("access_denied"));
    assert!(is_other(b"GET /favicon.ico HTTP/1.1\r\n\r\n"));
    assert!(is_other(b"POST /callback?code=x HTTP/1.1\r\n\r\n"));
    assert!(is_other(b"GET /callback/x?state=s HTTP/1.1\r\n\r\n"));
}

#[test]
fn only_this_sign_ins_start_path_is_the_start_page() {
    let start = |head: &[u8]| {
        matches!(
            parse_request(head, &start_path(), CALLBACK_PATH),
            Request::Start
        )
    };
    assert!(start(b"GET /start/abcDEF123 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(start(b"GET /start/abcDEF123?x=1 HTTP/1.1\r\n\r\n"));
    for other in [
        &b"GET /start/abcDEF12 HTTP/1.1\r\n\r\n"[..],
        b"GET /start/abcDEF1234 HTTP/1.1\r\n\r\n",
        b"GET /start/ HTTP/1.1\r\n\r\n",
        b"GET /start HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"HEAD /start/abcDEF123 HTTP/1.1\r\n\r\n",
        b"POST /start/abcDEF123 HTTP/1.1\r\n\r\n",
        b"GET\r\n\r\n",
        b"\xff\xfe /start/abcDEF123 HTTP/1.1\r\n\r\n",
        b"",
    ] {
        assert!(is_other(other), "{}", String::from_utf8_lossy(other));
    }
}

#[test]
fn pages_are_escaped() {
    assert_eq!(
        escape_html("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn a_listener_has_a_random_start_address_per_sign_in() {
    let one = Listener::bind(0).expect("bind");
    let two = Listener::bind(0).expect("bind");
    let (a, b) = (one.start_url(), two.start_url());
    assert!(
        a.starts_with("http://127.0.0.1:") && a.contains("/start/"),
        "{a}"
    );
    assert_ne!(a.rsplit('/').next(), b.rsplit('/').next());
    assert_eq!(a.rsplit('/').next().map(str::len), Some(43));
    assert!(one.redirect_uri().ends_with("/callback"));
}
