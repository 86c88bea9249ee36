//! `keybearer`: the command line over the Keybearer engine
//! (`keybearer-vault`), the apps and session crates and the server catalog
//! (docs/architecture.md, "Crates"). A front end: it parses, asks and
//! prints; the work is done below it. It never knows Tauri.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod output;
mod cli;
mod commands;
mod input;
#[cfg(any(unix, windows))]
mod presence;
#[cfg(unix)]
mod relay;

use std::process::ExitCode;

use clap::Parser;
use keybearer_vault::{Engine, Error, ErrorCode};

#[cfg(any(unix, windows))]
use crate::cli::SessionAction;
use crate::cli::{
    BackupAction, Cli, Command, CredentialAction, EnvironmentAction, RecoveryKeyAction,
    SettingsAction, TeamAction, VaultAction,
};
#[cfg(any(unix, windows))]
use crate::commands::sessions;
use crate::commands::{
    apps, backup, bridge, catalog, credentials, environments, events, settings, setup, team,
    vault_move, vaults,
};
use crate::output::Output;
#[cfg(any(unix, windows))]
use keybearer_session::SessionRequest;

/// jemalloc, whose background thread gives freed memory back to the system:
/// with glibc's allocator the memory of 1,000 closed event streams stayed
/// with the process (docs/architecture.md, "Memory").
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Before any secret is read: not readable by other processes, no core dump.
    keybearer_vault::harden_process();
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    match run(cli, &out) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            tracing::warn!(code = %error.code(), "command failed");
            report(&error, &out);
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Runs one command; returns the process exit status (the agent's, for
/// `session start`).
fn run(cli: Cli, out: &Output) -> Result<u8, Error> {
    if matches!(cli.command, Command::Bridge { .. }) {
        // Started by an app with a trimmed environment: find the keychain.
        keybearer_vault::find_session_bus();
        keybearer_bridge::prepare();
    }
    // A session's bridge needs no vault (and in a sandbox cannot see one).
    if let Command::Bridge {
        headers_file: Some(file),
        server,
        protocol,
        ..
    } = &cli.command
    {
        return bridge::run_fixed(file, server, protocol.as_deref());
    }
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => keybearer_vault::default_data_dir()?,
    };
    // The built-in servers are listed even when the data folder cannot open.
    if let Command::Catalog { search, refresh } = &cli.command {
        return catalog::run(&data_dir, out, search.as_deref(), *refresh).map(|()| 0);
    }
    let mut engine = Engine::open(&data_dir)?;
    keybearer_vault::logging::init_file_log(&data_dir);
    let engine = &mut engine;
    // The bridge's stdin and stdout belong to the app that started it; it
    // leaves other processes' sessions alone.
    if let Command::Bridge {
        connection: Some(connection),
        server,
        protocol,
        ..
    } = &cli.command
    {
        return bridge::run(engine, connection, server, protocol.as_deref());
    }
    // A session whose Keybearer process was killed leaves its private folder
    // (a direct-mode config holds a token): remove it now.
    #[cfg(any(unix, windows))]
    if let Err(error) = keybearer_session::sweep_orphaned_sessions(engine) {
        tracing::warn!(code = %error.code(), "could not sweep orphaned sessions");
    }
    let command = match cli.command {
        #[cfg(any(unix, windows))]
        Command::Session { action } => return session(engine, out, action),
        other => other,
    };
    match command {
        Command::Init { passphrase } => setup::init(engine, out, passphrase),
        Command::Status => setup::status(engine, out),
        Command::Recover { passphrase } => setup::recover(engine, out, passphrase),
        Command::RecoveryKey {
            action: RecoveryKeyAction::Regenerate,
        } => setup::regenerate_recovery_key(engine, out),
        Command::Environment { action } => match action {
            EnvironmentAction::List => environments::list(engine, out),
            EnvironmentAction::Create { name, colour } => {
                environments::create(engine, out, &name, &colour)
            }
            EnvironmentAction::Use { name } => environments::activate(engine, out, &name),
        },
        Command::Vault { action } => match action {
            VaultAction::Create {
                name,
                environment,
                team: Some(server),
                folder,
                ..
            } => vaults::create_team(
                engine,
                out,
                &name,
                environment.as_deref(),
                &server,
                folder.as_deref(),
            ),
            VaultAction::Create {
                name,
                environment,
                credential_url,
                protocol,
                ..
            } => vaults::create(
                engine,
                out,
                &name,
                environment.as_deref(),
                credential_url.as_deref(),
                &protocol,
            ),
            VaultAction::Move {
                vault,
                team,
                local: _,
                folder,
                confirm,
            } => match team {
                Some(team) => {
                    vault_move::run(engine, out, &vault, &team, folder.as_deref(), confirm.yes)
                }
                None => vault_move::to_local(engine, out, &vault, confirm.yes),
            }
            .map(|()| apps::follow(engine)),
            VaultAction::List { environment } => vaults::list(engine, out, environment.as_deref()),
            VaultAction::Show { vault } => vaults::show(engine, out, &vault),
            VaultAction::Rename { vault, new_name } => {
                vaults::rename(engine, out, &vault, &new_name)
            }
            VaultAction::Delete { vault, confirm } => {
                vaults::delete(engine, out, &vault, confirm.yes).map(|()| apps::follow(engine))
            }
        },
        Command::Credential { action } => match action {
            CredentialAction::Add {
                vault,
                url,
                server,
                protocol,
                secret,
            } => {
                let server = match (&server, &url) {
                    (Some(id), _) => credentials::Server::Known(id),
                    (None, Some(url)) => credentials::Server::Url(url, &protocol),
                    (None, None) => return Err(Error::invalid(
                        "url",
                        "Name the server: --server ID (see keybearer catalog) or --url ADDRESS.",
                    )),
                };
                credentials::add(engine, out, &vault, server, &secret)
                    .map(|()| apps::follow(engine))
            }
            CredentialAction::List { vault } => credentials::list(engine, out, &vault),
            CredentialAction::Delete { id, confirm } => {
                credentials::delete(engine, out, &id, confirm.yes).map(|()| apps::follow(engine))
            }
            CredentialAction::Replace { id, secret } => {
                credentials::replace(engine, out, &id, &secret)
            }
            CredentialAction::Check { vault } => credentials::check(engine, out, vault.as_deref()),
            CredentialAction::Test { id, all: _, vault } => {
                let target = match &id {
                    Some(id) => credentials::TestTarget::One(id),
                    None => credentials::TestTarget::All {
                        vault: vault.as_deref(),
                    },
                };
                return credentials::test(engine, out, target);
            }
        },
        Command::Backup { action } => match action {
            BackupAction::Create {
                file,
                passphrase,
                force,
            } => backup::create(engine, out, &file, passphrase, force),
            BackupAction::Restore {
                file,
                merge,
                passphrase,
            } => backup::restore(engine, out, &file, merge, passphrase),
        },
        Command::Team { action } => match action {
            TeamAction::Add {
                address,
                name,
                ca_file,
                mount,
                paths,
                check_interval,
                last_good,
                yes,
            } => team::add(
                engine,
                out,
                &team::AddArgs {
                    address: &address,
                    name: name.as_deref(),
                    ca_file: ca_file.as_deref(),
                    mount: &mount,
                    paths: &paths,
                    check_interval,
                    last_good,
                    yes,
                },
            ),
            TeamAction::SignIn {
                server,
                user,
                token,
                oidc,
                role,
                oidc_mount,
                port,
            } => {
                let oidc = oidc.then(|| keybearer_team_vaults::OidcOptions {
                    mount: oidc_mount,
                    role,
                    port,
                    ..keybearer_team_vaults::OidcOptions::default()
                });
                team::sign_in(engine, out, &server, user.as_deref(), token, oidc.as_ref())
            }
            TeamAction::SignOut { server } => team::sign_out(engine, out, &server),
            TeamAction::List => team::list(engine, out),
            TeamAction::History { vault, url } => {
                team::history(engine, out, &vault, url.as_deref())
            }
            TeamAction::Remove { server, confirm } => {
                team::remove(engine, out, &server, confirm.yes).map(|()| apps::follow(engine))
            }
        },
        Command::Catalog { .. } => unreachable!("handled above"),
        Command::Settings {
            action: SettingsAction::Registry { address, reset },
        } => settings::registry(engine, out, address.as_deref(), reset),
        Command::Events { vault, limit } => events::list(engine, out, vault.as_deref(), limit),
        #[cfg(any(unix, windows))]
        Command::Session { .. } => unreachable!("handled above"),
        Command::Bridge { .. } => unreachable!("handled above"),
        Command::Apps { action } => apps::run(engine, out, action),
    }
    .map(|()| 0)
}

