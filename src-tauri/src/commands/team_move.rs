//! Moving a vault to a team server and back, from its page
//! (docs/architecture.md, "Team vaults"; the steps, and why nothing is lost
//! whatever fails, are `keybearer_team_vaults`'s `moving` module — the
//! functions `keybearer vault move` calls, in the same order).
//!
//! Two commands each way: `plan_…` checks the move and answers what the
//! confirmation says (who will be able to read the values; whether the
//! team copy is deleted or kept), sending the server nothing but
//! questions; `move_…` plans again, then copies, checks and finishes. The
//! plan holds a signed-in server, so it is made again rather than kept
//! between the two calls; what the user was told about the team copy is
//! sent back and compared, so a policy changed in between moves nothing.
//! No answer carries a value: vaults, names, paths and counts only.

use keybearer_team_vaults as team;
use keybearer_vault::{Error, Vault};
use serde::Serialize;
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// A move of a local vault to a team server, checked: what the
/// confirmation shows.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct TeamMovePlan {
    pub vault: Vault,
    pub server_name: String,
    pub server_address: String,
    /// The folder's path as `bao kv` shows it.
    pub path: String,
    #[ts(type = "number")]
    pub credential_count: usize,
    /// `keybearer_team_vaults::who_can_read`: the words every front end uses.
    pub who_can_read: String,
}

/// A move of a team vault to this computer, checked.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct LocalMovePlan {
    pub vault: Vault,
    pub server_name: String,
    pub server_address: String,
    pub path: String,
    /// The sign-in may delete there: the team copy is deleted at the end
    /// (the values then live only here); otherwise it stays for the team.
    pub remove_team_copy: bool,
    /// The vault is already here; only deleting the team copy is left.
    pub only_removal_left: bool,
}

/// What became of the team copy after a move to this computer.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum TeamCopy {
    Deleted,
    /// The sign-in may not delete there.
    Kept,
    /// The vault is here with every value; the server did not let the
    /// copy be deleted yet (`reason`). Moving again finishes it.
    NotYetDeleted {
        reason: String,
    },
}

/// A vault moved to this computer.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct MovedHere {
    pub vault: Vault,
    #[ts(type = "number")]
    pub credential_count: usize,
    pub team_copy: TeamCopy,
}

fn team_plan_view(plan: &team::MovePlan) -> TeamMovePlan {
    TeamMovePlan {
        vault: plan.vault.clone(),
        server_name: plan.server.name.clone(),
        server_address: plan.server.address.clone(),
        path: plan.path.clone(),
        credential_count: plan.credentials.len(),
        who_can_read: team::who_can_read(&plan.server),
    }
}

/// Checks a move of the local vault `vault` to the team server `server`.
#[tauri::command]
pub async fn plan_move_to_team(
    state: State<'_, AppState>,
    vault: String,
    server: String,
) -> IpcResult<TeamMovePlan> {
    state
        .run(move |engine| {
            Ok(team_plan_view(&team::plan_move(
                engine, &vault, &server, None,
            )?))
        })
        .await
}

/// Moves the local vault `vault` to the team server `server`: copied, read
/// back, then removed here (one transaction). Answers the team vault.
#[tauri::command]
pub async fn move_to_team(
    state: State<'_, AppState>,
    vault: String,
    server: String,
) -> IpcResult<Vault> {
    state
        .run(move |engine| {
            let plan = team::plan_move(engine, &vault, &server, None)?;
            let copied = team::copy_for_move(engine, &plan)?;
            let moved = team::finish_move(engine, &plan)?;
            tracing::info!(
                written = copied.written,
                already_there = copied.already_there,
                "vault moved to a team server from the window"
            );
            super::apps::follow(engine);
            Ok(moved)
        })
        .await
}

/// Checks a move of the team vault `vault` (or of a vault whose team copy
/// is left to delete) to this computer.
#[tauri::command]
pub async fn plan_move_to_local(
    state: State<'_, AppState>,
    vault: String,
) -> IpcResult<LocalMovePlan> {
    state
        .run(move |engine| {
            let plan = team::plan_move_to_local(engine, &vault)?;
            Ok(LocalMovePlan {
                vault: plan.vault.clone(),
                server_name: plan.server.name.clone(),
                server_address: plan.server.address.clone(),
                path: plan.path.clone(),
                remove_team_copy: plan.remove_team_copy,
                only_removal_left: plan.only_removal_left,
            })
        })
        .await
}

/// Moves `vault` to this computer. `remove_team_copy`: what the user was
/// told will become of the team copy; a plan that now says otherwise moves
/// nothing.
#[tauri::command]
pub async fn move_to_local(
    state: State<'_, AppState>,
    vault: String,
    remove_team_copy: bool,
) -> IpcResult<MovedHere> {
    state
        .run(move |engine| {
            let plan = team::plan_move_to_local(engine, &vault)?;
            if plan.remove_team_copy != remove_team_copy {
                return Err(Error::invalid(
                    "vault",
                    "What your sign-in may do on the team server changed since you were asked. Nothing was moved; open the move again to see what it will do now.",
                ));
            }
            let (moved, credential_count) = team::copy_to_local(engine, &plan)?;
            super::apps::follow(engine);
            let team_copy = match team::remove_team_copy(engine, &plan, &moved) {
                Ok(Some(_)) => TeamCopy::Deleted,
                Ok(None) => TeamCopy::Kept,
                Err(error) => TeamCopy::NotYetDeleted {
                    reason: error.to_string(),
                },
            };
            Ok(MovedHere {
                vault: moved,
                credential_count,
                team_copy,
            })
        })
        .await
}
