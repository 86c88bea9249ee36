//! A team source tells its store whether its server answers
//! (crates/team/src/reach.rs), against a real OpenBao: an answer once, the
//! first failure to reach the server once (with its time, so the window
//! can say "unreachable since …"), and the next answer once — a server
//! that keeps answering, or keeps not answering, costs no more writes.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use keybearer_base::secret::AccessToken;
use keybearer_source::{CredentialSource, Scope};
use keybearer_team::{Kept, LastGoodStore, TeamServer, TeamSource};
use support::{capture_logs, dev_vault, require_secret_service, Bao};

/// Records what the source tells it about its servers; keeps no value.
#[derive(Default)]
struct Told(Mutex<Vec<(String, bool, Option<SystemTime>)>>);

impl LastGoodStore for Told {
    fn keep(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: SystemTime,
        _: &[u8],
    ) -> keybearer_base::Result<()> {
        Ok(())
    }
    fn confirm(&self, _: &str, _: &str, _: u64, _: SystemTime) -> keybearer_base::Result<()> {
        Ok(())
    }
    fn recall(&self, _: &str, _: &str) -> keybearer_base::Result<Option<Kept>> {
        Ok(None)
    }
    fn forget(&self, _: &str, _: &str) -> keybearer_base::Result<()> {
        Ok(())
    }
    fn server_unreachable(&self, server_id: &str, at: SystemTime) -> keybearer_base::Result<()> {
        self.0
            .lock()
            .expect("told")
            .push((server_id.to_string(), false, Some(at)));
        Ok(())
    }
    fn server_reachable(&self, server_id: &str) -> keybearer_base::Result<()> {
        self.0
            .lock()
            .expect("told")
            .push((server_id.to_string(), true, None));
        Ok(())
    }
}

#[test]
fn an_outage_is_told_once_with_its_time_and_so_is_the_next_answer() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let password = bao.add_user("alice", "member-rw", "1h", "2h");
    let interval = Duration::from_secs(1);
    let settings = bao
        .settings("reach-alice")
        .with_check_interval(interval)
        .with_last_good_limit(Duration::from_secs(3600));
    let alice = TeamServer::sign_in(settings, "alice", &password).expect("sign in");
    let vault = dev_vault("reach");
    let url = "https://mcp.example.com/mcp";
    alice
        .put_credential(
            &vault,
            url,
            &AccessToken::new("tok-team-reach-1".into())
                .expect("token")
                .into(),
            0,
        )
        .expect("write");
    let told = Arc::new(Told::default());
    let source = TeamSource::new("development")
        .expect("source")
        .with_last_good(Arc::clone(&told) as Arc<dyn LastGoodStore>)
        .with_vault(&alice, vault.clone())
        .expect("vault");
    let ids = [vault.id.clone()];
    let look = || source.lookup(Scope::Vaults(&ids), url);
    let told_now = || told.0.lock().expect("told").clone();

    look().expect("first lookup").expect("found");
    std::thread::sleep(interval + Duration::from_millis(200));
    look().expect("checked again").expect("found");
    assert_eq!(
        told_now().len(),
        1,
        "an answer is told once: {:?}",
        told_now()
    );
    assert_eq!(told_now()[0].0, "reach-alice");
    assert!(told_now()[0].1, "it answered");

    bao.stop();
    let stopped = SystemTime::now();
    std::thread::sleep(interval + Duration::from_millis(200));
    look().expect("the last good value").expect("found");
    std::thread::sleep(interval + Duration::from_millis(200));
    look().expect("the last good value").expect("found");
    let after_outage = told_now();
    assert_eq!(
        after_outage.len(),
        2,
        "the outage is told once: {after_outage:?}"
    );
    let (_, reachable, at) = &after_outage[1];
    assert!(!reachable);
    let at = at.expect("its time");
    assert!(
        at >= stopped && at <= SystemTime::now(),
        "the first failure's time"
    );

    // Started again (empty, as dev servers are): it answers ("sign in
    // again" is an answer), told once.
    bao.restart_empty();
    std::thread::sleep(interval + Duration::from_millis(200));
    let _ = look();
    std::thread::sleep(interval + Duration::from_millis(200));
    let _ = look();
    let after_restart = told_now();
    assert_eq!(after_restart.len(), 3, "{after_restart:?}");
    assert!(after_restart[2].1, "answered again");
    bao.stop();
}
