//! `make soak` (a benchmark, not a test): one proxied session runs for
//! `SOAK_SECONDS` (default 600, at most 3,600) while
//! - its agent (`tests/soak/agent.py`, official Python SDK) keeps calling a
//!   tool with 4 concurrent clients on each of three servers: Streamable
//!   HTTP and SSE (the Python SDK server, static tokens) and an OAuth-
//!   protected server (the OAuth test peer, access tokens living 20 s, so
//!   the proxy renews the grant all along);
//! - every 30 s both static tokens are rotated: the servers accept the old
//!   and the new one, `keybearer credential replace` stores the new one,
//!   then the servers drop the old one (as a real rotation overlaps).
//!
//! It reports the errors the agent saw (goal: 0), the calls made, the
//! rotations and grant renewals done, and the session process's resident
//! memory (where the proxy runs) at the start, middle and end (goal: flat).
//! Needs a Secret Service (`scripts/with-secret-service.sh`, as make soak
//! runs it) and `scripts/setup-mcp-venv.sh`.

#[cfg(unix)]
#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(unix)]
fn main() {
    // Exits after `run` returned, so its servers are stopped first.
    if !soak::run() {
        std::process::exit(1);
    }
}

#[cfg(not(unix))]
fn main() {}

#[cfg(unix)]
#[allow(clippy::print_stdout, clippy::print_stderr)] // a report on the terminal
mod soak {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::support::oauth::{signing_in, start_peer};
    use super::support::peers::{repo_root, start_python_server_reading, venv_python};
    use super::support::session::{token, Home};

    const ROTATE_EVERY: Duration = Duration::from_secs(30);

    /// Resident memory of `pid` in KiB.
    fn rss_kib(pid: u32) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
    }

    /// Rotates credential `id` to `secret`; the new credential's id (a
    /// replacement is a new credential).
    fn replace(h: &Home, id: &str, secret: &str) -> String {
        let answer = h
            .run(
                &["--json", "credential", "replace", id],
                &format!("{secret}\n"),
            )
            .code(0)
            .json();
        answer["credential"]["id"]
            .as_str()
            .expect("the new credential's id")
            .to_string()
    }

    /// The soak; `false` when the agent saw errors or the session failed.
    pub fn run() -> bool {
        let seconds: u64 = std::env::var("SOAK_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(600)
            .clamp(10, 3600);
        let h = Home::new();
        let tokens = h.path("accepted-tokens");
        let mut current = token("soak");
        std::fs::write(&tokens, format!("{current}\n")).expect("tokens");
        let http = start_python_server_reading(&["--transport", "streamable_http"], &tokens);
        let sse = start_python_server_reading(&["--transport", "sse"], &tokens);
        let peer = start_peer("20", &[]);
        h.vault("Work", "development");
        h.add("Work", &http.url, "streamable_http", &current);
        h.add("Work", &sse.url, "sse", &current);
        signing_in(
            &h,
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Work",
                "--url",
                &peer.url,
                "--oauth",
            ],
        );
        let listed = h
            .run(&["--json", "credential", "list", "--vault", "Work"], "")
            .code(0)
            .json();
        let id_of = |url: &str| -> String {
            listed
                .as_array()
                .expect("credentials")
                .iter()
                .find(|c| c["mcp_server_url"].as_str() == Some(url))
                .and_then(|c| c["id"].as_str())
                .expect("credential")
                .to_string()
        };
        let mut static_ids = [id_of(&http.url), id_of(&sse.url)];

        let report = h.path("soak-report.json");
        let agent = repo_root().join("tests/soak/agent.py");
        let seconds_arg = seconds.to_string();
        let mut session = h
            .command(&[
                "session",
                "start",
                "--vault",
                "Work",
                "--agent",
                "custom",
                "--",
                &venv_python().display().to_string(),
                &agent.display().to_string(),
                "{mcp_config}",
                "--seconds",
                &seconds_arg,
                "--workers",
                "4",
                "--report",
                &report.display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("session");
        let pid = session.id();
        let started = Instant::now();
        let deadline = Duration::from_secs(seconds);
        let mut memory = Vec::new();
        let mut next_sample = Duration::from_secs(5);
        let mut next_rotation = ROTATE_EVERY;
        let mut rotations = 0;
        println!("soak: {seconds} s, session pid {pid}");
        loop {
            if session.try_wait().expect("wait").is_some() {
                break;
            }
            let now = started.elapsed();
            if now >= next_sample {
                if let Some(kib) = rss_kib(pid) {
                    memory.push((now.as_secs(), kib));
                }
                next_sample += Duration::from_secs((seconds / 10).max(5));
            }
            if now >= next_rotation && now + Duration::from_secs(5) < deadline {
                let new = token("soak");
                std::fs::write(&tokens, format!("{current}\n{new}\n")).expect("tokens");
                for id in &mut static_ids {
                    *id = replace(&h, id, &new);
                }
                std::fs::write(&tokens, format!("{new}\n")).expect("tokens");
                current = new;
                rotations += 1;
                next_rotation += ROTATE_EVERY;
            }
            if now > deadline + Duration::from_secs(180) {
                let _ = session.kill();
                let agent_done = std::fs::metadata(h.path("soak-report.json")).is_ok();
                panic!(
                    "the session did not end 3 minutes after its agent's time (the agent's report {})",
                    if agent_done { "was written: the session outlived its agent" } else { "was not written: the agent was still running" }
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let status = session.wait().expect("session");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("the agent's report"))
                .expect("report JSON");
        let mut calls = 0;
        let mut errors = 0;
        println!("session exit: {status}");
        for (name, tally) in report["servers"].as_object().expect("servers") {
            let ok = tally["ok"].as_u64().unwrap_or(0);
            let failed = tally["errors"].as_u64().unwrap_or(0);
            calls += ok;
            errors += failed;
            println!(
                "  {name} ({}): {ok} calls answered, {failed} errors {}",
                tally["transport"], tally["first_errors"]
            );
        }
        let renewals = peer.stat("refreshes");
        println!("rotations of the static tokens: {rotations}; OAuth grant renewals: {renewals}");
        let shown: Vec<String> = memory
            .iter()
            .map(|(at, kib)| format!("{at} s: {:.1} MiB", *kib as f64 / 1024.0))
            .collect();
        println!("session process memory (RSS): {}", shown.join(", "));
        if let (Some(first), Some(middle), Some(last)) =
            (memory.first(), memory.get(memory.len() / 2), memory.last())
        {
            println!(
                "memory start / middle / end: {:.1} / {:.1} / {:.1} MiB",
                first.1 as f64 / 1024.0,
                middle.1 as f64 / 1024.0,
                last.1 as f64 / 1024.0
            );
        }
        println!(
            "workers still waiting at the end (stopped): {}",
            report["workers_stopped_at_the_end"]
        );
        println!("calls answered: {calls}; errors: {errors} (goal: 0)");
        if errors > 0 || !status.success() {
            eprintln!("soak: errors seen");
            return false;
        }
        true
    }
}
