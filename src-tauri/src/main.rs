//! Agent Vault desktop app: a thin Tauri shell over `vault-core`.
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[cfg(test)]
mod command_names;
mod commands;
mod error;
// Sessions (agents on a pseudo-terminal) are Unix-only for now, like the core's.
#[cfg(unix)]
mod sessions;
mod state;

#[cfg(unix)]
use std::sync::Arc;

#[cfg(unix)]
use commands::sessions as session_commands;
use commands::{credentials, environments, events, setup, vaults};
#[cfg(unix)]
use tauri::Manager;
use tauri::RunEvent;

fn main() {
    let data_dir = match vault_core::default_data_dir() {
        Ok(dir) => dir,
        Err(error) => {
            // Before any window exists, stderr is the only place to say it.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("Agent Vault cannot start: {error}");
            }
            std::process::exit(1);
        }
    };
    vault_core::logging::init_file_log(&data_dir);
    tracing::info!("desktop app starting");

    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .manage(state::AppState::new(data_dir));
    #[cfg(unix)]
    let builder = builder.manage(Arc::new(sessions::Sessions::default()));
    let app = builder
        .invoke_handler(tauri::generate_handler![
            setup::app_status,
            setup::initialize,
            setup::unlock,
            setup::unlock_with_passphrase,
            setup::recover,
            setup::regenerate_recovery_key,
            environments::list_environments,
            environments::create_environment,
            environments::set_active_environment,
            vaults::list_vaults,
            vaults::get_vault,
            vaults::create_vault,
            vaults::rename_vault,
            vaults::delete_vault,
            credentials::list_credentials,
            credentials::add_credential,
            credentials::replace_token,
            credentials::delete_credential,
            credentials::check_server_url,
            credentials::test_connection,
            credentials::test_saved_credential,
            events::list_events,
            #[cfg(unix)]
            session_commands::detect_agents,
            #[cfg(unix)]
            session_commands::home_folder,
            #[cfg(unix)]
            session_commands::start_session,
            #[cfg(unix)]
            session_commands::list_sessions,
            session_commands::session_servers,
            session_commands::session_coverage,
            #[cfg(unix)]
            session_commands::stop_session,
            #[cfg(unix)]
            session_commands::session_input,
            #[cfg(unix)]
            session_commands::resize_session,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "desktop app failed");
            std::process::exit(1);
        }
    };
    #[cfg(unix)]
    exit_on_termination_signals(app.handle().clone());
    app.run(|handle, event| match event {
        RunEvent::ExitRequested { .. } => tracing::info!("exit requested"),
        // No agent outlives the app; each session's temp files are removed.
        RunEvent::Exit => {
            tracing::info!("desktop app exiting: stopping sessions");
            #[cfg(unix)]
            handle.state::<Arc<sessions::Sessions>>().shutdown();
            #[cfg(not(unix))]
            let _ = handle;
        }
        RunEvent::WindowEvent { event, .. } => tracing::debug!(?event, "window event"),
        _ => {}
    });
}

/// SIGTERM, SIGHUP (logout, a closed terminal) and SIGINT end the app the
/// normal way, so its sessions are stopped and their temp files removed.
#[cfg(unix)]
fn exit_on_termination_signals(handle: tauri::AppHandle) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT]) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::warn!(%error, "cannot watch termination signals");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                tracing::info!(signal, "termination signal: exiting");
                handle.exit(0);
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot watch termination signals");
    }
}

#[cfg(test)]
mod tests {
    /// The capability file must grant exactly the app's commands: no more
    /// (least privilege), no fewer (the UI would be refused).
    #[test]
    fn capability_grants_exactly_the_app_commands() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).expect("valid JSON");
        assert_eq!(capability["windows"], serde_json::json!(["main"]));
        let all: Vec<&str> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|permission| permission.as_str())
            .collect();
        // Core permissions: only listening to the app's own events (terminal output).
        let (core, granted): (Vec<&str>, Vec<&str>) = all
            .into_iter()
            .partition(|permission| permission.starts_with("core:"));
        assert_eq!(
            core,
            ["core:event:allow-listen", "core:event:allow-unlisten"]
        );
        let expected: Vec<String> = crate::command_names::ALL
            .iter()
            .map(|command| format!("allow-{}", command.replace('_', "-")))
            .collect();
        assert_eq!(granted, expected);
    }
}
