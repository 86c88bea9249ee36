//! Many server-sent event streams through one session listener: 1,000 GET
//! streams held open at once, each fed an event every 100 ms by an upstream
//! that stamps the event with the time it was written. Reports, directly and
//! through Keybearer in the same run, how long events took to arrive (the
//! proxy must forward each event as it comes, not wait for more), and this
//! process's resident memory (where the proxy lives) before, with the
//! streams open, and 2 s and 14 s after they closed — four times, so a leak
//! shows as steady growth from cycle to cycle. Not a test: nothing is asserted.
//!
//!     cargo bench -p keybearer-vault --bench sse_streams
//!
//! The upstream (`support/upstream.rs`) and the client each run in a
//! process of their own (this binary again, with `KEYBEARER_BENCH_ROLE`), so
//! the memory figures are the proxy's alone. Linux only (memory is read from /proc).
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's report is its output

#[path = "support/bench_engine.rs"]
mod bench_engine;
#[path = "support/upstream.rs"]
mod upstream;

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::pin::Pin;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bench_engine::{bench_engine, bench_proxy};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const TOKEN: &str = "tok-bench-sse-0123456789abcdef0123456789abcdef";
const STREAMS: usize = 1000;
const EVENTS_PER_STREAM: usize = 5;
const EVERY: Duration = Duration::from_millis(100);

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}

/// An endless event stream: one `data: <microseconds>` event per tick.
struct Ticker(tokio::time::Interval);

impl Body for Ticker {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(format!(
                "event: message\ndata: {}\n\n",
                now_micros()
            )))))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The upstream's answer: an endless event stream.
fn events() -> Response<Ticker> {
    let mut interval = tokio::time::interval(EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut response = Response::new(Ticker(interval));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// One stream: sends the delays (µs) of its first events, from stamp to
/// arrival, on `report`, then keeps reading until the task is dropped.
async fn one_stream(
    port: u16,
    bearer: String,
    report: tokio::sync::oneshot::Sender<Result<Vec<u64>, String>>,
) {
    match first_events(port, &bearer).await {
        Ok((delays, mut body)) => {
            let _ = report.send(Ok(delays));
            while let Some(Ok(_)) = body.frame().await {}
        }
        Err(error) => {
            let _ = report.send(Err(error));
        }
    }
}

async fn first_events(port: u16, bearer: &str) -> Result<(Vec<u64>, Incoming), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| error.to_string())?;
    let _ = tcp.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    let request = Request::get(format!("http://127.0.0.1:{port}/mcp"))
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .header(http::header::ACCEPT, "text/event-stream")
        .header(http::header::AUTHORIZATION, format!("Bearer {bearer}"))
        .body(Empty::<Bytes>::new())
        .map_err(|error| error.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let mut body = response.into_body();
    let mut pending = String::new();
    let mut delays = Vec::with_capacity(EVENTS_PER_STREAM);
    while delays.len() < EVENTS_PER_STREAM {
        let Some(frame) = body.frame().await else {
            return Err("the stream ended".into());
        };
        let frame = frame.map_err(|error| error.to_string())?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let arrived = now_micros();
        pending.push_str(&String::from_utf8_lossy(data));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if let Some(stamp) = event
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .and_then(|value| value.trim().parse::<u64>().ok())
            {
                delays.push(arrived.saturating_sub(stamp));
            }
        }
    }
    Ok((delays, body))
}

