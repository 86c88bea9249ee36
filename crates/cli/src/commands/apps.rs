//! apps list | connect | change | disconnect | import | undo-import | sync.

use keybearer_apps::{AppChange, AppEnvironment, CopyKind, EngineApps, TokenCopy};
use keybearer_vault::{Engine, Error};

use crate::cli::AppsAction;
use crate::output::{table, when, Output};

pub fn run(engine: &mut Engine, out: &Output, action: AppsAction) -> Result<(), Error> {
    let env = AppEnvironment::current(program()?)?;
    let mut apps = engine.apps(env);
    match action {
        AppsAction::List => {
            let statuses = apps.list()?;
            out.either(&statuses, || {
                let rows: Vec<Vec<String>> = statuses
                    .iter()
                    .map(|status| {
                        let state = match (&status.connection, status.installed) {
                            (Some(c), _) => format!(
                                "connected: {} ({} vaults)",
                                c.environment,
                                c.vault_ids.len()
                            ),
                            (None, true) => "installed".to_string(),
                            (None, false) => "not found".to_string(),
                        };
                        let mut notes = match (&status.problem, status.pasted_secrets) {
                            (Some(problem), _) => problem.clone(),
                            (None, 0) => String::new(),
                            (None, n) => format!(
                                "{n} pasted token(s): `keybearer apps import` can move them"
                            ),
                        };
                        if !status.changed_entries.is_empty() {
                            if !notes.is_empty() {
                                notes.push_str("; ");
                            }
                            notes.push_str(&format!(
                                "{} entry(ies) changed by something else: see below",
                                status.changed_entries.len()
                            ));
                        }
                        vec![
                            status.app.clone(),
                            state,
                            when(status.connection.as_ref().and_then(|c| c.last_used_at)),
                            status.config_path.clone(),
                            notes,
                        ]
                    })
                    .collect();
                table(
                    &["APP", "STATE", "LAST USED", "SETTINGS FILE", "NOTES"],
                    &rows,
                );
                for status in &statuses {
                    for changed in &status.changed_entries {
                        outln!();
                        outln!(
                            "{} Run `keybearer apps sync {}` to put it back.",
                            changed.warning,
                            status.app
                        );
                    }
                }
            })
        }
        AppsAction::Connect { app, vaults } => {
            let change = apps.connect(&app, &vaults)?;
            report(out, &change, "Connected")
        }
        AppsAction::Change { app, vaults } => {
            let change = apps.change(&app, &vaults)?;
            report(out, &change, "Changed")
        }
        AppsAction::Disconnect { app } => {
            let change = apps.disconnect(&app)?;
            report(out, &change, "Disconnected")
        }
        AppsAction::Import {
            app,
            vault: None,
            delete_copies: false,
        } => {
            let found = apps.pasted_secrets(&app)?;
            out.either(&found, || {
                if found.is_empty() {
                    outln!("No pasted tokens found in this app's settings.");
                    return;
                }
                let rows: Vec<Vec<String>> = found
                    .iter()
                    .map(|f| {
                        vec![
                            f.server.clone(),
                            f.url.clone(),
                            f.location.clone(),
                            f.note.clone().unwrap_or_else(|| "can be imported".into()),
                        ]
                    })
                    .collect();
                table(&["SERVER", "URL", "WHERE", "IMPORT"], &rows);
                outln!("To move them into a vault: keybearer apps import {app} --vault VAULT");
            })
        }
        AppsAction::Import {
            app,
            vault: None,
            delete_copies: true,
        } => {
            drop(apps);
            super::unlock(engine)?;
            let env = AppEnvironment::current(program()?)?;
            let cleanup = engine.apps(env).delete_token_copies(&app)?;
            out.either(&cleanup, || {
                if cleanup.deleted.is_empty() && cleanup.copies.is_empty() {
                    outln!("No backup beside the settings file holds an imported token.");
                }
                describe_cleanup(&cleanup.deleted, &cleanup.copies);
            })
        }
        AppsAction::Import {
            app,
            vault: Some(vault),
            delete_copies,
        } => {
            drop(apps);
            super::unlock(engine)?;
            let env = AppEnvironment::current(program()?)?;
            let outcome = engine.apps(env).import(&app, &vault, delete_copies)?;
            out.either(&outcome, || {
                let config = &outcome.change.config_path;
                for entry in &outcome.imported {
                    let remains: Vec<String> = outcome
                        .copies
                        .iter()
                        .filter(|c| c.servers.contains(&entry.server))
                        .map(where_copy_is)
                        .collect();
                    if remains.is_empty() {
                        outln!(
                            "Moved the token of \"{}\" ({}) into the vault as {}; {config} no longer holds it.",
                            entry.server, entry.url, entry.credential_id
                        );
                    } else {
                        outln!(
                            "Stored the token of \"{}\" ({}) in the vault as {}; a copy remains in {}.",
                            entry.server,
                            entry.url,
                            entry.credential_id,
                            remains.join(", ")
                        );
                    }
                }
                for left in &outcome.left {
                    outln!(
                        "Left \"{}\" ({}): {}",
                        left.server,
                        left.location,
                        left.note.as_deref().unwrap_or("")
                    );
                }
                describe(&outcome.change, "Updated");
                outln!("  The file as it was is kept encrypted: `keybearer apps undo-import {app}` puts it back.");
                describe_cleanup(&outcome.deleted_copies, &outcome.copies);
                if outcome.copies.iter().any(|c| c.deletable) {
                    outln!("  To delete the backups listed: keybearer apps import {app} --delete-copies");
                }
            })
        }
        AppsAction::UndoImport { app } => {
            drop(apps);
            super::unlock(engine)?;
            let env = AppEnvironment::current(program()?)?;
            let change = engine.apps(env).undo_import(&app)?;
            report(out, &change, "Restored")
        }
        AppsAction::Sync { app: Some(app) } => {
            let change = apps.sync_app(&app)?;
            report(out, &change, "Synced")
        }
        AppsAction::Sync { app: None } => {
            let mut changes = Vec::new();
            let mut failed = None;
            for result in apps.sync()? {
                match result {
                    Ok(change) => changes.push(change),
                    Err(error) => {
                        eprintln!("{error}");
                        failed = Some(error);
                    }
                }
            }
            out.either(&changes, || {
                for change in &changes {
                    describe(change, "Synced");
                }
                if changes.is_empty() && failed.is_none() {
                    outln!("No app is connected.");
                }
            })?;
            failed.map_or(Ok(()), Err)
        }
    }
}