#[cfg(any(unix, windows))]
fn session(engine: &mut Engine, out: &Output, action: SessionAction) -> Result<u8, Error> {
    match action {
        SessionAction::Start {
            vaults,
            agent,
            dir,
            direct,
            no_sandbox,
            allow_write,
            command,
        } => {
            let code = sessions::start(
                engine,
                out,
                sessions::StartArgs {
                    vaults,
                    agent,
                    dir,
                    direct,
                    sandbox: SessionRequest::SANDBOX_BY_DEFAULT && !no_sandbox,
                    writable: allow_write,
                    command,
                },
            )?;
            // Shells report codes modulo 256 (a signal as 128 + its number).
            Ok(u8::try_from(code.rem_euclid(256)).unwrap_or(1))
        }
        SessionAction::List { limit } => sessions::list(engine, out, limit).map(|()| 0),
        SessionAction::Stop { id, grace } => sessions::stop(engine, out, &id, grace).map(|()| 0),
        SessionAction::Agents => sessions::agents(out).map(|()| 0),
    }
}

fn report(error: &Error, out: &Output) {
    if out.json {
        let body = serde_json::json!({ "error": error });
        eprintln!("{body}");
        return;
    }
    eprintln!("error: {error}");
    if let Some(hint) = hint(error) {
        eprintln!("hint:  {hint}");
    }
}

