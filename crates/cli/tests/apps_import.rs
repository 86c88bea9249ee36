//! `keybearer apps import …` against what an attacker (or an editor) leaves
//! around a settings file: hard links and backup copies that still hold the
//! token after the file was rewritten, duplicate server names that make
//! Keybearer and the app read different entries, and imports that fail half
//! way. Real files in a throwaway HOME, real SQLite, the real keychain.

#![cfg(unix)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::session::{token, Home};

const URL: &str = "https://mcp.example.com/mcp";
const OTHER_URL: &str = "https://other.example.com/mcp";

fn contains(path: &Path, secret: &str) -> bool {
    std::fs::read(path)
        .map(|bytes| bytes.windows(secret.len()).any(|w| w == secret.as_bytes()))
        .unwrap_or(false)
}

fn claude_json(entries: &[(&str, &str, &str)]) -> String {
    let entries: Vec<String> = entries
        .iter()
        .map(|(name, url, header)| {
            format!(
                "    \"{name}\": {{ \"type\": \"http\", \"url\": \"{url}\", \"headers\": {{ \"Authorization\": \"{header}\" }} }}"
            )
        })
        .collect();
    format!(
        "{{\n  \"numStartups\": 3,\n  \"mcpServers\": {{\n{}\n  }}\n}}\n",
        entries.join(",\n")
    )
}

fn credentials(h: &Home) -> Vec<Value> {
    h.run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json()
        .as_array()
        .expect("credentials")
        .clone()
}

fn claude_status(h: &Home) -> Value {
    h.apps(&["--json", "apps", "list"])
        .ok()
        .json()
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["app"] == "claude-code")
        .expect("claude-code")
        .clone()
}

/// Nothing was stored and nothing connected: the vault is empty, the app
/// unconnected, no import to undo, the file byte for byte as it was.
fn assert_nothing_changed(h: &Home, settings: &Path, original: &str) {
    assert_eq!(credentials(h), Vec::<Value>::new(), "no credential stored");
    let status = claude_status(h);
    assert!(status["connection"].is_null(), "{status}");
    assert_eq!(status["import_undoable"], false, "{status}");
    assert_eq!(std::fs::read_to_string(settings).expect("read"), original);
}

/// A hard link elsewhere and editor backups beside the file keep the token
/// after the import rewrote the file: the import says so (never "moved"),
/// names each backup that holds the token, counts the hard link it cannot
/// name; `--delete-copies` then deletes exactly the backups holding the
/// token, as regular files, and nothing a symlink points at.
#[test]
fn copies_left_by_hard_links_and_backups_are_reported_and_deleted_on_request() {
    let h = Home::new();
    let secret = token("copied");
    h.vault("Work", "development");
    let home = h.app_home();
    let settings = home.join(".claude.json");
    std::fs::write(
        &settings,
        claude_json(&[("pasted", URL, &format!("Bearer {secret}"))]),
    )
    .expect("write");
    // Another name for the same file, somewhere Keybearer does not look.
    std::fs::create_dir_all(home.join("dotfiles")).expect("dir");
    let link = home.join("dotfiles/claude.json");
    std::fs::hard_link(&settings, &link).expect("hard link");
    // Editors' copies beside it: three with the token, one without.
    let tilde = home.join(".claude.json~");
    let emacs = home.join("#.claude.json#");
    let swap = home.join(".claude.json.swp");
    let clean = home.join(".claude.json.bak");
    std::fs::write(&tilde, std::fs::read(&settings).expect("read")).expect("write");
    std::fs::write(
        &emacs,
        format!("{{\"Authorization\": \"Bearer {secret}\"}}"),
    )
    .expect("write");
    let mut binary = vec![0u8, 1, 2, 3, 0xff];
    binary.extend_from_slice(secret.as_bytes());
    binary.extend_from_slice(&[0, 0, 7]);
    std::fs::write(&swap, binary).expect("write");
    std::fs::write(&clean, "{ \"mcpServers\": {} }\n").expect("write");
    // A symlink named like a backup, to a file holding the token elsewhere:
    // reported nowhere as deletable, and neither it nor its target deleted.
    let outside = h.path("outside.json");
    std::fs::write(&outside, format!("Bearer {secret}")).expect("write");
    let symlink = home.join(".claude.json.orig");
    std::os::unix::fs::symlink(&outside, &symlink).expect("symlink");

    let outcome = h
        .apps(&["--json", "apps", "import", "claude-code", "--vault", "Work"])
        .ok()
        .json();
    assert_eq!(outcome["imported"][0]["server"], "pasted");
    assert!(!contains(&settings, &secret), "the settings file is clean");
    let copies = outcome["copies"].as_array().expect("copies").clone();
    let backups: Vec<&str> = copies
        .iter()
        .filter(|c| c["kind"] == "backup")
        .filter_map(|c| c["path"].as_str())
        .collect();
    let mut sorted = backups.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["~/#.claude.json#", "~/.claude.json.swp", "~/.claude.json~"],
        "{copies:?}"
    );
    for copy in copies.iter().filter(|c| c["kind"] == "backup") {
        assert_eq!(copy["deletable"], true, "{copy}");
        assert_eq!(copy["servers"][0], "pasted", "{copy}");
        let message = copy["message"].as_str().expect("message");
        assert!(
            message.contains("A copy of this token is still in"),
            "{message}"
        );
    }
    let links: Vec<&Value> = copies.iter().filter(|c| c["kind"] == "hard_link").collect();
    assert_eq!(links.len(), 1, "{copies:?}");
    assert_eq!(links[0]["count"], 1);
    assert_eq!(links[0]["deletable"], false);
    let message = links[0]["message"].as_str().expect("message");
    assert!(
        message.contains("hard link") && message.contains("-inum"),
        "{message}"
    );
    // The copies are where they were, and nothing was deleted unasked.
    for copy in [&tilde, &emacs, &swap, &link] {
        assert!(contains(copy, &secret), "{}", copy.display());
    }

    // Deleting them afterwards, in words.
    let cleaned = h
        .apps(&["apps", "import", "claude-code", "--delete-copies"])
        .ok();
    assert!(cleaned.stdout.contains("Deleted"), "{}", cleaned.stdout);
    for gone in [&tilde, &emacs, &swap] {
        assert!(!gone.exists(), "{} deleted", gone.display());
    }
    assert!(clean.exists(), "a backup without the token stays");
    assert!(symlink.symlink_metadata().is_ok(), "the symlink stays");
    assert!(contains(&outside, &secret), "its target is not touched");
    assert!(contains(&link, &secret), "the hard link cannot be found");
    h.assert_nowhere(&secret);
}

