// The one list of the app's IPC commands (docs/architecture.md, "Contracts").
// `with_app_commands!(callback)` hands the list to `callback`, which is how
// each place gets it from here and nowhere else:
// - main.rs: `tauri::generate_handler!` (the handlers);
// - build.rs: one `allow-<command>` permission each (least privilege; the
//   capability file grants exactly these, checked by a unit test);
// - the TypeScript `Command` union in ui/src/lib/bindings/Command.ts, written
//   by a unit test and checked for drift by `make test`, so the UI's `call`
//   cannot name a command that does not exist.
// Plain `macro_rules!`, no imports: build.rs includes this file too.
// Every command exists on every platform (sessions answer "unsupported" where
// they are not available), so the list has no `cfg`.
macro_rules! with_app_commands {
    ($callback:ident) => {
        $callback! {
            setup::app_status,
            setup::initialize,
            setup::unlock,
            setup::unlock_with_passphrase,
            setup::recover,
            setup::regenerate_recovery_key,
            setup::confirm_recovery_key,
            backup::suggested_backup_file,
            backup::backup_file_exists,
            backup::create_backup,
            backup::read_backup,
            backup::open_backup,
            backup::plan_restore,
            backup::confirm_restore,
            backup::cancel_restore,
            environments::list_environments,
            environments::create_environment,
            environments::set_active_environment,
            vaults::list_vaults,
            vaults::search_vaults,
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
            catalog::catalog_list,
            catalog::discover_sign_in,
            catalog::open_server_page,
            oauth::start_oauth_sign_in,
            oauth::finish_oauth_sign_in,
            oauth::start_oauth_sign_in_again,
            oauth::finish_oauth_sign_in_again,
            oauth::cancel_oauth_sign_in,
            events::list_events,
            sessions::sessions_available,
            sessions::sandbox_available,
            sessions::detect_agents,
            sessions::home_folder,
            sessions::start_session,
            sessions::list_sessions,
            sessions::session_servers,
            sessions::session_coverage,
            sessions::stop_session,
            sessions::session_input,
            sessions::resize_session,
            approvals::pending_approvals,
            approvals::answer_approval,
            apps::list_apps,
            apps::connect_app,
            apps::change_app,
            apps::disconnect_app,
            apps::sync_apps,
            apps::sync_app,
            apps::pasted_secrets,
            apps::import_app,
            apps::undo_app_import,
            apps::delete_app_token_copies,
            team::list_team_servers,
            team::team_ca_fingerprints,
            team::add_team_server,
            team::sign_in_team_server,
            team::sign_out_team_server,
            team::remove_team_server,
            team_oidc::sign_in_team_server_oidc,
            team_oidc::cancel_team_sign_in,
            team_vault::team_vault_history,
            team_move::plan_move_to_team,
            team_move::move_to_team,
            team_move::plan_move_to_local,
            team_move::move_to_local,
        }
    };
}