/// After a server was added to or removed from a vault: connected apps'
/// entries follow, and the user hears about it on stderr (stdout may be
/// JSON). Best effort: the change itself already succeeded.
pub fn follow(engine: &mut Engine) {
    let Ok(env) = program().and_then(AppEnvironment::current) else {
        return;
    };
    let Ok(results) = engine.apps(env).sync() else {
        return;
    };
    for result in results {
        match result {
            Ok(change)
                if !change.added.is_empty()
                    || !change.removed.is_empty()
                    || !change.restored.is_empty() =>
            {
                let mut what = Vec::new();
                if !change.added.is_empty() {
                    what.push(format!("added {}", change.added.join(", ")));
                }
                if !change.removed.is_empty() {
                    what.push(format!("removed {}", change.removed.join(", ")));
                }
                if !change.restored.is_empty() {
                    what.push(format!(
                        "put back {}, which something else had changed",
                        restored_names(&change)
                    ));
                }
                let restart = if change.restart_needed {
                    format!(" Restart {} so it loads the change.", change.name)
                } else {
                    String::new()
                };
                eprintln!(
                    "{} ({}): {}.{restart}",
                    change.name,
                    change.config_path,
                    what.join("; ")
                );
            }
            Ok(_) => {}
            Err(error) => eprintln!("A connected app was not updated: {error}"),
        }
    }
}

/// "~/.cursor/mcp.json~", "2 hard links of ~/.cursor/mcp.json".
fn where_copy_is(copy: &TokenCopy) -> String {
    match (&copy.kind, &copy.path) {
        (CopyKind::HardLink, _) if copy.count == 1 => "a hard link of the settings file".into(),
        (CopyKind::HardLink, _) => format!("{} hard links of the settings file", copy.count),
        (_, Some(path)) => path.clone(),
        (_, None) => "another file".into(),
    }
}

/// The copies deleted, then those that remain, each in its own words.
fn describe_cleanup(deleted: &[String], copies: &[TokenCopy]) {
    for path in deleted {
        outln!("Deleted {path} (it held an imported token).");
    }
    for copy in copies {
        outln!("{}", copy.message);
    }
}

fn report(out: &Output, change: &AppChange, verb: &str) -> Result<(), Error> {
    out.either(change, || describe(change, verb))
}

fn describe(change: &AppChange, verb: &str) {
    outln!("{verb} {} ({}).", change.name, change.config_path);
    if !change.added.is_empty() {
        outln!("  added: {}", change.added.join(", "));
    }
    if !change.removed.is_empty() {
        outln!("  removed: {}", change.removed.join(", "));
    }
    if !change.restored.is_empty() {
        outln!(
            "  put back as Keybearer writes them (something else had changed them): {}",
            restored_names(change)
        );
    }
    if change.connection.is_some() && change.entries.is_empty() {
        outln!(
            "  These vaults have no servers yet: add a credential, then run `keybearer apps sync`."
        );
    }
    if change.restart_needed {
        outln!("  Restart {} so it loads the change.", change.name);
    }
}

fn restored_names(change: &AppChange) -> String {
    let names: Vec<&str> = change.restored.iter().map(|r| r.name.as_str()).collect();
    names.join(", ")
}

/// This program's absolute path: what the apps' entries start.
fn program() -> Result<std::path::PathBuf, Error> {
    keybearer_bridge::program()
}
