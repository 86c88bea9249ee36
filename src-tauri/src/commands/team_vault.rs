//! What the window shows of a team vault beyond its row
//! (docs/architecture.md, "Team vaults"): what this computer's sign-in may
//! do there, asked of the server (`sys/capabilities-self`) when the vault's
//! page opens (`get_vault`), never in lists (one request per vault). A
//! read-only member's forms are disabled with the reason in plain words;
//! the write commands still refuse on their own (the server is asked again
//! before anything is written, `keybearer_team::TeamServer::check_write`),
//! so the window is never the guard.
//!
//! "Team server unreachable since …": since when comes from the team
//! server's row (`unreachable_since`, migration 0017), set by the first
//! process of this computer that failed to reach it — the window here or
//! in Settings (`note_reach`), a session's or a bridge's team source
//! falling back to the last good values (`keybearer_team`'s `reach.rs`) —
//! and cleared by the next answer any of them gets. A row, not this
//! process's memory: the session that met the outage at 14:02 is often
//! another process than the window opened at 14:30, and the time must
//! survive the window's restart; a failure is one write, an answer after
//! one another.
//!
//! History (the Activity screen): who changed which credential of a team
//! vault and when, read from the server's metadata (`keybearer team
//! history`'s source, never a value); a change made outside Keybearer is
//! worded as the command line words it.

use keybearer_team_vaults as team;
use keybearer_vault::{Engine, Error, Result, Timestamp, Vault};
use serde::Serialize;
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// What the sign-in may do in a team vault.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum TeamAccess {
    /// May add, replace and delete credentials.
    ReadWrite,
    /// May not change credentials; `reason` says so in plain words.
    ReadOnly { reason: String },
    /// The server could not say (out of reach, signed out): `reason`.
    Unknown { reason: String },
}

/// A vault as its page shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct VaultView {
    #[serde(flatten)]
    pub vault: Vault,
    /// Team vaults only: asked of the server when the page opens.
    pub team_access: Option<TeamAccess>,
    /// Team vaults only: the server did not answer, since when.
    pub team_unreachable: Option<TeamUnreachable>,
    /// A vault moved here whose team copy is still on this team server
    /// (its name): moving it again deletes it (`team_move.rs`).
    pub team_copy_left: Option<String>,
}

/// A team server out of reach.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct TeamUnreachable {
    /// The first failure to reach it that no answer followed.
    pub since: Timestamp,
    /// How long agents use the last value it gave (its last-good limit).
    #[ts(type = "number")]
    pub last_good_secs: u64,
}

/// What asking a team server showed of whether it answers.
pub(crate) enum Reach {
    Answered,
    Unreachable,
    /// Not asked, or a failure that is not the server's doing.
    Unknown,
}

impl Reach {
    pub(crate) fn of<T>(answer: &Result<T>) -> Self {
        match answer {
            Err(Error::Team(error)) if error.is_unreachable() => Self::Unreachable,
            Ok(_) | Err(Error::Team(_)) => Self::Answered,
            Err(_) => Self::Unknown,
        }
    }
}

/// Records whether `server_id` answered; returns since when it has not,
/// if it has not.
pub(crate) fn note_reach(
    engine: &mut Engine,
    server_id: &str,
    reach: Reach,
) -> Result<Option<Timestamp>> {
    match reach {
        Reach::Unreachable => engine.team_catalog().server_unreachable(server_id),
        Reach::Answered => {
            engine.team_catalog().server_reachable(server_id)?;
            Ok(None)
        }
        Reach::Unknown => Ok(engine.team_catalog().server(server_id)?.unreachable_since),
    }
}

/// `vault` with what its page needs to know of its team server.
pub(crate) fn vault_view(engine: &mut Engine, vault: Vault) -> Result<VaultView> {
    let Some(server_id) = vault.team.as_ref().map(|team| team.server_id.clone()) else {
        // Only while that server is still known here (removing it forgets it).
        let team_copy_left = match engine.catalog().team_copy_left(&vault.id)? {
            Some(left) => engine
                .team_catalog()
                .server(&left.server_id)
                .ok()
                .map(|server| server.name),
            None => None,
        };
        return Ok(VaultView {
            vault,
            team_access: None,
            team_unreachable: None,
            team_copy_left,
        });
    };
    let asked = team::connect(engine, &vault)
        .and_then(|(server, folder, record)| Ok((server.access(&folder)?, record)));
    let since = note_reach(engine, &server_id, Reach::of(&asked))?;
    let team_unreachable = match since {
        Some(since) => Some(TeamUnreachable {
            since,
            last_good_secs: engine.team_catalog().server(&server_id)?.last_good_secs,
        }),
        None => None,
    };
    Ok(VaultView {
        vault,
        team_access: Some(access(asked)?),
        team_unreachable,
        team_copy_left: None,
    })
}

fn access(asked: Result<(team::Access, keybearer_vault::TeamServerRecord)>) -> Result<TeamAccess> {
    match asked {
        Ok((access, _)) if access.write => Ok(TeamAccess::ReadWrite),
        Ok((access, record)) => Ok(TeamAccess::ReadOnly {
            reason: team::read_only_reason(&record, access),
        }),
        Err(Error::Team(error)) => Ok(TeamAccess::Unknown {
            reason: error.to_string(),
        }),
        Err(other) => Err(other),
    }
}

/// One change of a team vault's credential, as the Activity screen shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct TeamChange {
    /// When the server recorded it.
    pub at: Timestamp,
    /// The MCP server the credential is for (`None`: not known without
    /// reading the value, which the history never does).
    pub url: Option<String>,
    /// The secret's name in the vault's folder.
    pub key: String,
    #[ts(type = "number")]
    pub version: u64,
    /// `write` or `delete`.
    pub change: String,
    /// Who made it, or that it was made outside Keybearer (the command
    /// line's words).
    pub by: String,
    /// Made outside Keybearer (no name recorded).
    pub outside: bool,
    /// The version's data was destroyed on the server.
    pub destroyed: bool,
}

/// A team vault's changes, newest first, as its server keeps them.
#[tauri::command]
pub async fn team_vault_history(
    state: State<'_, AppState>,
    vault: String,
) -> IpcResult<Vec<TeamChange>> {
    state
        .run(move |engine| {
            let vault = engine.catalog().vault(&vault)?;
            let Some(server_id) = vault.team.as_ref().map(|team| team.server_id.clone()) else {
                return Err(Error::invalid(
                    "vault",
                    format!(
                        "\"{}\" is a vault of this computer: its changes are in the activity list.",
                        vault.display_name
                    ),
                ));
            };
            let read = team::connect(engine, &vault)
                .and_then(|(server, folder, _)| server.history(&folder, None));
            note_reach(engine, &server_id, Reach::of(&read))?;
            Ok(read?
                .into_iter()
                .map(|entry| TeamChange {
                    at: Timestamp::parse_rfc3339(&entry.at).unwrap_or(Timestamp(0)),
                    by: entry.changed_by(),
                    outside: entry.by.is_none(),
                    url: entry.url,
                    key: entry.key,
                    version: entry.version,
                    change: entry.change,
                    destroyed: entry.destroyed,
                })
                .collect())
        })
        .await
}
