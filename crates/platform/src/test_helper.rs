//! Real helper processes for the Windows tests (run under Wine by
//! `scripts/windows-test.sh`): the test binary starts itself again with
//! `KEYBEARER_TEST_ROLE` set, and the ignored test below plays that role.
//! Each helper reports to the test over a TCP connection it keeps open for
//! its whole life, so the test sees a helper end when that connection
//! closes — also for a grandchild the test never started itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ROLE: &str = "KEYBEARER_TEST_ROLE";
const REPORT: &str = "KEYBEARER_TEST_REPORT";
pub(crate) const PIPE: &str = "KEYBEARER_TEST_PIPE";
/// `CREATE_BREAKAWAY_FROM_JOB`: asks for a child outside the parent's job.
const CREATE_BREAKAWAY_FROM_JOB: u32 = 0x0100_0000;
const LIFETIME: Duration = Duration::from_secs(120);

/// The test's end: where helpers report.
pub(crate) struct Reports {
    listener: TcpListener,
}

/// One helper's report line and the connection it keeps open.
pub(crate) struct Report {
    pub(crate) line: String,
    pub(crate) reader: BufReader<TcpStream>,
}

impl Report {
    /// The pid in a `pid N` line.
    pub(crate) fn pid(&self) -> u32 {
        self.line
            .strip_prefix("pid ")
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("not a pid line: {:?}", self.line))
    }

    /// The next line the helper sends.
    pub(crate) fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a report line");
        line.trim().to_string()
    }

    pub(crate) fn send(&mut self, line: &str) {
        self.reader
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .expect("send to helper");
    }

    /// Whether the helper's connection closed (it ended) within `limit`.
    pub(crate) fn ended_within(&mut self, limit: Duration) -> bool {
        self.reader
            .get_ref()
            .set_read_timeout(Some(limit))
            .expect("timeout");
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(error) => !matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }
}

impl Reports {
    pub(crate) fn new() -> Self {
        Self {
            listener: TcpListener::bind("127.0.0.1:0").expect("report listener"),
        }
    }

    /// Starts this test binary again in `role`.
    pub(crate) fn spawn(&self, role: &str, env: &[(&str, &str)]) -> Child {
        let address = self.listener.local_addr().expect("address").to_string();
        start(role, &address, env, 0).expect("start a helper")
    }

    /// The next helper's first report (waits up to 60 s).
    pub(crate) fn next(&self) -> Report {
        self.listener.set_nonblocking(true).expect("nonblocking");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let stream = loop {
            match self.listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no helper reported within 60 s"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("accept: {error}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut report = Report {
            line: String::new(),
            reader: BufReader::new(stream),
        };
        report.line = report.next_line();
        report
    }
}

fn start(role: &str, report: &str, env: &[(&str, &str)], flags: u32) -> std::io::Result<Child> {
    use std::os::windows::process::CommandExt;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args([
            "--exact",
            "test_helper::helper_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(REPORT, report)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .creation_flags(flags);
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn()
}

fn say(stream: &mut TcpStream, line: &str) {
    stream
        .write_all(format!("{line}\n").as_bytes())
        .expect("report");
}

/// Not a test: the helper processes' body (does nothing unless started as one).
#[test]
#[ignore = "a helper process the Windows tests start"]
fn helper_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let address = std::env::var(REPORT).expect("report address");
    let mut report = TcpStream::connect(&address).expect("connect to the test");
    match role.as_str() {
        "hold" => {
            say(&mut report, &format!("pid {}", std::process::id()));
            std::thread::sleep(LIFETIME);
        }
        "tree" => {
            say(&mut report, &format!("pid {}", std::process::id()));
            // Wait until the test has put us in its tree.
            let mut go = String::new();
            BufReader::new(report.try_clone().expect("clone"))
                .read_line(&mut go)
                .expect("go");
            match start("hold", &address, &[], CREATE_BREAKAWAY_FROM_JOB) {
                Ok(mut escaped) => {
                    say(&mut report, "breakaway allowed");
                    let _ = escaped.kill();
                    let _ = escaped.wait();
                }
                Err(_) => say(&mut report, "breakaway refused"),
            }
            let mut grandchild = start("hold", &address, &[], 0).expect("grandchild");
            std::thread::sleep(LIFETIME);
            let _ = grandchild.wait();
        }
        "owner" => {
            let tree = crate::job::ProcessTree::new().expect("tree");
            let mut child = start("hold", &address, &[], 0).expect("child");
            tree.add(&child).expect("add");
            say(&mut report, &format!("pid {}", std::process::id()));
            std::thread::sleep(LIFETIME);
            let _ = child.wait();
        }
        "pipe-client" => {
            let path = std::env::var(PIPE).expect("pipe path");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let line = runtime.block_on(async {
                use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
                let Some(mut pipe) = crate::pipe::connect(&path, Duration::from_secs(10))
                    .await
                    .expect("connect")
                else {
                    return "no server".to_string();
                };
                pipe.stream.write_all(b"hello\n").await.expect("write");
                let mut answer = String::new();
                tokio::io::BufReader::new(&mut pipe.stream)
                    .read_line(&mut answer)
                    .await
                    .expect("read");
                format!("answer {} server {}", answer.trim(), pipe.peer_pid)
            });
            say(&mut report, &format!("pid {}", std::process::id()));
            say(&mut report, &line);
        }
        other => panic!("unknown helper role {other}"),
    }
}
