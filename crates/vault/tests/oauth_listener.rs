//! The sign-in's listener on 127.0.0.1 against hostile programs on this
//! computer, over real sockets, with the real test authorization server
//! (`tests/oauth-peer/server.py`): a forged answer is ignored and the
//! browser's still counts; a program that loads the start page before the
//! browser stops the sign-in, and what it learnt is of no use after; the
//! browser opener gets an address without `state` or the PKCE challenge;
//! a connection that sends nothing holds no one up; on Linux, another
//! user's program gets no start page at all, even one that half-closes
//! its connection (skipped without root, failed then where `CI` is set).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::oauth_peer;
#[cfg(target_os = "linux")]
use support::root;

use keybearer_vault::oauth::{sign_in, SignInOptions, StoredOAuth};
use oauth_peer::{sha256_hex, Browser, McpSession, OAuthPeer};

/// Sends `GET <path and query of url>` on a new connection and leaves the
/// answer unread (the listener answers once the opener has returned).
fn send_raw(url: &str) -> TcpStream {
    let parsed = url::Url::parse(url).expect("url");
    let mut stream =
        TcpStream::connect(("127.0.0.1", parsed.port().expect("port"))).expect("connect");
    let target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_string(),
    };
    write!(stream, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
    stream
}

fn answer(mut stream: TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

fn header(answer: &str, name: &str) -> Option<String> {
    answer.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn listener_base(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("url");
    format!("http://127.0.0.1:{}", parsed.port().expect("port"))
}

/// The grant is the one the browser's sign-in got: its token works.
fn assert_works(peer: &OAuthPeer, stored: &StoredOAuth) {
    let token = stored.grant.access_token.expose_secret();
    let session = McpSession::open(&peer.url, token).expect("initialize with the token");
    assert_eq!(session.tool_text("whoami"), sha256_hex(token));
}

#[test]
fn a_forged_answer_first_is_ignored_and_the_browser_still_signs_in() {
    let peer = OAuthPeer::start(&[]);
    let browser = Browser::new();
    let forged = Mutex::new(Vec::new());
    let stored = sign_in(&peer.url, &SignInOptions::default(), &|url| {
        // Another program answers first: a guessed state, then none at all.
        let base = listener_base(url);
        let mut forged = forged.lock().expect("lock");
        forged.push(send_raw(&format!(
            "{base}/callback?code=attacker-code&state=guessed"
        )));
        forged.push(send_raw(&format!("{base}/callback?code=attacker-code")));
        browser.open(url)
    })
    .unwrap_or_else(|error| panic!("sign-in: {} ({error})", error.code()));
    let page = browser.page().expect("the browser got a page");
    assert!(page.contains("Signed in"), "{page}");
    for stream in forged.into_inner().expect("lock") {
        let answer = answer(stream);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("Not this sign-in"), "{answer}");
    }
    assert_eq!(peer.stat("code_exchanges"), 1, "only the browser's code");
    assert_works(&peer, &stored);
}

#[test]
fn a_program_that_loads_the_start_page_first_stops_the_sign_in() {
    let peer = OAuthPeer::start(&[]);
    let browser = Browser::new();
    let hostile = Mutex::new(None);
    let error = sign_in(&peer.url, &SignInOptions::default(), &|url| {
        // It read the opener's command line and is quicker than the browser.
        *hostile.lock().expect("lock") = Some(send_raw(url));
        browser.open(url)
    })
    .expect_err("the sign-in must stop");
    assert_eq!(error.code(), "oauth_sign_in_intercepted", "{error}");
    assert!(error.to_string().contains("Another program"), "{error}");
    assert!(error.to_string().contains("Nothing was saved"), "{error}");

    // It was first, so it got the authorization address with the state.
    let first = answer(hostile.into_inner().expect("lock").expect("sent"));
    assert!(first.starts_with("HTTP/1.1 303"), "{first}");
    assert!(first.contains("Cache-Control: no-store"), "{first}");
    assert!(first.contains("Referrer-Policy: no-referrer"), "{first}");
    let authorization = header(&first, "location").expect("location");
    let state = query_value(&authorization, "state").expect("state");

    // The browser, second, was told what happened.
    let page = browser.page().expect("the browser got a page");
    assert!(page.contains("Sign-in stopped"), "{page}");
    assert!(page.contains("Another program"), "{page}");

    // The program goes on: signs in at the service with what it learnt and
    // brings back a code with the right state. Nothing takes it any more.
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let approved = client.get(&authorization).send().expect("authorize");
    let callback = approved
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .expect("the service sends it to the callback")
        .to_string();
    assert_eq!(
        query_value(&callback, "state").as_deref(),
        Some(state.as_str())
    );
    assert!(query_value(&callback, "code").is_some());
    assert!(
        client.get(&callback).send().is_err(),
        "the listener is gone"
    );
    assert_eq!(peer.stat("code_exchanges"), 0, "no grant was made");
}

#[test]
fn the_opener_gets_an_address_without_state_or_challenge() {
    let peer = OAuthPeer::start(&[]);
    let browser = Browser::new();
    let stored = sign_in(&peer.url, &SignInOptions::default(), &|url| {
        browser.open(url)
    })
    .unwrap_or_else(|error| panic!("sign-in: {} ({error})", error.code()));
    assert!(browser.page().expect("page").contains("Signed in"));
    let opened = browser.opened.lock().expect("lock").clone();
    let visited = browser.visited.lock().expect("lock").clone();
    assert_eq!(opened.len(), 1);
    let opened = &opened[0];
    let authorization = visited
        .iter()
        .find(|address| address.contains("/authorize"))
        .expect("the browser reached the service");
    let state = query_value(authorization, "state").expect("state");
    let challenge = query_value(authorization, "code_challenge").expect("challenge");
    assert!(
        !opened.contains(&state),
        "state on the command line: {opened}"
    );
    assert!(
        !opened.contains(&challenge),
        "challenge on the command line: {opened}"
    );
    assert!(!opened.contains("state=") && !opened.contains("code_challenge"));
    assert!(
        opened.starts_with("http://127.0.0.1:") && opened.contains("/start/"),
        "{opened}"
    );
    assert_eq!(&visited[0], opened, "the browser started there");
    assert_works(&peer, &stored);
}

#[test]
fn a_connection_that_sends_nothing_holds_no_one_up() {
    let peer = OAuthPeer::start(&[]);
    let browser = Browser::new();
    let idle = Mutex::new(Vec::new());
    let opened_at = Mutex::new(None);
    let stored = sign_in(&peer.url, &SignInOptions::default(), &|url| {
        let base = listener_base(url);
        let port = url::Url::parse(&base).expect("url").port().expect("port");
        let mut idle = idle.lock().expect("lock");
        // Two say nothing, one stops half-way through its request line.
        for _ in 0..2 {
            idle.push(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
        }
        let mut partial = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        partial.write_all(b"GET /callback?sta").expect("send");
        idle.push(partial);
        *opened_at.lock().expect("lock") = Some(Instant::now());
        browser.open(url)
    })
    .unwrap_or_else(|error| panic!("sign-in: {} ({error})", error.code()));
    let took = opened_at.lock().expect("lock").expect("opened").elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the browser waited behind idle connections: {took:?}"
    );
    assert!(browser.page().expect("page").contains("Signed in"));
    assert_works(&peer, &stored);
}

/// Another user's client that sends its request and half-closes
/// (`shutdown(SHUT_WR)`): its end is in FIN_WAIT2 when the listener looks,
/// yet it can still read the answer. Prints what it got.
#[cfg(target_os = "linux")]
const HALF_CLOSING: &str = r#"
import socket, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
s = socket.create_connection(("127.0.0.1", url.port), timeout=20)
s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % url.path).encode())
s.shutdown(socket.SHUT_WR)
answer = b""
while True:
    data = s.recv(65536)
    if not data:
        break
    answer += data