/// The client process: opens `STREAMS` streams, prints the delays once each
/// has had its first events, and holds them open until a line arrives on
/// stdin.
fn run_client(port: u16, bearer: String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut streams = Vec::with_capacity(STREAMS);
        let mut reports = Vec::with_capacity(STREAMS);
        for _ in 0..STREAMS {
            let (report, reported) = tokio::sync::oneshot::channel();
            streams.push(tokio::spawn(one_stream(port, bearer.clone(), report)));
            reports.push(reported);
        }
        let mut all = Vec::with_capacity(STREAMS * EVENTS_PER_STREAM);
        let mut failed = 0;
        for reported in reports {
            match reported.await {
                Ok(Ok(delays)) => all.extend(delays),
                Ok(Err(error)) => {
                    failed += 1;
                    eprintln!("a stream failed: {error}");
                }
                Err(_) => failed += 1,
            }
        }
        all.sort_unstable();
        let at = |q: f64| {
            all.get(((all.len().max(1) - 1) as f64 * q) as usize)
                .copied()
        };
        println!(
            "open {} failed {failed} p50_us {} p99_us {}",
            STREAMS - failed,
            at(0.5).unwrap_or(0),
            at(0.99).unwrap_or(0)
        );
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        for stream in streams {
            stream.abort();
        }
    });
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn start_client(port: u16, bearer: &str) -> Client {
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .env(upstream::ROLE, "client")
        .env("KEYBEARER_BENCH_PORT", port.to_string())
        .env("KEYBEARER_BENCH_BEARER", bearer)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("client");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    Client {
        child,
        stdin,
        stdout,
    }
}

impl Client {
    /// Waits until every stream has had its first events: (open, p50, p99).
    fn opened(&mut self) -> (usize, u64, u64) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("client report");
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |key: &str| -> u64 {
            words
                .iter()
                .position(|word| *word == key)
                .and_then(|at| words.get(at + 1))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("client said: {line}"))
        };
        (number("open") as usize, number("p50_us"), number("p99_us"))
    }

    fn close(mut self) {
        let _ = writeln!(self.stdin, "close");
        let _ = self.child.wait();
    }
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    match std::env::var(upstream::ROLE).as_deref() {
        Ok("upstream") => return upstream::serve(TOKEN, events),
        Ok("client") => {
            let port = std::env::var("KEYBEARER_BENCH_PORT")
                .ok()
                .and_then(|value| value.parse().ok())
                .expect("port");
            let bearer = std::env::var("KEYBEARER_BENCH_BEARER").expect("bearer");
            return run_client(port, bearer);
        }
        _ => {}
    }
    let (_upstream, upstream_port) = upstream::start();
    let upstream_url = format!("http://127.0.0.1:{upstream_port}/mcp");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = bench_engine(&dir.path().join("data"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let proxy = runtime.block_on(bench_proxy(&mut engine, &upstream_url, TOKEN));
    let listener_port: u16 = url::Url::parse(&proxy.listeners()[0].local_url)
        .ok()
        .and_then(|url| url.port())
        .expect("listener port");
    let secret = proxy.secret().expose_for_agent_config().to_string();

    println!(
        "{STREAMS} event streams at once, an event every {} ms each; delays from the upstream's stamp to arrival, over each stream's first {EVENTS_PER_STREAM} events",
        EVERY.as_millis()
    );
    let mut direct = start_client(upstream_port, TOKEN);
    let (open, p50, p99) = direct.opened();
    direct.close();
    println!("  direct     {open} open; delay p50 {p50} µs, p99 {p99} µs");

    let before = resident_kib();
    println!("  proxy memory before: {} MiB", before / 1024);
    for cycle in 1..=4 {
        let mut proxied = start_client(listener_port, &secret);
        let (open, p50, p99) = proxied.opened();
        let with_streams = resident_kib();
        proxied.close();
        std::thread::sleep(Duration::from_secs(2));
        let after = resident_kib();
        // The allocator gives freed memory back over some seconds.
        std::thread::sleep(Duration::from_secs(12));
        let later = resident_kib();
        println!(
            "  keybearer  {open} open; delay p50 {p50} µs, p99 {p99} µs; proxy memory with them {} MiB, 2 s after they closed {} MiB, 14 s after {} MiB (cycle {cycle})",
            with_streams / 1024,
            after / 1024,
            later / 1024
        );
    }
    runtime.block_on(proxy.stop());
}
