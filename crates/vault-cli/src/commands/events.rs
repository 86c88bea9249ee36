//! events: the audit trail.

use vault_core::{Engine, Error};

use crate::output::{table, Output};

pub fn list(
    engine: &mut Engine,
    out: &Output,
    vault: Option<&str>,
    limit: u32,
) -> Result<(), Error> {
    let events = engine.audit().events(vault, limit)?;
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
                    opt(&event.detail),
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
                "DETAIL",
            ],
            &rows,
        );
    })
}
