//! A plain-http server on this computer gets the token only if it runs as
//! our user: a listener of another user (here `nobody`, through setpriv) gets
//! a connection but not one byte of a request, from the proxy or from Test
//! connection. A control server run as our user gets the token. Needs root
//! to run a process as another user (CI runs as root).

#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)] // says when it cannot run (not root)

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use support::{body_text, engine_with, request_to, send_raw, start_proxy};
use vault_core::{test_connection, AccessToken, ConnectionOutcome, Protocol};

/// Records every byte it receives into a file, answers 200. With `defer`,
/// its connections stay half-open (SYN_RECV) until data arrives
/// (TCP_DEFER_ACCEPT), which the owner check must see through.
const SERVER: &str = r#"
import socket, sys
seen = open(sys.argv[1], "ab")
s = socket.socket()
if sys.argv[2] == "defer":
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
with seen:
    while True:
        c, _ = s.accept()
        c.settimeout(2)
        try:
            data = c.recv(65536)
        except OSError:
            data = b""
        seen.write(data)
        seen.flush()
        try:
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        except OSError:
            pass
        c.close()
"#;

struct Recorder {
    child: Child,
    port: u16,
    seen: PathBuf,
}

impl Recorder {
    fn start(dir: &Path, as_nobody: bool, defer: bool) -> Self {
        let seen = dir.join(format!("seen-{as_nobody}-{defer}"));
        let mut command = if as_nobody {
            let mut command = Command::new("setpriv");
            command.args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
                "/usr/bin/python3",
            ]);
            command
        } else {
            Command::new("/usr/bin/python3")
        };
        let mut child = command
            .args(["-c", SERVER])
            .arg(&seen)
            .arg(if defer { "defer" } else { "plain" })
            .stdout(Stdio::piped())
            .spawn()
            .expect("server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the recording server did not start (as nobody: {as_nobody})")
        });
        Self { child, port, seen }
    }

    fn seen(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.seen).unwrap_or_default()).into_owned()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .is_some_and(|line| line.split_whitespace().nth(2) == Some("0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_server_of_another_user_never_gets_the_token() {
    if !is_root() {
        eprintln!("skipped: running a server as another user needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // The other user must reach its own folder inside.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let shared = dir.path().join("seen");
    std::fs::create_dir(&shared).expect("dir");
    chown(&shared, Some(65534), Some(65534)).expect("chown");
    let token = "tok-loopback-owner-5d2a";

    for (as_nobody, defer) in [(true, false), (true, true), (false, false)] {
        let server = Recorder::start(&shared, as_nobody, defer);
        let url = format!("http://127.0.0.1:{}/mcp", server.port);
        let data = dir.path().join(format!("data-{as_nobody}-{defer}"));
        let (mut engine, vault) = engine_with(&data, "development", &url, token);
        let proxy = start_proxy(&mut engine, "sesn_owner", vec![vault.id], vec![url.clone()])
            .await
            .expect("proxy");
        let addr = proxy.listeners()[0].local_addr;
        let secret = proxy.secret().expose_for_agent_config().to_string();
        let request = request_to(addr, Method::POST, "/mcp", Some(&secret))
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("request");
        let response = send_raw(addr, request).await.expect("response");
        let status = response.status();
        let body = body_text(response).await;

        let probe_token: vault_core::CredentialSecret =
            AccessToken::new(token.to_string()).expect("token").into();
        let url_for_probe = url.clone();
        let probe = tokio::task::spawn_blocking(move || {
            test_connection(&url_for_probe, Some(Protocol::StreamableHttp), &probe_token)
        })
        .await
        .expect("probe task")
        .expect("probe runs");
        proxy.stop().await;
        // Give the recorder a moment to write what it received.
        std::thread::sleep(std::time::Duration::from_millis(300));

        if as_nobody {
            assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
            assert!(body.contains("belongs to another user"), "{body}");
            assert_eq!(
                probe.outcome,
                ConnectionOutcome::Unreachable,
                "{}",
                probe.message
            );
            assert!(probe.message.contains("another user"), "{}", probe.message);
            assert!(
                !server.seen().contains(token),
                "the other user's server got the token"
            );
        } else {
            assert_eq!(status, StatusCode::OK, "control: {body}");
            assert!(
                server.seen().contains(token),
                "control: our own server gets the token"
            );
        }
    }
}
