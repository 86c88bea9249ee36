//! team add | sign-in | sign-out | list | remove | history
//! (docs/architecture.md, "Team vaults"). Sign-in secrets (a password, a
//! token) are read from a hidden prompt or standard input, never
//! arguments; the token the server hands out goes to the OS keychain.

use std::path::Path;
use std::time::Duration;

use keybearer_team_vaults as team;
use keybearer_vault::{Engine, Error, TeamServerRecord};
use serde_json::json;

use crate::input;
use crate::output::{table, Output};

/// What `team add` was given.
pub struct AddArgs<'a> {
    pub address: &'a str,
    pub name: Option<&'a str>,
    pub ca_file: Option<&'a Path>,
    pub mount: &'a str,
    pub paths: &'a str,
    pub check_interval: u64,
    pub last_good: u64,
    pub yes: bool,
}

pub fn add(engine: &mut Engine, out: &Output, args: &AddArgs<'_>) -> Result<(), Error> {
    let ca_pem = match args.ca_file {
        None => None,
        Some(path) => Some(std::fs::read(path).map_err(|error| {
            Error::invalid(
                "ca_file",
                format!(
                    "The CA file {} could not be read ({error}). Check the path; nothing was added.",
                    path.display()
                ),
            )
        })?),
    };
    // The fingerprints first: nothing is trusted, or sent, before the user
    // has compared them with what their administrator gave them.
    if let Some(pem) = &ca_pem {
        let fingerprints = team::ca_fingerprints(pem)?;
        eprintln!(
            "The CA file {} holds {} certificate(s). SHA-256 fingerprint(s):",
            args.ca_file
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            fingerprints.len()
        );
        for fingerprint in &fingerprints {
            eprintln!("  {fingerprint}");
        }
        if !args.yes {
            input::confirm_with(
                &format!(
                    "Compare them with the fingerprint your administrator gave you. Trust this certificate authority for {} only?",
                    args.address.trim()
                ),
                "trust",
                "The CA file's fingerprint must be confirmed and there is no terminal to ask. Compare it, then add --yes. Nothing was added.",
                "Not trusted; nothing was added.",
            )?;
        }
    }
    let checked = team::check_server(&team::AddServer {
        address: args.address.to_string(),
        name: args.name.map(str::to_string),
        mount: Some(args.mount.to_string()),
        path_template: Some(args.paths.to_string()),
        ca_pem,
        check_interval: Some(Duration::from_secs(args.check_interval)),
        last_good_limit: Some(Duration::from_secs(args.last_good)),
    })?;
    let record = team::add_server(engine, &checked)?;
    let health = &checked.health;
    out.either(&json!({ "server": record, "sealed": health.sealed, "version": health.version }), || {
        outln!(
            "Added the team server \"{}\" ({}, {}{}).",
            record.name,
            record.address,
            if health.version.is_empty() { "version not said".to_string() } else { format!("version {}", health.version) },
            if health.sealed { ", SEALED: ask its administrator to unseal it" } else { "" }
        );
        outln!("Team vaults on it keep their credentials on the server: its administrators can read them.");
        outln!("Next: keybearer team sign-in \"{}\" --user <your user name>", record.name);
    })
}

pub fn sign_in(
    engine: &mut Engine,
    out: &Output,
    server: &str,
    user: Option<&str>,
    token: bool,
    oidc: Option<&team::OidcOptions>,
) -> Result<(), Error> {
    // The server must exist before anything is asked.
    let record = engine.team_catalog().server(server)?;
    let who = match (user, token) {
        _ if oidc.is_some() => {
            let opener = |start: &str| {
                super::sign_in::open_and_show(start);
                Ok(())
            };
            let options = oidc.cloned().unwrap_or_default();
            team::sign_in(
                engine,
                &record.id,
                team::SignIn::Oidc {
                    options: &options,
                    opener: &opener,
                },
            )?
        }
        (Some(user), false) => {
            let password = input::read_team_password(user)?;
            team::sign_in(
                engine,
                &record.id,
                team::SignIn::Password {
                    user,
                    password: &password,
                },
            )?
        }
        _ => {
            let token = input::read_team_token()?;
            team::sign_in(engine, &record.id, team::SignIn::Token(&token))?
        }
    };
    out.either(
        &json!({ "server": record.id, "signed_in_as": who.display_name }),
        || {
            outln!(
                "Signed in to \"{}\" as {}. The sign-in is kept in this computer's keychain and renewed while it is used.",
                record.name, who.display_name
            );
        },
    )
}

