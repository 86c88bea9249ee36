//! Team vaults on this computer (docs/architecture.md, "Team vaults"): a
//! `vaults` row (`tvl_…`) naming its team server and its folder there.
//! Creating one attaches to the folder — shared with whoever else names
//! it — or makes it (a member allowed to write). Its environment picks its
//! path on the server (the server's path template), so a production vault
//! is never read at a development path.

use keybearer_base::error::{Error, Result};
use keybearer_team::{Access, Attached, TeamServer, TeamVault};
use keybearer_vault::{Engine, TeamServerRecord, Vault};

use crate::servers::settings_of;

/// A team vault's folder name from a vault's name: letters and digits kept
/// (lower case), runs of anything else one `-`.
pub fn folder_from_name(name: &str) -> String {
    let mut folder = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            folder.push(c.to_ascii_lowercase());
        } else if matches!(c, '.' | '_' | '-') && !folder.is_empty() {
            folder.push(c);
        } else if !folder.is_empty() && !folder.ends_with('-') {
            folder.push('-');
        }
    }
    let folder = folder.trim_end_matches(['-', '.', '_']).to_string();
    if folder.is_empty() {
        "vault".to_string()
    } else {
        folder
    }
}

/// Adds a team vault named `name` of `environment` on `server`, in
/// `folder` (default: made from the name). The folder is found on the
/// server (shared) or made there; nothing is stored here if neither works.
pub fn create_team_vault(
    engine: &mut Engine,
    name: &str,
    environment: &str,
    server: &str,
    folder: Option<&str>,
) -> Result<(Vault, Attached)> {
    let record = engine.team_catalog().server(server)?;
    let folder = folder.map_or_else(|| folder_from_name(name), str::to_string);
    // Checked (folder name, environment) before the server is asked.
    let probe = TeamVault::new("tvl_new", environment, &folder)?;
    let signed_in = connect_server(&record)?;
    let attached = signed_in.attach_vault(&probe)?;
    let vault =
        engine
            .team_catalog()
            .create_vault(name, &probe.environment, &record.id, &probe.name)?;
    Ok((vault, attached))
}

/// The team server's signed-in client, from the saved sign-in.
pub fn connect_server(record: &TeamServerRecord) -> Result<TeamServer> {
    TeamServer::resume(settings_of(record)?)
}

/// The team vault behind a vault row; a local vault is refused.
pub fn team_vault(vault: &Vault) -> Result<TeamVault> {
    let team = vault.team.as_ref().ok_or_else(|| {
        Error::invalid(
            "vault",
            format!(
                "\"{}\" is a vault of this computer, not a team vault.",
                vault.display_name
            ),
        )
    })?;
    TeamVault::new(&vault.id, &vault.environment, &team.folder)
}

/// A team vault's server (signed in) and its folder.
pub fn connect(
    engine: &mut Engine,
    vault: &Vault,
) -> Result<(TeamServer, TeamVault, TeamServerRecord)> {
    let team = team_vault(vault)?;
    let server_id = vault
        .team
        .as_ref()
        .map(|team| team.server_id.clone())
        .unwrap_or_default();
    let record = engine.team_catalog().server(&server_id)?;
    let server = connect_server(&record)?;
    Ok((server, team, record))
}

/// Like [`connect`], but a server out of reach is not an error (the saved
/// sign-in is used when it answers again).
pub fn connect_offline(
    engine: &mut Engine,
    vault: &Vault,
) -> Result<(TeamServer, TeamVault, TeamServerRecord)> {
    let team = team_vault(vault)?;
    let server_id = vault
        .team
        .as_ref()
        .map(|team| team.server_id.clone())
        .unwrap_or_default();
    let record = engine.team_catalog().server(&server_id)?;
    let server = TeamServer::resume_or_offline(settings_of(&record)?)?;
    Ok((server, team, record))
}

/// What the sign-in may do in a team vault (read, change).
pub fn access(engine: &mut Engine, vault: &Vault) -> Result<Access> {
    let (server, team, _) = connect(engine, vault)?;
    server.access(&team)
}

/// The words every front end uses to say who can read a team vault's
/// values, so none of them says less.
pub fn who_can_read(record: &TeamServerRecord) -> String {
    format!(
        "This is a team vault: its credentials are kept on the team server {} ({}). Keybearer never shows their values, but the server's administrators, and anyone its policies let read this vault's folder, can read them.",
        record.name, record.address
    )
}

/// The words every front end uses to say why a read-only member's forms
/// of a team vault are disabled.
pub fn read_only_reason(record: &TeamServerRecord, access: Access) -> String {
    if access.read {
        format!(
            "Your account on {} may use these credentials but not change them; ask its administrator.",
            record.name
        )
    } else {
        format!(
            "Your account on {} may neither use nor change this vault's credentials; ask its administrator.",
            record.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_come_from_vault_names() {
        assert_eq!(folder_from_name("GitHub"), "github");
        assert_eq!(folder_from_name("  Team tools / Jira "), "team-tools-jira");
        assert_eq!(folder_from_name("a.b_c"), "a.b_c");
        assert_eq!(folder_from_name("***"), "vault");
        assert_eq!(folder_from_name("Überwachung"), "berwachung");
    }
}
