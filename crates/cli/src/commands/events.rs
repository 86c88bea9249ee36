//! events: the audit trail.

use keybearer_vault::{Engine, Error};

use crate::output::{table, Output};

pub fn list(
    engine: &mut Engine,
    out: &Output,
    vault: Option<&str>,
    limit: u32,
) -> Result<(), Error> {
    let events = engine.audit().events(vault, limit)?;
    // Which app a connection is, for the BY column (a removed one by its id).
    let apps: std::collections::HashMap<String, String> = engine
        .connections()
        .list()?
        .into_iter()
        .map(|c| (c.id, c.app))
        .collect();
    out.either(&events, || {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|event| {
                let opt = |value: &Option<String>| value.clone().unwrap_or_default();
                vec![
                    event.at.to_rfc3339(),
                    event.kind.to_string(),
                    opt(&event.environment),
                    opt(&event.vault_id),
                    opt(&event.credential_id),
                    opt(&event.upstream_url),
                    match (&event.session_id, &event.connection_id) {
                        (Some(session), _) => session.clone(),
                        (None, Some(connection)) => apps
                            .get(connection)
                            .map_or_else(|| connection.clone(), |app| format!("app {app}")),
                        (None, None) => String::new(),
                    },
                    match (&event.detail, event.count) {
                        (Some(detail), 2..) => format!("{detail} ({} requests)", event.count),
                        (None, 2..) => format!("{} requests", event.count),
                        (detail, _) => opt(detail),
                    },
                ]
            })
            .collect();
        table(
            &[
                "TIME",
                "EVENT",
                "ENVIRONMENT",
                "VAULT",
                "CREDENTIAL",
                "SERVER",
                "BY",
                "DETAIL",
            ],
            &rows,
        );
    })
}
