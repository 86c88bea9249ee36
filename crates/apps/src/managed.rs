//! Which entries of a connected app's settings file are Keybearer's, and
//! what each one should hold (docs/architecture.md, "App connections").
//!
//! An entry is Keybearer's when its arguments carry the connection's id
//! (`bridge --connection ID`), or when its name is one Keybearer wrote for
//! the connection (`connection_entries`, migration 0013) — whatever that
//! name holds now, so an entry rewritten to start another program, without
//! the id, is still recognised. Every other entry is the user's and is
//! never looked at here.
//!
//! What it should hold: the bridge for the server Keybearer wrote under
//! that name (else the one its arguments name), starting the program
//! Keybearer wrote there (so the command line and the desktop app, which
//! may start different copies of Keybearer, do not flag each other's
//! entries), with the variables Keybearer writes today. `app_configs::
//! changed_entries` compares the two. Limits: a connection made before
//! migration 0013 has no names recorded until its next write, so until then
//! only entries still carrying the id are recognised.

use app_configs::{ServerEntry, Transport};

use crate::entries_table::WrittenEntry;

/// One of Keybearer's entries in the file.
#[derive(Debug, Clone)]
pub(super) struct Managed {
    pub(super) name: String,
    /// The server it bridges; `None`: it carries the id but names no server.
    pub(super) url: Option<String>,
    /// It carries the connection's id; else it is a name Keybearer wrote
    /// that holds something else now.
    pub(super) marked: bool,
    /// The program Keybearer wrote there, when recorded.
    pub(super) command: Option<String>,
    /// The file holds the name more than once.
    pub(super) repeated: bool,
}

/// Keybearer's entries among `servers`, each name once, in file order.
pub(super) fn managed(
    servers: &[ServerEntry],
    written: &[WrittenEntry],
    connection_id: &str,
) -> Vec<Managed> {
    let mut found: Vec<Managed> = Vec::new();
    for server in servers {
        if found.iter().any(|m| m.name == server.name) {
            continue;
        }
        let same: Vec<&ServerEntry> = servers.iter().filter(|s| s.name == server.name).collect();
        let record = written.iter().find(|w| w.name == server.name);
        let any_marked = same.iter().any(|s| s.is_ours(connection_id));
        if !any_marked && record.is_none() {
            continue;
        }
        let url = match record {
            // What Keybearer wrote, not what the arguments say now.
            Some(record) => Some(record.server_url.clone()),
            None => same.iter().find_map(|s| match &s.transport {
                Transport::Stdio(stdio) if s.is_ours(connection_id) => {
                    server_arg(&stdio.args).map(str::to_string)
                }
                _ => None,
            }),
        };
        found.push(Managed {
            name: server.name.clone(),
            url,
            marked: same.iter().all(|s| s.is_ours(connection_id)),
            command: record.map(|r| r.command.clone()),
            repeated: same.len() > 1,
        });
    }
    found
}

/// `--server URL` in a bridge entry's arguments.
pub(super) fn server_arg(args: &[String]) -> Option<&str> {
    let at = args.iter().position(|arg| arg == "--server")?;
    args.get(at + 1).map(String::as_str)
}

/// The entries carrying the connection's id, as records: what a file put
/// back from before an import holds of Keybearer's.
pub(super) fn marked_entries(servers: &[ServerEntry], connection_id: &str) -> Vec<WrittenEntry> {
    servers
        .iter()
        .filter(|s| s.is_ours(connection_id))
        .filter_map(|s| match &s.transport {
            Transport::Stdio(stdio) => Some(WrittenEntry {
                name: s.name.clone(),
                server_url: server_arg(&stdio.args)?.to_string(),
                command: stdio.command.clone(),
            }),
            _ => None,
        })
        .collect()
}