pub fn sign_out(engine: &mut Engine, out: &Output, server: &str) -> Result<(), Error> {
    let record = engine.team_catalog().server(server)?;
    let revoked = team::sign_out(engine, &record)?;
    out.either(&json!({ "server": record.id, "revoked": revoked }), || {
        if revoked {
            outln!("Signed out of \"{}\": the sign-in was revoked on the server and removed from this computer.", record.name);
        } else {
            outln!("Signed out of \"{}\" on this computer. The server could not be reached to revoke the sign-in; it stops working there when it expires.", record.name);
        }
    })
}

pub fn list(engine: &mut Engine, out: &Output) -> Result<(), Error> {
    let servers = engine.team_catalog().servers()?;
    let mut rows = Vec::with_capacity(servers.len());
    for server in &servers {
        let state = team::sign_in_state(server)?;
        rows.push((server, state));
    }
    let json: Vec<_> = rows
        .iter()
        .map(|(server, state)| json!({ "server": server, "sign_in": state }))
        .collect();
    out.either(&json, || {
        if rows.is_empty() {
            outln!("No team servers yet. Add one with: keybearer team add https://bao.example.com:8200 --name acme");
            return;
        }
        let lines: Vec<Vec<String>> = rows
            .iter()
            .map(|(server, state)| {
                vec![
                    server.id.clone(),
                    server.name.clone(),
                    server.address.clone(),
                    match state {
                        team::SignInState::SignedIn { who } => format!("signed in as {who}"),
                        team::SignInState::SignedOut => "signed out".to_string(),
                        team::SignInState::Unreachable { .. } => "out of reach".to_string(),
                    },
                    server.vault_count.to_string(),
                ]
            })
            .collect();
        table(&["ID", "NAME", "ADDRESS", "SIGN-IN", "VAULTS"], &lines);
    })
}

pub fn remove(engine: &mut Engine, out: &Output, server: &str, yes: bool) -> Result<(), Error> {
    let record = engine.team_catalog().server(server)?;
    if !yes {
        input::confirm(
            &format!(
                "Remove the team server \"{}\" ({}) from this computer? You are signed out, and its {} vault(s) disappear from this computer's list (they stay on the server, for your team).",
                record.name, record.address, record.vault_count
            ),
            &record.name,
        )?;
    }
    let (revoked, vaults) = team::remove_server(engine, &record)?;
    out.either(
        &json!({ "removed": record, "revoked": revoked, "vaults": vaults }),
        || {
            outln!(
                "Removed the team server \"{}\" and {} vault(s) from this computer; they stay on the server.",
                record.name,
                vaults.len()
            );
        },
    )
}

pub fn history(
    engine: &mut Engine,
    out: &Output,
    vault: &str,
    url: Option<&str>,
) -> Result<(), Error> {
    let vault = engine.catalog().vault(vault)?;
    let (server, folder, record) = team::connect(engine, &vault)?;
    let entries = server.history(&folder, url)?;
    out.either(&entries, || {
        outln!(
            "Changes to \"{}\" on the team server \"{}\" (newest first):",
            vault.display_name,
            record.name
        );
        if entries.is_empty() {
            outln!("No changes recorded.");
            return;
        }
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|entry| {
                vec![
                    entry.at.clone(),
                    entry.url.clone().unwrap_or_else(|| entry.key.clone()),
                    entry.version.to_string(),
                    entry.change.clone(),
                    entry.changed_by(),
                ]
            })
            .collect();
        table(&["WHEN", "SERVER URL", "VERSION", "CHANGE", "BY"], &rows);
    })
}

/// The line every command prints about a team vault, so none says less.
pub fn notice(engine: &mut Engine, vault: &keybearer_vault::Vault) -> Option<String> {
    let team = vault.team.as_ref()?;
    let record: TeamServerRecord = engine.team_catalog().server(&team.server_id).ok()?;
    Some(team::who_can_read(&record))
}
