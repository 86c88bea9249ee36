//! What the apps part is given and answers (docs/architecture.md, "App
//! connections"): where this computer's apps keep their settings
//! ([`AppEnvironment`]), an app as the Apps screen shows it ([`AppStatus`]),
//! what a connect or sync wrote ([`AppChange`]), and an app named by its id.

use std::path::PathBuf;

use app_configs::{App, Locations, Os};
use keybearer_base::error::{Error, Result};
use keybearer_base::model::AppConnection;
use serde::Serialize;

use crate::ChangedEntry;

/// Where apps keep their settings and which program the entries start.
#[derive(Debug, Clone)]
pub struct AppEnvironment {
    pub os: Os,
    pub locations: Locations,
    /// The `keybearer` program the bridge entries run (an absolute path).
    pub program: PathBuf,
}

impl AppEnvironment {
    /// This computer's: its OS, home and environment variables.
    pub fn current(program: PathBuf) -> Result<Self> {
        let locations = Locations::from_env().ok_or_else(|| {
            Error::invalid(
                "home",
                "No home folder was found, so the apps' settings cannot be located. Set HOME.",
            )
        })?;
        Ok(Self {
            os: Os::current(),
            locations,
            program,
        })
    }
}

/// One app as the Apps screen and `keybearer apps list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AppStatus {
    /// Stable id (`claude-desktop`, `cursor`, …).
    pub app: String,
    pub name: String,
    /// Its settings folder or file exists, or its program is on PATH.
    pub installed: bool,
    /// The settings file, home shown as `~`.
    pub config_path: String,
    pub connection: Option<AppConnection>,
    /// The server entries Keybearer wrote there for the connection.
    pub entries: Vec<String>,
    /// Those of them that something else changed since (`keybearer apps
    /// sync` puts them back).
    pub changed_entries: Vec<ChangedEntry>,
    /// How many pasted secrets the settings file holds (import finds them).
    pub pasted_secrets: usize,
    /// Why the settings file could not be read, if it could not.
    pub problem: Option<String>,
    /// An import can be undone (its sealed copy of the file is kept).
    pub import_undoable: bool,
    /// The app notices changes to the file itself; others need a restart.
    pub reloads_by_itself: bool,
}

/// What connecting (or syncing) wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AppChange {
    pub connection: Option<AppConnection>,
    pub name: String,
    pub config_path: String,
    /// Entry names now in the file for the connection.
    pub entries: Vec<String>,
    /// Entry names added and removed by this change.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Keybearer's entries that something else had changed, put back (or
    /// removed, when no vault covers their server any more).
    pub restored: Vec<ChangedEntry>,
    /// Say "restart the app" when something changed and it does not reload.
    pub restart_needed: bool,
}

pub fn parse_app(id: &str) -> Result<App> {
    id.trim().parse::<App>().map_err(|_| {
        let known: Vec<&str> = App::ALL.iter().map(|app| app.id()).collect();
        Error::invalid(
            "app",
            format!(
                "Unknown app \"{}\". Known apps: {}.",
                id.trim(),
                known.join(", ")
            ),
        )
    })
}
