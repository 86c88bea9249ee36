//! env list | create | use.

use keybearer_vault::{Engine, Error};
use serde_json::json;

use crate::output::{table, Output};

pub fn list(engine: &mut Engine, out: &Output) -> Result<(), Error> {
    let environments = engine.catalog().environments()?;
    let active = engine.catalog().active_environment()?;
    out.either(&environments, || {
        let rows: Vec<Vec<String>> = environments
            .iter()
            .map(|environment| {
                let marker = if environment.name == active { "*" } else { "" };
                vec![
                    marker.to_string(),
                    environment.name.clone(),
                    environment.colour.clone(),
                    environment.vault_count.to_string(),
                ]
            })
            .collect();
        table(&["", "ENVIRONMENT", "COLOUR", "VAULTS"], &rows);
    })
}

pub fn create(engine: &mut Engine, out: &Output, name: &str, colour: &str) -> Result<(), Error> {
    let environment = engine.catalog().create_environment(name, colour)?;
    out.either(&environment, || {
        outln!("Created environment {}.", environment.name)
    })
}

pub fn activate(engine: &mut Engine, out: &Output, name: &str) -> Result<(), Error> {
    engine.catalog().set_active_environment(name)?;
    let active = engine.catalog().active_environment()?;
    out.either(&json!({ "active_environment": active }), || {
        outln!("Active environment: {active}");
    })
}
