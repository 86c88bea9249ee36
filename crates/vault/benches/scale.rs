//! The engine at scale: a generated database of 10,000 vaults holding
//! 100,000 credentials (10 each, over 2,000 server URLs, two environments),
//! built through the public API like a user's, then the operations the CLI
//! and the window run, each timed as a median of repeated runs:
//! list the vaults, search them by name or server, add a credential, resolve
//! a session of 50 vaults (what it reaches, and one token lookup as the
//! proxy's first request does it). Printed beside the goals; the
//! baseline in the same run is one indexed `SELECT` of a single vault, so
//! a slow machine shows as a slow baseline too. Not a test: nothing is
//! asserted (these machines are noisy).
//!
//!     make bench
#![allow(clippy::print_stdout)] // a benchmark's report is its output

#[path = "support/bench_engine.rs"]
mod bench_engine;

use std::time::{Duration, Instant};

use bench_engine::bench_engine;
use keybearer_vault::{AccessToken, NewCredential};

const VAULTS: usize = 10_000;
const PER_VAULT: usize = 10;
const SERVERS: usize = 2_000;
const SESSION_VAULTS: usize = 50;
const RUNS: usize = 21;

fn url(server: usize) -> String {
    format!("https://mcp{server}.example.com/mcp")
}

/// The median of `RUNS` runs of `run`.
fn median(mut run: impl FnMut(usize)) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|index| {
            let started = Instant::now();
            run(index);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn report(what: &str, took: Duration, goal_ms: f64, baseline: Duration) {
    let ms = took.as_secs_f64() * 1e3;
    println!(
        "  {what:<46} {ms:>9.3} ms  (goal < {goal_ms} ms: {})  {:>8.0}x baseline",
        if ms < goal_ms { "met" } else { "NOT met" },
        took.as_secs_f64() / baseline.as_secs_f64(),
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = bench_engine(&dir.path().join("data"));

    let started = Instant::now();
    let mut ids = Vec::with_capacity(VAULTS);
    for index in 0..VAULTS {
        let environment = if index % 2 == 0 {
            "development"
        } else {
            "production"
        };
        let credentials = (0..PER_VAULT)
            .map(|slot| NewCredential {
                mcp_server_url: url((index * 7 + slot * 13) % SERVERS),
                protocol: None,
                secret: AccessToken::new(format!("tok-{index}-{slot}-0123456789abcdef"))
                    .expect("token")
                    .into(),
            })
            .collect();
        let vault = engine
            .catalog()
            .create_vault(&format!("Vault {index:05}"), environment, credentials)
            .expect("vault");
        ids.push(vault.id);
    }
    println!(
        "Engine at scale: {VAULTS} vaults, {} credentials over {SERVERS} servers, generated in {:.1} s \
         through the API; medians of {RUNS} runs",
        VAULTS * PER_VAULT,
        started.elapsed().as_secs_f64()
    );

    let baseline = median(|index| {
        engine.catalog().vault(&ids[index]).expect("vault");
    });
    println!(
        "  {:<46} {:>9.3} ms",
        "baseline: one vault by id",
        baseline.as_secs_f64() * 1e3
    );

    report(
        "list all vaults",
        median(|_| {
            assert_eq!(engine.catalog().vaults(None).expect("list").len(), VAULTS);
        }),
        20.0,
        baseline,
    );
    report(
        "list one environment's vaults",
        median(|_| {
            engine.catalog().vaults(Some("production")).expect("list");
        }),
        20.0,
        baseline,
    );
    report(
        "search vaults by name (\"ault 0420\")",
        median(|_| {
            engine.catalog().search_vaults("ault 0420").expect("search");
        }),
        20.0,
        baseline,
    );
    report(
        "search vaults by server (\"mcp1234.\")",
        median(|_| {
            assert!(!engine
                .catalog()
                .search_vaults("mcp1234.")
                .expect("search")
                .is_empty());
        }),
        20.0,
        baseline,
    );
    let target = ids[VAULTS / 2].clone();
    report(
        "add a credential",
        median(|index| {
            engine
                .catalog()
                .add_credential(
                    &target,
                    NewCredential {
                        mcp_server_url: format!("https://added{index}.example.com/mcp"),
                        protocol: None,
                        secret: AccessToken::new(format!("tok-added-{index}-0123456789abcdef"))
                            .expect("token")
                            .into(),
                    },
                )
                .expect("add");
        }),
        5.0,
        baseline,
    );

    // A session of 50 development vaults (every other vault is production).
    let session: Vec<String> = ids
        .iter()
        .step_by(2)
        .take(SESSION_VAULTS)
        .cloned()
        .collect();
    report(
        "resolve a session of 50 vaults (coverage)",
        median(|_| {
            assert!(!engine
                .resolver()
                .coverage(&session)
                .expect("coverage")
                .is_empty());
        }),
        1.0,
        baseline,
    );
    let last_url = url((((SESSION_VAULTS - 1) * 2) * 7) % SERVERS);
    report(
        "first token lookup of a 50-vault session",
        median(|_| {
            // A new tokens part each run: nothing cached, as at a session's start.
            let tokens = engine.tokens().expect("tokens");
            tokens.lookup(&session, &last_url).expect("lookup");
        }),
        1.0,
        baseline,
    );
    let tokens = engine.tokens().expect("tokens");
    report(
        "token lookup of a 50-vault session, cached",
        median(|_| {
            tokens.lookup(&session, &last_url).expect("lookup");
        }),
        1.0,
        baseline,
    );
}
