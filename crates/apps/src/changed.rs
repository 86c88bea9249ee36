//! Keybearer entries that something else changed, in words for the user
//! (docs/architecture.md, "App connections"). The comparison itself is
//! `app_configs::changed_entries`; this part only says what it found, the
//! same way for the command line and the desktop app, which each add how to
//! put it back (`keybearer apps sync APP`, the card's "Put it back").
//!
//! The words name the entry, the app, the program it starts now (its first
//! word, see `app_configs::changed`), the server it connects to (scheme and
//! host) and the names of added variables and settings; never argument
//! lists, variable values or an address's path (they may hold anything, a
//! token included). Whatever wrote the file chose those names: each is
//! shown without control or bidirectional characters ([`printable`]), so
//! it cannot rewrite what `apps list` shows on the terminal.

use app_configs::{App, Difference};
use serde::Serialize;

use keybearer_base::text::printable;

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
    let name = printable(&found.name);
    let clauses: Vec<String> = found.differences.iter().map(clause).collect();
    let mut warning = format!(
        "The Keybearer entry \"{name}\" in {}'s settings",
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
    ChangedEntry { name, warning }
}

fn clause(difference: &Difference) -> String {
    match difference {
        Difference::Program(program) => match printable(program) {
            program if program.is_empty() => "now runs another program instead of Keybearer".into(),
            program => format!("now runs {program} instead of Keybearer"),
        },
        Difference::Remote(url) => format!(
            "now connects to {} instead of running Keybearer",
            printable(url)
        ),
        Difference::NotAProgram(kind) => format!(
            "now holds something other than Keybearer ({})",
            printable(kind)
        ),
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
            names
                .iter()
                .map(|name| printable(name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Difference::Repeated => "appears more than once in the file".to_string(),
    }
}

/// "A", "A and B", "A, B and C", each name printable.
fn and_list(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|name| printable(name)).collect();
    match names.as_slice() {
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

    #[test]
    fn names_from_the_file_cannot_rewrite_the_terminal() {
        let found = app_configs::ChangedEntry {
            name: "git\u{1b}[2Jhub".into(),
            differences: vec![
                Difference::Program("/tmp/\u{202E}x\r".into()),
                Difference::AddedVariables(vec!["\u{1b}[31mLD_PRELOAD".into()]),
                Difference::OtherSettings(vec!["cwd\u{7}".into()]),
            ],
        };
        let described = describe(App::Cursor, &found);
        assert_eq!(described.name, "git[2Jhub");
        assert_eq!(
            described.warning,
            "The Keybearer entry \"git[2Jhub\" in Cursor's settings now runs /tmp/x instead of \
             Keybearer. It now sets [31mLD_PRELOAD, which Keybearer did not write. It now has \
             settings Keybearer did not write (cwd). Something changed it."
        );
        let found = app_configs::ChangedEntry {
            name: "github".into(),
            differences: vec![Difference::Program(String::new())],
        };
        assert!(describe(App::Cursor, &found)
            .warning
            .contains("now runs another program instead of Keybearer"));
    }
}
