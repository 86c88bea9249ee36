//! The session proxy side by side with nginx doing the same job: the same
//! fixed-answer upstream reached directly, through a real nginx (Debian's
//! package) configured to inject the same `Authorization` header, and
//! through a Keybearer session listener (session secret checked, token looked
//! up per request, audit records written), loaded by `wrk` at 1 and 64
//! connections. Rounds alternate the three so drift hits all alike. Reports
//! requests/s and p50/p99 latency, then ratios. Not a test: nothing is
//! asserted about speed (these machines are noisy).
//!
//!     make bench          (installs nginx and wrk first)
//!
//! The upstream runs in a process of its own (`support/upstream.rs`), so it
//! does not share a runtime with the proxy. An in-memory key store stands in for the keychain.
//!
//! To profile the proxy alone, `KEYBEARER_BENCH_PROFILE=<seconds>` loads
//! only the Keybearer listener (at `KEYBEARER_BENCH_CONNECTIONS`, 64 unless
//! set) twice for that long, after printing this process's id (for
//! `perf record -p`) and a one-second warm-up.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's report is its output

#[path = "support/bench_engine.rs"]
mod bench_engine;
#[path = "support/upstream.rs"]
mod upstream;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bench_engine::{bench_engine, bench_proxy};
use bytes::Bytes;
use http::Response;
use http_body_util::Full;

const TOKEN: &str = "tok-bench-0123456789abcdef0123456789abcdef";
const ROUNDS: usize = 3;
const SECONDS_PER_RUN: u32 = 4;
const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

/// The upstream's answer: a fixed JSON-RPC result.
fn answer() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}"#,
    )));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// nginx in front of the upstream, adding the same header, with keep-alive
/// to the upstream (its best configuration for this job).
fn start_nginx(dir: &Path, upstream: u16) -> (upstream::Guard, u16) {
    let port = free_port();
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).expect("nginx dir");
    let config = format!(
        r#"daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream mcp {{ server 127.0.0.1:{upstream}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer {TOKEN}";
            proxy_buffering off;
        }}
    }}
}}
"#,
        prefix = prefix.display(),
    );
    let file = prefix.join("nginx.conf");
    std::fs::write(&file, config).expect("nginx.conf");
    let child = Command::new("nginx")
        .stdout(Stdio::null())
        .args(["-e", "stderr", "-p"])
        .arg(&prefix)
        .arg("-c")
        .arg(&file)
        .spawn()
        .expect("nginx (install it: make bench installs it)");
    wait_for_port(port);
    (upstream::Guard(child), port)
}

fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on {port}");
}

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time the processes in front of the upstream (nginx's workers, or
    /// this process for Keybearer) spent per request, in microseconds: on
    /// two cores shared by wrk, the upstream and the proxy, what decides
    /// requests/s. NaN for `direct`.
    cpu_us: f64,
}

/// CPU time (user + system) of `pids` so far, in clock ticks, from `/proc`.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .map(|stat| {
            // Fields after the command name (which may hold spaces): utime
            // and stime are the 12th and 13th.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let mut fields = after.split_whitespace().skip(11);
            let mut next = || fields.next().and_then(|value| value.parse::<u64>().ok());
            next().unwrap_or(0) + next().unwrap_or(0)
        })
        .sum()
}

/// `pid` and its children (nginx's master and workers).
fn with_children(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|child| child.parse::<u32>().ok()),
        );
    }
    pids
}

/// One wrk run: POSTs of an MCP tools/call with `bearer`; `cpu` are the
/// processes whose CPU time per request is reported.
fn wrk(dir: &Path, url: &str, bearer: &str, connections: u32, cpu: &[u32]) -> Figures {
    wrk_measured(dir, url, bearer, connections, SECONDS_PER_RUN, cpu)
}

fn wrk_measured(
    dir: &Path,
    url: &str,
    bearer: &str,
    connections: u32,
    seconds: u32,
    cpu: &[u32],
) -> Figures {
    let ticks_per_second = 100.0; // USER_HZ, the unit of /proc's times on Linux
    let before = cpu_ticks(cpu);
    let mut figures = wrk_for(dir, url, bearer, connections, seconds);
    let spent = (cpu_ticks(cpu) - before) as f64 / ticks_per_second;
    let requests = figures.per_second * f64::from(seconds);
    figures.cpu_us = if cpu.is_empty() {
        f64::NAN
    } else {
        spent * 1e6 / requests
    };
    figures
}