sys.stdout.write(answer.decode("latin-1"))
"#;

/// On Linux, another user's program (here `nobody`, through `setpriv`;
/// the test needs root) that loads the start page before the browser gets
/// a 403, not the authorization address, and does not stop the sign-in:
/// curl, and a client that half-closes its connection after its request
/// (it is judged by its owner all the same).
#[cfg(target_os = "linux")]
#[test]
fn another_users_program_gets_no_start_page() {
    if !root::can_act_as_other_users(
        "another_users_program_gets_no_start_page",
        &["setpriv", "curl", "/usr/bin/python3"],
    ) {
        return;
    }
    let as_nobody = || {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
        command.stdout(std::process::Stdio::piped());
        command
    };
    let peer = OAuthPeer::start(&[]);
    let browser = Browser::new();
    let others = Mutex::new(Vec::new());
    let signed_in = sign_in(&peer.url, &SignInOptions::default(), &|url| {
        let curl = as_nobody()
            .args(["curl", "-s", "-i", "--max-time", "20", url])
            .spawn()
            .expect("curl as nobody");
        let half_closing = as_nobody()
            .args(["/usr/bin/python3", "-c", HALF_CLOSING, url])
            .spawn()
            .expect("python as nobody");
        others.lock().expect("lock").extend([curl, half_closing]);
        // Their requests are in line first.
        std::thread::sleep(Duration::from_millis(500));
        browser.open(url)
    });
    for other in others.into_inner().expect("lock") {
        let output = other.wait_with_output().expect("nobody's client");
        let answer = String::from_utf8_lossy(&output.stdout);
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(header(&answer, "location").is_none(), "{answer}");
        assert!(!answer.contains("state="), "{answer}");
    }
    let stored = signed_in.unwrap_or_else(|error| panic!("sign-in: {} ({error})", error.code()));
    assert!(browser.page().expect("page").contains("Signed in"));
    assert_works(&peer, &stored);
}
