// Generates an `allow-*` permission per app command so the capability file
// can grant exactly the commands the UI uses (nothing is allowed by default).
fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(agent_vault_commands::ALL)),
    )
    .expect("tauri build step");
}

mod agent_vault_commands {
    include!("src/command_names.rs");
}