/// In words, and in one go: a settings file with a hard link and an editor
/// backup; `--delete-copies` deletes the backup at once, and the import
/// says the token is stored in Keybearer and that a copy remains (the hard
/// link), never that it was "moved".
#[test]
fn the_import_never_says_moved_while_a_copy_remains() {
    let h = Home::new();
    let secret = token("linked");
    h.vault("Work", "development");
    let home = h.app_home();
    let settings = home.join(".claude.json");
    std::fs::write(
        &settings,
        claude_json(&[("pasted", URL, &format!("Bearer {secret}"))]),
    )
    .expect("write");
    let backup = home.join(".claude.json.bak");
    std::fs::copy(&settings, &backup).expect("backup");
    std::fs::hard_link(&settings, h.path("elsewhere.json")).expect("hard link");

    let run = h
        .apps(&[
            "apps",
            "import",
            "claude-code",
            "--vault",
            "Work",
            "--delete-copies",
        ])
        .ok();
    assert!(!run.stdout.contains("Moved"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Stored the token of \"pasted\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("a copy remains"), "{}", run.stdout);
    assert!(run.stdout.contains("hard link"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Deleted ~/.claude.json.bak"),
        "{}",
        run.stdout
    );
    assert!(!backup.exists());
    assert!(!contains(&settings, &secret));
    h.assert_nowhere(&secret);
}

/// Beside the settings file, a FIFO named like a backup (opening it to read
/// would wait for a writer that never comes) and an unrelated backup that
/// happens to contain the imported token, three characters long: the
/// import comes back at once, reports neither as a copy, and
/// `--delete-copies` deletes neither.
#[test]
fn a_fifo_and_a_short_token_in_an_unrelated_backup_are_left_alone() {
    let h = Home::new();
    h.vault("Work", "development");
    let home = h.app_home();
    let settings = home.join(".claude.json");
    std::fs::write(&settings, claude_json(&[("pasted", URL, "abc")])).expect("write");
    let fifo = home.join(".claude.json~");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let unrelated = home.join(".claude.json.bak");
    std::fs::write(&unrelated, "{ \"theme\": \"abcdef\" }\n").expect("write");

    let outcome = h
        .apps(&[
            "--json",
            "apps",
            "import",
            "claude-code",
            "--vault",
            "Work",
            "--delete-copies",
        ])
        .ok()
        .json();
    assert_eq!(outcome["imported"][0]["server"], "pasted", "{outcome}");
    assert_eq!(outcome["copies"], serde_json::json!([]), "{outcome}");
    assert_eq!(
        outcome["deleted_copies"],
        serde_json::json!([]),
        "{outcome}"
    );
    assert!(unrelated.exists(), "the unrelated backup stays");
    assert!(fifo.symlink_metadata().is_ok(), "the FIFO stays");
    assert!(
        !contains(&settings, "\"abc\""),
        "the settings file is clean"
    );
}

/// Two servers of the same name: the app (JSON.parse) uses the last one, so
/// Keybearer lists and scans the last one only, and refuses to edit the
/// file (import and connect), naming the server; nothing is stored.
#[test]
fn duplicate_server_names_are_read_as_the_app_reads_them_and_never_edited() {
    let h = Home::new();
    let first = token("first");
    let last = token("last");
    h.vault("Work", "development");
    let settings = h.app_home().join(".claude.json");
    let original = claude_json(&[
        ("a", URL, &format!("Bearer {first}")),
        ("a", OTHER_URL, &format!("Bearer {last}")),
    ]);
    std::fs::write(&settings, &original).expect("write");

    let found = h
        .apps(&["--json", "apps", "import", "claude-code"])
        .ok()
        .json();
    let found = found.as_array().expect("findings");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["server"], "a");
    assert_eq!(
        found[0]["url"], OTHER_URL,
        "the last one, as the app reads it"
    );
    assert_eq!(claude_status(&h)["pasted_secrets"], 1);

    let refused = h.apps(&["apps", "import", "claude-code", "--vault", "Work"]);
    assert_nothing_changed(&h, &settings, &original);
    let refused = refused.code(9);
    for part in ["two servers named \"a\"", "last", "has not changed"] {
        assert!(
            refused.stderr.contains(part),
            "{part:?} not in {}",
            refused.stderr
        );
    }
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .code(9);
    assert_nothing_changed(&h, &settings, &original);
    h.assert_nowhere(&first);
    h.assert_nowhere(&last);
}

/// The second entry's token cannot be stored (it has characters no HTTP
/// header can carry): nothing is stored, the first token included, and the
/// file stays as it was.
#[test]
fn an_import_whose_second_token_fails_stores_nothing() {
    let h = Home::new();
    let good = token("good");
    h.vault("Work", "development");
    let settings = h.app_home().join(".claude.json");
    let original = claude_json(&[
        ("first", URL, &format!("Bearer {good}")),
        ("second", OTHER_URL, "Bearer t\u{f6}k\u{e9}n-with-accents"),
    ]);
    std::fs::write(&settings, &original).expect("write");

    let refused = h.apps(&["apps", "import", "claude-code", "--vault", "Work"]);
    assert_nothing_changed(&h, &settings, &original);
    let refused = refused.code(2);
    assert!(refused.stderr.contains("\"second\""), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Nothing was changed"),
        "{}",
        refused.stderr
    );
    h.assert_nowhere(&good);
}

/// Two entries for the same server with different tokens: a vault holds
/// one token per server, so the second cannot be stored. Refused as a
/// whole, in words that name both entries; nothing stored.
#[test]
fn two_entries_for_one_server_with_different_tokens_store_nothing() {
    let h = Home::new();
    let one = token("one");
    let two = token("two");
    h.vault("Work", "development");
    let settings = h.app_home().join(".claude.json");
    let original = claude_json(&[
        ("one", URL, &format!("Bearer {one}")),
        ("two", URL, &format!("Bearer {two}")),
    ]);
    std::fs::write(&settings, &original).expect("write");

    let refused = h.apps(&["apps", "import", "claude-code", "--vault", "Work"]);
    assert_nothing_changed(&h, &settings, &original);
    let refused = refused.code(2);
    for part in ["\"one\"", "\"two\"", "Nothing was changed"] {
        assert!(
            refused.stderr.contains(part),
            "{part:?} not in {}",
            refused.stderr
        );
    }
    h.assert_nowhere(&one);
    h.assert_nowhere(&two);
}

/// The settings folder cannot be written (read-only, and the CLI runs
/// without root's power to override that): the credentials stored in the
/// same step are rolled back, no connection or undo copy is left, and the
/// file is unchanged.
#[test]
fn an_import_whose_file_cannot_be_written_stores_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    let secret = token("readonly");
    h.vault("Work", "development");
    let folder = h.app_home();
    let settings = folder.join(".claude.json");
    let original = claude_json(&[("pasted", URL, &format!("Bearer {secret}"))]);
    std::fs::write(&settings, &original).expect("write");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).expect("chmod");

    let inner = h.apps_command(&["apps", "import", "claude-code", "--vault", "Work"]);
    let mut command = std::process::Command::new("setpriv");
    command
        .args([
            "--bounding-set",
            "-dac_override,-dac_read_search,-fowner",
            "--inh-caps=-all",
        ])
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    if let Some(dir) = inner.get_current_dir() {
        command.current_dir(dir);
    }
    let refused = h.run_with(command, "").code(9);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert!(
        refused.stderr.contains(".claude.json"),
        "{}",
        refused.stderr
    );
    assert_nothing_changed(&h, &settings, &original);
    h.assert_nowhere(&secret);
}
