// Generates an `allow-*` permission per app command so the capability file
// can grant exactly the commands the UI uses (nothing is allowed by default).
// The names come from the one list in src/commands/list.rs.
include!("src/commands/list.rs");

macro_rules! command_names {
    ($($module:ident :: $command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}

const COMMANDS: &[&str] = with_app_commands!(command_names);

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