fn hint(error: &Error) -> Option<&'static str> {
    use ErrorCode as C;
    Some(match error.code() {
        C::NotInitialized => "Run `keybearer init` to set up Keybearer.",
        C::KeychainUnavailable => {
            "On Linux this means no Secret Service (GNOME Keyring or KWallet) is running. Log in to a desktop session or start your keyring. On a machine without any keychain, set up with a passphrase instead: `keybearer init --passphrase`."
        }
        C::KeychainLocked => "Unlock your keychain (log in to your desktop session), then try again.",
        C::RecoveryNeeded => "Run `keybearer recover` and type your recovery key when asked.",
        C::WrongRecoveryKey => "Check the key you wrote down at setup: 8 groups of 4 letters and digits.",
        C::PassphraseRequired => "Run the command in a terminal to be asked for it, or set KEYBEARER_PASSPHRASE.",
        C::Integrity => "Replace the token: `keybearer credential replace <credential id>`.",
        C::SchemaTooNew => "Install the newest Keybearer.",
        C::AmbiguousName => "`keybearer vault list` shows each vault's id.",
        C::DuplicateVault => "`keybearer vault list` shows the vaults of each environment.",
        C::InvalidInput
        | C::NotFound
        | C::DuplicateUrl
        | C::DuplicateEnvironment
        | C::MixedEnvironments
        | C::NoCredential
        | C::AlreadyInitialized
        | C::WrongPassphrase
        | C::Database
        | C::Io
        | C::Randomness
        | C::AgentNotFound
        | C::Unsupported
        | C::SpawnFailed
        | C::SessionNotRunning
        | C::NotShown
        | C::AppConfig
        | C::OAuthFailed
        | C::Internal
        | C::NotInApp => return None,
        C::NotApproved => "Proxy mode needs no approval and the agent never sees a token: leave out --direct.",
        C::RegistryFailed => "The servers Keybearer already knows still work. Try again later, or check the registry's address: `keybearer settings registry`.",
        C::SignInRequired => "Sign in again: `keybearer credential replace ID` opens the sign-in page (`keybearer credential list --vault V` shows the id).",
        C::TeamServer | C::TeamSignInRequired | C::TeamDenied | C::TeamConflict => return None,
        C::BackupDamaged => "Use another copy of the backup file, or make a new backup on the old computer: `keybearer backup create FILE`.",
        C::BackupTooNew => "Install the newest Keybearer, then restore the backup.",
        C::BackupFileExists => "Choose another file name, or add --force to replace it.",
        C::VaultsExist => "Add --merge to restore the backup's vaults beside these (nothing is overwritten), or use an empty data folder (--data-dir).",
    })
}

/// Exit statuses scripts can rely on (documented in the README). Every code
/// is listed, so a new one does not compile until it has a status.
fn exit_code(error: &Error) -> u8 {
    use ErrorCode as C;
    match error.code() {
        C::InvalidInput | C::AmbiguousName | C::MixedEnvironments | C::Unsupported => 2,
        C::NotFound | C::SessionNotRunning => 3,
        C::DuplicateUrl | C::DuplicateEnvironment | C::DuplicateVault | C::AlreadyInitialized => 4,
        C::KeychainUnavailable | C::KeychainLocked => 5,
        C::NotInitialized
        | C::RecoveryNeeded
        | C::WrongRecoveryKey
        | C::PassphraseRequired
        | C::WrongPassphrase => 6,
        C::Integrity => 7,
        C::SchemaTooNew => 8,
        C::AppConfig => 9,
        C::SignInRequired | C::OAuthFailed => 11,
        C::NotApproved => 12,
        C::RegistryFailed => 13,
        C::TeamSignInRequired => 14,
        C::TeamDenied => 15,
        C::TeamServer => 16,
        C::TeamConflict => 17,
        C::BackupDamaged => 18,
        C::BackupTooNew => 19,
        C::BackupFileExists => 20,
        C::VaultsExist => 21,
        // Like a shell's "command not found".
        C::AgentNotFound => 127,
        C::NoCredential
        | C::Database
        | C::Io
        | C::Randomness
        | C::SpawnFailed
        | C::NotShown
        | C::Internal
        | C::NotInApp => 1,
    }
}
