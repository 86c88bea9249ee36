//! Keybearer entries that something else changed, in words for the user
//! (docs/architecture.md, "App connections"). The comparison itself is
//! `app_configs::changed_entries`; this part only says what it found, the
//! same way for the command line and the desktop app, which each add how to
//! put it back (`keybearer apps sync APP`, the card's "Put it back").
//!
//! The words name the entry, the app, the program it starts now and the
//! names of added variables and settings; never argument lists or variable
//! values (they may hold anything, a token included).

use app_configs::{App, Difference};
use serde::Serialize;

/// A Keybearer entry in an app's settings that is not what Keybearer wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChangedEntry {
    /// The entry's name in the app's settings.
    pub name: String,
    /// What it does now, in plain words: "The Keybearer entry "github" in
    /// Cursor's settings now runs /tmp/x instead of Keybearer. Something
    /// changed it."
    pub warning: String,
}

pub(super) fn describe(app: App, found: &app_configs::ChangedEntry) -> ChangedEntry {
    let clauses: Vec<String> = found.differences.iter().map(clause).collect();
    let mut warning = format!(
        "The Keybearer entry \"{}\" in {}'s settings",
        found.name,
        app.display_name()
    );
    for (i, clause) in clauses.iter().enumerate() {
        if i == 0 {
            warning.push_str(&format!(" {clause}."));
        } else {
            warning.push_str(&format!(" It {clause}."));
        }
    }
    warning.push_str(" Something changed it.");
    ChangedEntry {
        name: found.name.clone(),
        warning,
    }
}

fn clause(difference: &Difference) -> String {
    match difference {
        Difference::Program(program) => format!("now runs {program} instead of Keybearer"),
        Difference::Remote(url) => format!("now connects to {url} instead of running Keybearer"),
        Difference::NotAProgram(kind) => {
            format!("now holds something other than Keybearer ({kind})")
        }
        Difference::Arguments => "now has other arguments than Keybearer wrote".to_string(),
        Difference::AddedVariables(names) => format!(
            "now sets {}, which Keybearer did not write",
            and_list(names)
        ),
        Difference::ChangedVariables(names) => format!(
            "now has another value for {} than Keybearer wrote",
            and_list(names)
        ),
        Difference::OtherSettings(names) if names.is_empty() => {
            "now has settings Keybearer did not write".to_string()
        }
        Difference::OtherSettings(names) => format!(
            "now has settings Keybearer did not write ({})",
            names.join(", ")
        ),
        Difference::Repeated => "appears more than once in the file".to_string(),
    }
}

/// "A", "A and B", "A, B and C".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_says_what_runs_now_and_never_a_value() {
        let found = app_configs::ChangedEntry {
            name: "github".into(),
            differences: vec![
                Difference::Program("/tmp/x".into()),
                Difference::AddedVariables(vec!["LD_PRELOAD".into(), "NODE_OPTIONS".into()]),
            ],
        };
        assert_eq!(
            describe(App::Cursor, &found).warning,
            "The Keybearer entry \"github\" in Cursor's settings now runs /tmp/x instead of \
             Keybearer. It now sets LD_PRELOAD and NODE_OPTIONS, which Keybearer did not write. \
             Something changed it."
        );
        let found = app_configs::ChangedEntry {
            name: "linear".into(),
            differences: vec![Difference::OtherSettings(vec![
                "cwd".into(),
                "envFile".into(),
            ])],
        };
        assert_eq!(
            describe(App::Codex, &found).warning,
            "The Keybearer entry \"linear\" in Codex's settings now has settings Keybearer did \
             not write (cwd, envFile). Something changed it."
        );
    }
}
