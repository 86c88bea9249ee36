//! The known remote MCP servers for the window's server picker: the
//! built-in ones with the MCP Registry's under them
//! (`KnownServers::catalog`; docs/architecture.md, "Known servers").
//!
//! Flow: `catalog_list` answers from what is known now (the cached list,
//! read once and kept until it changes) and, a day after the last try,
//! starts a refresh on a thread of its own — the changes since the cached
//! list, or the whole list when none is cached — so the window never waits
//! for the registry. One refresh at a time; its outcome goes to the log
//! (a refused answer changes nothing).

use std::sync::atomic::{AtomicBool, Ordering};

use keybearer_vault::server_catalog::Entry;
use keybearer_vault::{Refresh, Refresher};
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// Whether a background refresh is running.
static REFRESHING: AtomicBool = AtomicBool::new(false);

/// The known servers whose name, id or purpose holds `search` (all
/// without one; names that start with it first).
#[tauri::command]
pub async fn catalog_list(
    state: State<'_, AppState>,
    search: Option<String>,
) -> IpcResult<Vec<Entry>> {
    state
        .run(move |engine| {
            let known = engine.known_servers();
            match known.refresher() {
                Ok(refresher) => refresh_in_background(refresher),
                Err(error) => {
                    tracing::warn!(code = %error.code(), "registry setting unusable: no refresh");
                }
            }
            let catalog = known.catalog();
            Ok(catalog
                .search(search.as_deref().unwrap_or(""))
                .into_iter()
                .cloned()
                .collect::<Vec<Entry>>())
        })
        .await
}

/// Starts a background refresh when a day has passed and none is running.
fn refresh_in_background(refresher: Refresher) {
    if REFRESHING.swap(true, Ordering::AcqRel) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("registry refresh".into())
        .spawn(move || {
            // Logged where it happens (refused answers, skipped servers).
            if let Err(error) = refresher.refresh(Refresh::Background) {
                tracing::debug!(code = %error.code(), "background registry refresh failed");
            }
            REFRESHING.store(false, Ordering::Release);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start the registry refresh");
        REFRESHING.store(false, Ordering::Release);
    }
}
