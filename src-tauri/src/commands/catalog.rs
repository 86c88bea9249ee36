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
//!
//! `discover_sign_in` asks a server how it signs in, without a credential
//! (`keybearer_vault::ask_the_server`, the same rule as the CLI's
//! `credential add --server`): for a registry entry that says "ask the
//! server" and for the picker's "Other server". The entry, when named, is
//! read on the engine's thread; the network questions run on a blocking
//! thread of their own, so the engine is never held while a server answers.
//!
//! `open_server_page` opens an entry's own page (where a token or an OAuth
//! app is made, its docs) in the system browser, through the opener
//! plugin's Rust API: the page names the entry and the kind of page, never
//! an address, so the webview (which has no opener permission) can open
//! nothing but the catalog's checked https pages.

use std::sync::atomic::{AtomicBool, Ordering};

use keybearer_vault::server_catalog::{Entry, SignIn};
use keybearer_vault::{AskedServer, Refresh, Refresher};
use serde::Deserialize;
use tauri::{AppHandle, State};

use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

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

/// How the server at `mcp_server_url` signs in: OAuth, the headers its
/// entry (`server_id`, if known) declares, or a token. Nothing secret is
/// sent; an address the vault would refuse is refused here too.
#[tauri::command]
pub async fn discover_sign_in(
    state: State<'_, AppState>,
    mcp_server_url: String,
    server_id: Option<String>,
) -> IpcResult<AskedServer> {
    let entry = match server_id {
        Some(id) => {
            state
                .with_engine(move |engine| Ok(engine.known_servers().catalog().get(&id).cloned()))
                .await?
        }
        None => None,
    };
    let asked = tauri::async_runtime::spawn_blocking(move || {
        keybearer_vault::ask_the_server(&mcp_server_url, entry.as_ref())
    })
    .await
    .map_err(|_| IpcError::internal("asking the server failed"))?
    .map_err(Into::into);
    trace_ipc_answer(&asked);
    asked
}

/// Which of an entry's pages to open.
#[derive(Debug, Clone, Copy, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ServerPage {
    /// Where a personal token is made.
    Token,
    /// Where the user creates an OAuth app (services without registration).
    Client,
    /// The vendor's documentation.
    Docs,
}

/// Opens the page `page` of known server `server_id` in the system browser.
#[tauri::command]
pub async fn open_server_page(
    app: AppHandle,
    state: State<'_, AppState>,
    server_id: String,
    page: ServerPage,
) -> IpcResult<()> {
    let address = state
        .with_engine(move |engine| {
            let catalog = engine.known_servers().catalog();
            let entry = catalog
                .get(&server_id)
                .ok_or_else(|| keybearer_vault::Error::not_found("known server", &server_id))?;
            page_of(entry, page).ok_or_else(|| {
                keybearer_vault::Error::invalid(
                    "page",
                    format!("The catalog names no such page for {}.", entry.name),
                )
            })
        })
        .await?;
    #[cfg(debug_assertions)]
    if std::env::var_os("KEYBEARER_TEST_OPENER").is_some() {
        // The end-to-end tests have no browser and no internet.
        tracing::info!(%address, "test opener: a server's page was asked for");
        return Ok(());
    }
    use tauri_plugin_opener::OpenerExt;
    let opened = app
        .opener()
        .open_url(&address, None::<&str>)
        .map_err(|error| {
            keybearer_vault::Error::Unsupported(format!(
                "The browser could not be opened ({error}). Copy the page's address shown next to the link into your browser."
            ))
            .into()
        });
    trace_ipc_answer(&opened);
    opened
}

/// The address of an entry's page, if it has one.
fn page_of(entry: &Entry, page: ServerPage) -> Option<String> {
    match page {
        ServerPage::Docs => entry.docs.clone(),
        ServerPage::Token => entry.sign_in.iter().find_map(|way| match way {
            SignIn::Token { token_page, .. } => Some(token_page.clone()),
            _ => None,
        }),
        ServerPage::Client => entry.sign_in.iter().find_map(|way| match way {
            SignIn::OauthClient { client_page, .. } => Some(client_page.clone()),
            _ => None,
        }),
    }
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
