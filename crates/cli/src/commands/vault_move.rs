//! vault move VAULT --team SERVER: a local vault to a team server
//! (docs/architecture.md, "Team vaults"; the steps and why nothing is lost
//! are `keybearer_team_vaults`'s `moving` module). The user is asked,
//! with who will be able to read the values, before any value leaves this
//! computer.

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
