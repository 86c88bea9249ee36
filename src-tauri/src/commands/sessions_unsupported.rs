//! Sessions where they are not available (neither Unix nor Windows): the
//! core's session runner needs a pseudo-terminal and a way to end a process
//! tree. Every session
//! command exists, so the command list is the same on every platform; the
//! Sessions screen asks `sessions_available` first and says so plainly.

use crate::error::{IpcError, IpcResult};

fn unsupported() -> IpcError {
    IpcError::from(keybearer_vault::Error::Unsupported(
        "Sessions are not available on this system. Your vaults and credentials work; \
         run agents from Linux, macOS or Windows."
            .to_string(),
    ))
}

#[tauri::command]
pub fn sessions_available() -> bool {
    false
}

#[tauri::command]
pub fn sandbox_available() -> bool {
    false
}

macro_rules! unsupported_commands {
    ($($name:ident),*) => {
        $(
            #[tauri::command]
            pub fn $name() -> IpcResult<()> {
                Err(unsupported())
            }
        )*
    };
}

unsupported_commands!(
    detect_agents,
    home_folder,
    start_session,
    list_sessions,
    session_servers,
    session_coverage,
    stop_session,
    session_input,
    resize_session
);
