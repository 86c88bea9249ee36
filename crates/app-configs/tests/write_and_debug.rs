//! Atomic writes, and `Debug` output that never shows values.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{list_servers, read_config, write_atomic, App, BridgeEntry, ConfigFile};
use common::*;

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn replaces_contents_and_leaves_no_stray_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("mcp.json");
    std::fs::write(&path, "{\"old\": true}").unwrap();
    write_atomic(&path, "{\"new\": true}\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"new\": true}\n");
    write_atomic(&path, "{}").unwrap();
    assert_eq!(names_in(tmp.path()), ["mcp.json"]);
    let file = ConfigFile::new(App::Cursor, &path);
    assert_eq!(read_config(&file).unwrap(), "{}");
}

#[test]
fn missing_file_reads_as_empty_and_parents_are_created() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a").join("b").join("config.toml");
    assert_eq!(
        read_config(&ConfigFile::new(App::Codex, &path)).unwrap(),
        ""
    );
    write_atomic(&path, "x = 1\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "x = 1\n");
    assert_eq!(names_in(path.parent().unwrap()), ["config.toml"]);
}

#[cfg(unix)]
#[test]
fn keeps_mode_new_files_and_folders_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("settings.json");
    std::fs::write(&path, "{}").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic(&path, "{\"a\": 1}").unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);

    let fresh = tmp.path().join("new").join("deeper").join("config.yaml");
    write_atomic(&fresh, "a: 1\n").unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fresh), 0o600);
    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    assert_eq!(mode(&tmp.path().join("new").join("deeper")), 0o700);
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_stays_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("dotfiles").join("mcp.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "{}").unwrap();
    let link = tmp.path().join("mcp.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_atomic(&link, "{\"a\": 1}").unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "{\"a\": 1}");
    assert_eq!(names_in(real.parent().unwrap()), ["mcp.json"]);
}

#[test]
fn a_failed_write_reports_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    // The target is a folder: the rename fails.
    let target = tmp.path().join("taken");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let err = write_atomic(&target, "{}").unwrap_err();
    assert_eq!(err.code(), "io");
    assert!(err.to_string().contains("could not be written"), "{err}");
    assert_eq!(names_in(tmp.path()), ["taken"]);
}

#[test]
fn debug_never_shows_values() {
    let mut entry = BridgeEntry::new(
        "kb",
        KB,
        "con_1",
        "https://s.example.com/mcp?token=QUERYSECRET",
    );
    entry.env = vec![("PROFILE".into(), "ENVVALUE".into())];
    let printed = format!("{entry:?}");
    assert!(
        printed.contains("kb")
            && printed.contains("PROFILE=<redacted>")
            && printed.contains("con_1")
    );
    assert!(
        !printed.contains("ENVVALUE") && !printed.contains("QUERYSECRET"),
        "{printed}"
    );

    let text = r#"{"mcpServers": {
        "r": {"url": "https://user:PASSWORD@h.example.com/mcp?key=URLSECRET", "headers": {"Authorization": "Bearer HEADERSECRET"}},
        "s": {"command": "npx", "args": ["mcp-remote", "https://x", "--header", "Authorization: Bearer ARGSECRET"], "env": {"API_TOKEN": "ENVSECRET"}}
    }}"#;
    let listed = list_servers(&file(App::Cursor), text).unwrap();
    let printed = format!("{listed:?}");
    for secret in [
        "PASSWORD",
        "URLSECRET",
        "HEADERSECRET",
        "ARGSECRET",
        "ENVSECRET",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    assert!(
        printed.contains("Authorization=<redacted>") && printed.contains("API_TOKEN=<redacted>")
    );
    assert!(
        printed.contains("https://<user>@h.example.com/mcp"),
        "{printed}"
    );
}

#[test]
fn errors_never_quote_the_file() {
    let text = "{\"mcpServers\": {\"a\": {\"headers\": {\"Authorization\": \"Bearer ERRSECRET\"}} \"b\": 1}}";
    let err = list_servers(&file(App::Cursor), text).unwrap_err();
    assert!(!err.to_string().contains("ERRSECRET"));
    assert!(!format!("{err:?}").contains("ERRSECRET"));
    let toml = "[mcp_servers.a]\nurl = \"https://x\"\nhttp_headers = { Authorization = \"Bearer ERRSECRET }\n";
    let err = list_servers(&file(App::Codex), toml).unwrap_err();
    assert!(!err.to_string().contains("ERRSECRET"), "{err}");
    let yaml = "extensions:\n  a:\n    headers: {Authorization: Bearer ERRSECRET\n";
    let err = list_servers(&file(App::Goose), yaml).unwrap_err();
    assert!(!err.to_string().contains("ERRSECRET"), "{err}");
}

/// A settings file that is a link to another user's file (or into their
/// folder) is refused: writing through it would change that user's file.
#[cfg(unix)]
#[test]
fn a_link_to_another_users_file_is_refused_and_nothing_changes() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let me = std::fs::metadata(tmp.path()).unwrap().uid();
    // Someone else's file: as root, one given to `nobody`; otherwise one
    // root owns (never written: the refusal comes first, and the system
    // would refuse the write anyway).
    let theirs = if me == 0 {
        let theirs = tmp.path().join("theirs.json");
        std::fs::write(&theirs, "{\"theirs\": true}").unwrap();
        nix::unistd::chown(&theirs, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        theirs
    } else {
        std::path::PathBuf::from("/etc/hostname")
    };
    let before = std::fs::read(&theirs).unwrap();
    let link = tmp.path().join("mcp.json");
    std::os::unix::fs::symlink(&theirs, &link).unwrap();
    let err = write_atomic(&link, "{\"a\": 1}").unwrap_err();
    assert_eq!(err.code(), "link_to_another_user", "{err}");
    assert!(err.to_string().contains("belongs to another user"), "{err}");
    assert_eq!(std::fs::read(&theirs).unwrap(), before);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // A dangling link into a folder someone else owns: refused too.
    if me == 0 {
        let folder = tmp.path().join("their-folder");
        std::fs::create_dir(&folder).unwrap();
        nix::unistd::chown(&folder, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let dangling = tmp.path().join("settings.json");
        std::os::unix::fs::symlink(folder.join("new.json"), &dangling).unwrap();
        let err = write_atomic(&dangling, "{}").unwrap_err();
        assert_eq!(err.code(), "link_to_another_user", "{err}");
        assert!(!folder.join("new.json").exists());
    }
}

/// A temporary file a killed Keybearer left beside the settings file is
/// removed by the next write; one of a running process is left alone.
#[cfg(target_os = "linux")]
#[test]
fn temporary_files_of_a_killed_write_are_removed_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("mcp.json");
    std::fs::write(&path, "{}").unwrap();
    // A pid no process has (above the kernel's limit) and ours.
    let dead = tmp.path().join(".mcp.json.keybearer-4194305-0-1f.tmp");
    let alive = tmp.path().join(format!(
        ".mcp.json.keybearer-{}-9-2f.tmp",
        std::process::id()
    ));
    let other = tmp.path().join(".other.json.keybearer-4194305-0-1f.tmp");
    for file in [&dead, &alive, &other] {
        std::fs::write(file, "{\"half\":").unwrap();
    }
    write_atomic(&path, "{\"a\": 1}").unwrap();
    assert!(!dead.exists(), "the dead process's file is gone");
    assert!(alive.exists(), "a running process's file stays");
    assert!(other.exists(), "another settings file's stays");
}
