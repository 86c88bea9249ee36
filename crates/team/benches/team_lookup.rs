//! A team credential's lookup beside a local one's (docs/architecture.md,
//! "Team vaults"): against a real OpenBao (`bao server -dev` on this
//! computer, plain HTTP), the first lookup of a session's source (the
//! server asked for the secret's version, then its data) and a cached one
//! (answered on the caller's thread within the check interval), each a
//! median of repeated runs, printed with its ratio to the same lookup of a
//! local vault (a new `Tokens` reader and its first lookup; the same
//! reader again). Not a test: nothing is asserted (these machines are
//! noisy). Needs the keychain (`scripts/with-secret-service.sh`).
//!
//!     make bench
#![allow(clippy::print_stdout)] // a benchmark's report is its output

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keybearer_base::secret::AccessToken;
use keybearer_source::{CredentialSource, Scope};
use keybearer_team::{TeamSecret, TeamSource};
use keybearer_vault::{Engine, KeyStore, KeychainError, MasterKey, NewCredential, SetupProtection};
use support::{dev_vault, require_secret_service, sign_in, Bao};

const URL: &str = "https://mcp.example.com/mcp";
const FIRST_RUNS: usize = 31;
const CACHED_RUNS: usize = 2_001;

/// The median of `runs` runs of `run`.
fn median(runs: usize, mut run: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn report(what: &str, took: Duration, local: Duration) {
    println!(
        "  {what:<44} {:>10.1} µs  {:>8.1}x the local vault's",
        took.as_secs_f64() * 1e6,
        took.as_secs_f64() / local.as_secs_f64()
    );
}

/// The master key in memory: the store is measured, not the OS keychain.
#[derive(Default)]
struct MemoryKeys(Mutex<HashMap<String, MasterKey>>);

impl KeyStore for MemoryKeys {
    fn load(&self, account: &str) -> Result<Option<MasterKey>, KeychainError> {
        Ok(self.0.lock().expect("keys").get(account).cloned())
    }

    fn save(&self, account: &str, key: &MasterKey) -> Result<(), KeychainError> {
        self.0
            .lock()
            .expect("keys")
            .insert(account.to_string(), key.clone());
        Ok(())
    }
}

fn main() {
    require_secret_service();
    let token = format!("tok-bench-{}", std::process::id());

    // The local vault.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine =
        Engine::open_with_keychain(&dir.path().join("data"), Box::new(MemoryKeys::default()))
            .expect("engine");
    engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("initialize");
    let vault = engine
        .catalog()
        .create_vault(
            "Bench",
            "development",
            vec![NewCredential {
                mcp_server_url: URL.to_string(),
                protocol: None,
                secret: AccessToken::new(token.clone()).expect("token").into(),
            }],
        )
        .expect("vault");
    let local_ids = [vault.id.clone()];
    let local_first = median(FIRST_RUNS, || {
        let tokens = engine.tokens().expect("tokens");
        assert!(tokens.lookup(&local_ids, URL).expect("lookup").is_some());
    });
    let tokens = engine.tokens().expect("tokens");
    let local_cached = median(CACHED_RUNS, || {
        assert!(tokens.lookup(&local_ids, URL).expect("lookup").is_some());
    });

    // The team vault, on a real OpenBao on this computer.
    let mut bao = Bao::start();
    let password = bao.add_user("bench", "member-rw", "1h", "2h");
    let member = sign_in(&bao, "bench-team-lookup", "bench", &password);
    let team_vault = dev_vault("bench");
    let secret: TeamSecret = AccessToken::new(token).expect("token").into();
    member.attach_vault(&team_vault).expect("folder");
    member
        .put_credential(&team_vault, URL, &secret, 0)
        .expect("write");
    let team_ids = [team_vault.id.clone()];
    let source = || {
        TeamSource::new("development")
            .expect("source")
            .with_vault(&member, team_vault.clone())
            .expect("vault")
    };
    let team_first = median(FIRST_RUNS, || {
        let source = source();
        assert!(source
            .lookup(Scope::Vaults(&team_ids), URL)
            .expect("lookup")
            .is_some());
    });
    let cached_source = source();
    assert!(cached_source
        .lookup(Scope::Vaults(&team_ids), URL)
        .expect("lookup")
        .is_some());
    let team_cached = median(CACHED_RUNS, || {
        assert!(cached_source
            .lookup(Scope::Vaults(&team_ids), URL)
            .expect("lookup")
            .is_some());
    });
    let _ = member.sign_out();
    bao.stop();

    println!("Team credential lookups (OpenBao on this computer, plain HTTP), medians:");
    println!(
        "  {:<44} {:>10.1} µs",
        "local vault, first lookup (new reader)",
        local_first.as_secs_f64() * 1e6
    );
    println!(
        "  {:<44} {:>10.1} µs",
        "local vault, cached reader",
        local_cached.as_secs_f64() * 1e6
    );
    report(
        "team vault, first lookup (new source)",
        team_first,
        local_first,
    );
    report(
        "team vault, cached (within the interval)",
        team_cached,
        local_cached,
    );
}