fn wrk_for(dir: &Path, url: &str, bearer: &str, connections: u32, seconds: u32) -> Figures {
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{BODY}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {bearer}\"\n"
        ),
    )
    .expect("lua");
    let threads = connections.clamp(1, 2);
    let output = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
            "--latency".into(),
            "-s".into(),
            script.display().to_string(),
            url.into(),
        ])
        .output()
        .expect("wrk (install it: make bench installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        panic!("wrk saw errors from {url}:\n{text}");
    }
    let latency = |label: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(label))
            .and_then(|line| line.split_whitespace().nth(1))
            .map(milliseconds)
            .unwrap_or(f64::NAN)
    };
    Figures {
        per_second: text
            .lines()
            .find(|line| line.starts_with("Requests/sec:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(f64::NAN),
        p50_ms: latency("50%"),
        p99_ms: latency("99%"),
        cpu_us: f64::NAN,
    }
}

fn milliseconds(value: &str) -> f64 {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        _ => f64::NAN,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    if std::env::var(upstream::ROLE).as_deref() == Ok("upstream") {
        return upstream::serve(TOKEN, answer);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (_upstream, upstream_port) = upstream::start();
    let upstream_url = format!("http://127.0.0.1:{upstream_port}/mcp");
    let (nginx, nginx_port) = start_nginx(dir.path(), upstream_port);
    let own_pid = [std::process::id()];

    // Only starts and stops the proxy: its listeners run on the proxy's own
    // worker threads (one per core), as in the CLI and the app.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut engine = bench_engine(&dir.path().join("data"));
    let proxy = runtime.block_on(bench_proxy(&mut engine, &upstream_url, TOKEN));
    let keybearer_url = proxy.listeners()[0].local_url.clone();
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let nginx_url = format!("http://127.0.0.1:{nginx_port}/mcp");
    if let Some(seconds) = std::env::var("KEYBEARER_BENCH_PROFILE")
        .ok()
        .and_then(|value| value.parse::<u32>().ok())
    {
        println!("profile: pid {}", std::process::id());
        std::thread::sleep(Duration::from_secs(1));
        let connections = std::env::var("KEYBEARER_BENCH_CONNECTIONS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(64);
        wrk_for(dir.path(), &keybearer_url, &secret, connections, 1);
        for seconds in [seconds, seconds] {
            let figures = wrk_measured(
                dir.path(),
                &keybearer_url,
                &secret,
                connections,
                seconds,
                &own_pid,
            );
            println!("keybearer alone, {connections} connections, {seconds} s: {figures:?}");
        }
        runtime.block_on(proxy.stop());
        return;
    }

    println!(
        "Keybearer proxy vs nginx (both inject Authorization), wrk POST of an MCP tools/call, \
         {ROUNDS} rounds x {SECONDS_PER_RUN} s per side and load, medians; {} cores; nginx and the proxy one worker per core",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for connections in [1u32, 64] {
        // A first, unmeasured second on each side: the first requests open
        // the upstream connections (and, for Keybearer, check who owns them
        // and open the token), which is not the steady state compared here.
        // Reported apart, as "cold".
        let cold: Vec<String> = [
            ("direct", upstream_url.as_str(), TOKEN),
            ("nginx", nginx_url.as_str(), "ignored-nginx-sets-it"),
            ("keybearer", keybearer_url.as_str(), secret.as_str()),
        ]
        .into_iter()
        .map(|(name, url, bearer)| {
            let figures = wrk_for(dir.path(), url, bearer, connections, 1);
            format!("{name} p99 {:.3} ms", figures.p99_ms)
        })
        .collect();
        // Read after nginx has served: its workers exist by now.
        let nginx_pids = with_children(nginx.0.id());
        let mut results: HashMap<&str, Vec<Figures>> = HashMap::new();
        for _ in 0..ROUNDS {
            for (name, url, bearer, cpu) in [
                ("direct", upstream_url.as_str(), TOKEN, &[][..]),
                (
                    "nginx",
                    nginx_url.as_str(),
                    "ignored-nginx-sets-it",
                    &nginx_pids[..],
                ),
                (
                    "keybearer",
                    keybearer_url.as_str(),
                    secret.as_str(),
                    &own_pid[..],
                ),
            ] {
                results.entry(name).or_default().push(wrk(
                    dir.path(),
                    url,
                    bearer,
                    connections,
                    cpu,
                ));
            }
        }
        let summary = |name: &str| {
            let runs = &results[name];
            Figures {
                per_second: median(&mut runs.iter().map(|f| f.per_second).collect::<Vec<_>>()),
                p50_ms: median(&mut runs.iter().map(|f| f.p50_ms).collect::<Vec<_>>()),
                p99_ms: median(&mut runs.iter().map(|f| f.p99_ms).collect::<Vec<_>>()),
                cpu_us: median(&mut runs.iter().map(|f| f.cpu_us).collect::<Vec<_>>()),
            }
        };
        let (direct, nginx, keybearer) =
            (summary("direct"), summary("nginx"), summary("keybearer"));
        println!("\n{connections} connection(s):");
        println!(
            "  cold (first second, not in the figures below): {}",
            cold.join(", ")
        );
        for (name, figures) in [
            ("direct", direct),
            ("nginx", nginx),
            ("keybearer", keybearer),
        ] {
            println!(
                "  {name:<10} {:>10.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   CPU {:>5.1} us/request",
                figures.per_second, figures.p50_ms, figures.p99_ms, figures.cpu_us
            );
        }
        println!(
            "  ratios: nginx/direct req/s {:.2}; keybearer/nginx req/s {:.2}; \
             keybearer/nginx CPU per request {:.2}; \
             added p50 nginx {:+.3} ms, keybearer {:+.3} ms; added p99 nginx {:+.3} ms, keybearer {:+.3} ms",
            nginx.per_second / direct.per_second,
            keybearer.per_second / nginx.per_second,
            keybearer.cpu_us / nginx.cpu_us,
            nginx.p50_ms - direct.p50_ms,
            keybearer.p50_ms - direct.p50_ms,
            nginx.p99_ms - direct.p99_ms,
            keybearer.p99_ms - direct.p99_ms,
        );
    }
    runtime.block_on(proxy.stop());
}
