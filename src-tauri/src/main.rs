//! Keybearer desktop app: a thin Tauri shell over the engine
//! (`keybearer-vault`), the apps and the session crates
//! (docs/architecture.md, "Crates"). The only crate that knows Tauri; it
//! holds no business logic: each command calls the crates below.
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

// Approvals asked by the command line (Unix: a socket in the data folder;
// Windows: a named pipe open to this user only).
#[cfg(any(unix, windows))]
mod approvals;
#[macro_use]
mod commands;
mod error;
// Sessions (agents on a pseudo-terminal: a PTY, or a ConPTY on Windows).
#[cfg(any(unix, windows))]
mod sessions;
mod state;

#[cfg(any(unix, windows))]
use std::sync::Arc;

#[cfg(any(unix, windows))]
use tauri::Manager;
use tauri::RunEvent;

/// The command line's allocator too: jemalloc gives freed memory back while
/// the app sits idle (docs/architecture.md, "Memory").
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The handlers of every command in the one list (commands/list.rs).
macro_rules! app_handler {
    ($($module:ident :: $command:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$module::$command),*]
    };
}

fn main() {
    // Before any secret is read: not readable by other processes, no core dump.
    keybearer_vault::harden_process();
    let data_dir = match keybearer_vault::default_data_dir() {
        Ok(dir) => dir,
        Err(error) => {
            // Before any window exists, stderr is the only place to say it.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("Keybearer cannot start: {error}");
            }
            std::process::exit(1);
        }
    };
    keybearer_vault::logging::init_file_log(&data_dir);
    tracing::info!("desktop app starting");

    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_window_state::Builder::default().build())
        // Rust API only (the sign-in address); the window is granted nothing of it.
        .plugin(tauri_plugin_opener::init())
        .manage(state::AppState::new(data_dir))
        .manage(commands::oauth::SignIns::default())
        .manage(commands::team_oidc::TeamSignIns::default())
        .manage(commands::backup::Restores::default());
    #[cfg(any(unix, windows))]
    let builder = builder
        .manage(Arc::new(sessions::Sessions::default()))
        .manage(Arc::new(approvals::Approvals::default()));
    let app = builder
        .invoke_handler(with_app_commands!(app_handler))
        .setup(|app| {
            #[cfg(any(unix, windows))]
            {
                let data_dir = app.state::<state::AppState>().data_dir().to_path_buf();
                app.state::<Arc<approvals::Approvals>>()
                    .listen(app.handle().clone(), &data_dir);
            }
            #[cfg(not(any(unix, windows)))]
            let _ = app;
            Ok(())
        })
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
            #[cfg(any(unix, windows))]
            handle.state::<Arc<sessions::Sessions>>().shutdown();
            #[cfg(not(any(unix, windows)))]
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
