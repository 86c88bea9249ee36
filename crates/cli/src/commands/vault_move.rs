//! vault move VAULT --team SERVER: a local vault to a team server; and
//! vault move VAULT --local: a team vault back to this computer
//! (docs/architecture.md, "Team vaults"; the steps and why nothing is lost
//! are `keybearer_team_vaults`'s `moving` module). The user is asked first:
//! to a team server, with who will be able to read the values, before any
//! value leaves this computer; back here, with whether the team copy is
//! deleted from the server or stays there.

use keybearer_team_vaults as team;
use keybearer_vault::{Engine, Error};
use serde_json::json;

use crate::input;
use crate::output::Output;

pub fn run(
    engine: &mut Engine,
    out: &Output,
    vault: &str,
    server: &str,
    folder: Option<&str>,
    yes: bool,
) -> Result<(), Error> {
    let plan = team::plan_move(engine, vault, server, folder)?;
    if !yes {
        input::confirm_with(
            &format!(
                "Move the vault \"{}\" ({}, {} credential(s)) to the team server \"{}\" ({}), folder {}?\n{}\nIts credentials are copied there and read back, then removed from this computer.",
                plan.vault.display_name,
                plan.vault.environment,
                plan.credentials.len(),
                plan.server.name,
                plan.server.address,
                plan.path,
                team::who_can_read(&plan.server),
            ),
            &plan.vault.display_name,
            "Moving sends the vault's values to the team server and there is no terminal to ask for confirmation. Add --yes to confirm. Nothing was moved.",
            "Not confirmed; nothing was moved.",
        )?;
    }
    super::unlock(engine)?;
    let copied = team::copy_for_move(engine, &plan)?;
    let moved = team::finish_move(engine, &plan)?;
    out.either(
        &json!({
            "moved": plan.vault.id,
            "vault": moved,
            "written": copied.written,
            "already_there": copied.already_there,
        }),
        || {
            outln!(
                "Moved \"{}\" to the team server \"{}\" (folder {}): {} credential(s) copied and read back{}, then removed from this computer. Its id is now {}.",
                moved.display_name,
                plan.server.name,
                plan.path,
                copied.written + copied.already_there,
                if copied.already_there > 0 {
                    format!(" ({} already there from an earlier attempt)", copied.already_there)
                } else {
                    String::new()
                },
                moved.id
            );
            outln!("{}", team::who_can_read(&plan.server));
        },
    )
}

/// `vault move VAULT --local`.
pub fn to_local(engine: &mut Engine, out: &Output, vault: &str, yes: bool) -> Result<(), Error> {
    let plan = team::plan_move_to_local(engine, vault)?;
    if !yes {
        let question = if plan.only_removal_left {
            format!(
                "\"{}\" was already moved to this computer, but its team copy is still on the team server \"{}\" ({}), folder {}. Delete it there now? Teammates who use that folder lose these credentials (the server keeps their history for its administrators).",
                plan.vault.display_name, plan.server.name, plan.server.address, plan.path
            )
        } else {
            format!(
                "Move the team vault \"{}\" ({}) from the team server \"{}\" ({}), folder {}, to this computer?\nIts credentials are read from the server and sealed here with this computer's key; sessions and apps here then use them without the server.\n{}",
                plan.vault.display_name,
                plan.vault.environment,
                plan.server.name,
                plan.server.address,
                plan.path,
                if plan.remove_team_copy {
                    "Then the team copy is deleted from the server, so the values live only on this computer: teammates who use that folder lose these credentials (the server keeps their history for its administrators)."
                } else {
                    "Your sign-in may not delete on the team server, so the team copy stays there for your team (ask its administrators to remove it if it should go)."
                },
            )
        };
        input::confirm_with(
            &question,
            &plan.vault.display_name,
            "Moving changes where the vault's values are kept and there is no terminal to ask for confirmation. Add --yes to confirm. Nothing was moved.",
            "Not confirmed; nothing was moved.",
        )?;
    }
    super::unlock(engine)?;
    let (moved, copied) = team::copy_to_local(engine, &plan)?;
    let removed = match team::remove_team_copy(engine, &plan, &moved) {
        Ok(removed) => removed,
        Err(error) => {
            eprintln!(
                "\"{}\" is on this computer now, with its {copied} credential(s) read back; its team copy could not be deleted from the server yet. Run `keybearer vault move \"{}\" --local` again to finish.",
                moved.display_name, moved.display_name
            );
            return Err(error);
        }
    };
    out.either(
        &json!({
            "moved": plan.vault.id,
            "vault": moved,
            "copied": copied,
            "team_copy": if removed.is_some() { "deleted" } else { "kept" },
        }),
        || {
            if !plan.only_removal_left {
                outln!(
                    "Moved \"{}\" to this computer: {copied} credential(s) read from the team server \"{}\", sealed here and read back. Its id is now {}.",
                    moved.display_name,
                    plan.server.name,
                    moved.id
                );
            }
            match removed {
                Some(_) => outln!(
                    "The team copy (folder {}) was deleted from the server; the values now live only on this computer.",
                    plan.path
                ),
                None => outln!(
                    "The team copy (folder {}) stays on the server: your sign-in may not delete there. Ask its administrators to remove it if it should go.",
                    plan.path
                ),
            }
        },
    )
}
