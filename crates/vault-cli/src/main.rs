//! `agent-vault`: the command line over the Agent Vault engine.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod input;
mod output;

use std::process::ExitCode;

use clap::Parser;
use vault_core::{Engine, Error};

#[cfg(unix)]
use crate::cli::SessionAction;
use crate::cli::{
    Cli, Command, CredentialAction, EnvironmentAction, RecoveryKeyAction, VaultAction,
};
#[cfg(unix)]
use crate::commands::sessions;
use crate::commands::{credentials, environments, events, setup, vaults};
use crate::output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    match run(cli, &out) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            tracing::warn!(code = error.code(), "command failed");
            report(&error, &out);
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Runs one command; returns the process exit status (the agent's, for
/// `session start`).
fn run(cli: Cli, out: &Output) -> Result<u8, Error> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => vault_core::default_data_dir()?,
    };
    let mut engine = Engine::open(&data_dir)?;
    vault_core::logging::init_file_log(&data_dir);
    let engine = &mut engine;
    let command = match cli.command {
        #[cfg(unix)]
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
                credential_url,
                protocol,
            } => vaults::create(
                engine,
                out,
                &name,
                environment.as_deref(),
                credential_url.as_deref(),
                &protocol,
            ),
            VaultAction::List { environment } => vaults::list(engine, out, environment.as_deref()),
            VaultAction::Show { vault } => vaults::show(engine, out, &vault),
            VaultAction::Rename { vault, new_name } => {
                vaults::rename(engine, out, &vault, &new_name)
            }
            VaultAction::Delete { vault, confirm } => {
                vaults::delete(engine, out, &vault, confirm.yes)
            }
        },
        Command::Credential { action } => match action {
            CredentialAction::Add {
                vault,
                url,
                protocol,
            } => credentials::add(engine, out, &vault, &url, &protocol),
            CredentialAction::List { vault } => credentials::list(engine, out, &vault),
            CredentialAction::Delete { id, confirm } => {
                credentials::delete(engine, out, &id, confirm.yes)
            }
            CredentialAction::Replace { id } => credentials::replace(engine, out, &id),
            CredentialAction::Check { vault } => credentials::check(engine, out, vault.as_deref()),
        },
        Command::Events { vault, limit } => events::list(engine, out, vault.as_deref(), limit),
        #[cfg(unix)]
        Command::Session { .. } => unreachable!("handled above"),
    }
    .map(|()| 0)
}

#[cfg(unix)]
fn session(engine: &mut Engine, out: &Output, action: SessionAction) -> Result<u8, Error> {
    match action {
        SessionAction::Start {
            vaults,
            agent,
            dir,
            direct,
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
    Some(match error.code() {
        "not_initialized" => "Run `agent-vault init` to set up Agent Vault.",
        "keychain_unavailable" => {
            "On Linux this means no Secret Service (GNOME Keyring or KWallet) is running. Log in to a desktop session or start your keyring. On a machine without any keychain, set up with a passphrase instead: `agent-vault init --passphrase`."
        }
        "keychain_locked" => "Unlock your keychain (log in to your desktop session), then try again.",
        "recovery_needed" => "Run `agent-vault recover` and type your recovery key when asked.",
        "wrong_recovery_key" => "Check the key you wrote down at setup: 8 groups of 4 letters and digits.",
        "passphrase_required" => "Run the command in a terminal to be asked for it, or set AGENT_VAULT_PASSPHRASE.",
        "integrity" => "Replace the token: `agent-vault credential replace <credential id>`.",
        "schema_too_new" => "Install the newest Agent Vault.",
        _ => return None,
    })
}

/// Exit statuses scripts can rely on (documented in the README).
fn exit_code(error: &Error) -> u8 {
    match error.code() {
        "invalid_input" | "ambiguous_name" | "mixed_environments" | "unsupported" => 2,
        "not_found" | "session_not_running" => 3,
        "duplicate_url" | "duplicate_environment" | "already_initialized" => 4,
        "keychain_unavailable" | "keychain_locked" => 5,
        "not_initialized"
        | "recovery_needed"
        | "wrong_recovery_key"
        | "passphrase_required"
        | "wrong_passphrase" => 6,
        "integrity" => 7,
        "schema_too_new" => 8,
        // Like a shell's "command not found".
        "agent_not_found" => 127,
        _ => 1,
    }
}
