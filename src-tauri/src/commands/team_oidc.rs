//! Signing in to a team server with your organisation's sign-in (the
//! server's OIDC auth method) from Settings → Team servers
//! (docs/architecture.md, "Team vaults"; the flow is `keybearer-team`'s
//! `oidc.rs`, the one `keybearer team sign-in --oidc` runs).
//!
//! `sign_in_team_server_oidc` opens the system browser at the loopback
//! start page (the OAuth sign-in's opener, `oauth::open_in_browser`: the
//! address holds nothing secret) and waits for the browser on a blocking
//! thread, without the engine (a sign-in may take minutes; the window's
//! other commands go on). The state, the code, the nonce and the token never
//! reach the page: the answer is who signed in. `cancel_team_sign_in` stops
//! the wait (the sign-in then answers "cancelled"); the listener's timeout
//! ends it otherwise. One waiting sign-in per server: a new one cancels the
//! old.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use keybearer_team_vaults as team;
use tauri::{AppHandle, State};

use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

/// The cancel flags of the sign-ins waiting for the browser, by server id.
#[derive(Default)]
pub struct TeamSignIns {
    waiting: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl TeamSignIns {
    fn start(&self, server: &str) -> IpcResult<Arc<AtomicBool>> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut waiting = self
            .waiting
            .lock()
            .map_err(|_| IpcError::internal("sign-in lock poisoned"))?;
        if let Some(old) = waiting.insert(server.to_string(), Arc::clone(&flag)) {
            old.store(true, Ordering::SeqCst);
        }
        Ok(flag)
    }

    /// Forgets `flag` (only if it is still the server's).
    fn end(&self, server: &str, flag: &Arc<AtomicBool>) {
        if let Ok(mut waiting) = self.waiting.lock() {
            if waiting
                .get(server)
                .is_some_and(|now| Arc::ptr_eq(now, flag))
            {
                waiting.remove(server);
            }
        }
    }
}

/// Signs in to `server` through the browser; `role`: the OIDC role (the
/// method's default without one); `port`: the listener's (8250 unless the
/// administrator allows another). Answers the server's name for the user.
#[tauri::command]
pub async fn sign_in_team_server_oidc(
    app: AppHandle,
    state: State<'_, AppState>,
    sign_ins: State<'_, TeamSignIns>,
    server: String,
    role: Option<String>,
    port: Option<u16>,
) -> IpcResult<String> {
    let id = server.clone();
    let record = state
        .with_engine(move |engine| engine.team_catalog().server(&id))
        .await;
    let record = match record {
        Ok(record) => record,
        Err(error) => return traced(Err(error)),
    };
    let cancel = sign_ins.start(&record.id)?;
    let options = team::OidcOptions {
        role: role
            .map(|role| role.trim().to_string())
            .filter(|role| !role.is_empty()),
        port: port.unwrap_or(team::DEFAULT_OIDC_PORT),
        cancel: Some(Arc::clone(&cancel)),
        ..team::OidcOptions::default()
    };
    let asked = record.clone();
    let signed_in = tauri::async_runtime::spawn_blocking(move || {
        let opener = |address: &str| super::oauth::open_in_browser(&app, address);
        team::sign_in_to(
            &asked,
            team::SignIn::Oidc {
                options: &options,
                opener: &opener,
            },
        )
    })
    .await;
    sign_ins.end(&record.id, &cancel);
    let who = match signed_in {
        Ok(Ok(who)) => who,
        Ok(Err(error)) => return traced(Err(error.into())),
        Err(_) => return traced(Err(IpcError::internal("sign-in failed"))),
    };
    state
        .run(move |engine| {
            team::record_sign_in(engine, &record, &who)?;
            Ok(who.display_name)
        })
        .await
}

/// Stops waiting for the browser for `server`'s sign-in.
#[tauri::command]
pub async fn cancel_team_sign_in(
    sign_ins: State<'_, TeamSignIns>,
    server: String,
) -> IpcResult<()> {
    let flag = sign_ins
        .waiting
        .lock()
        .map_err(|_| IpcError::internal("sign-in lock poisoned"))?
        .remove(&server);
    if let Some(flag) = flag {
        flag.store(true, Ordering::SeqCst);
    }
    Ok(())
}

fn traced<T: serde::Serialize>(answer: IpcResult<T>) -> IpcResult<T> {
    trace_ipc_answer(&answer);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_sign_in_cancels_the_one_waiting_and_an_old_one_ending_keeps_the_new() {
        let sign_ins = TeamSignIns::default();
        let first = sign_ins.start("tsv_1").expect("first");
        let second = sign_ins.start("tsv_1").expect("second");
        assert!(first.load(Ordering::SeqCst), "the first stops waiting");
        assert!(!second.load(Ordering::SeqCst));
        // The first one ending does not forget the second's flag.
        sign_ins.end("tsv_1", &first);
        let waiting = sign_ins.waiting.lock().expect("lock");
        assert!(waiting
            .get("tsv_1")
            .is_some_and(|flag| Arc::ptr_eq(flag, &second)));
        drop(waiting);
        sign_ins.end("tsv_1", &second);
        assert!(sign_ins.waiting.lock().expect("lock").is_empty());
    }
}
