//! Copies a rewrite does not reach: hard links keep the old contents after
//! `write_atomic`, and backups beside the file that hold a secret are found
//! (and deleted only when they are regular files that still hold it).
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use app_configs::{delete_copy, find_copies, identity, write_atomic};

#[test]
fn a_hard_link_keeps_the_old_contents_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("mcp.json");
    std::fs::write(&settings, "old secret-123").unwrap();
    let other = dir.path().join("elsewhere");
    std::fs::hard_link(&settings, &other).unwrap();
    let before = identity(&settings).unwrap();
    assert_eq!(before.links, 2);

    write_atomic(&settings, "new").unwrap();
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "old secret-123");
    let after = identity(&settings).unwrap();
    assert_eq!(after.links, 1);
    assert_ne!(after.inode, before.inode);
    assert!(identity(&dir.path().join("missing")).is_none());
}

#[test]
fn backups_holding_a_secret_are_found_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let settings = d.join("mcp.json");
    std::fs::write(&settings, "clean now").unwrap();
    let with = |name: &str, body: &[u8]| {
        std::fs::write(d.join(name), body).unwrap();
        d.join(name)
    };
    let tilde = with("mcp.json~", b"Bearer secret-one");
    let swap = with(".mcp.json.swp", b"\0\x01binary secret-two\0");
    let emacs = with("#mcp.json#", b"secret-one and secret-two");
    let bak = with("mcp.json.bak", b"no secret here");
    let unrelated = with("other.json", b"secret-one");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target");
    std::fs::write(&target, "secret-one").unwrap();
    std::os::unix::fs::symlink(&target, d.join("mcp.json.orig")).unwrap();
    std::fs::create_dir(d.join("mcp.json.d")).unwrap();

    let secrets = ["secret-one", "secret-two"];
    let found = find_copies(&settings, &secrets);
    let names: Vec<String> = found
        .iter()
        .map(|c| c.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["#mcp.json#", ".mcp.json.swp", "mcp.json~"]);
    assert_eq!(found[0].holds, [0, 1]);
    assert_eq!(found[1].holds, [1]);
    assert_eq!(found[2].holds, [0]);

    // A copy that changed since it was found is left alone.
    std::fs::write(&tilde, "rewritten without it").unwrap();
    assert!(!delete_copy(&tilde, &secrets).unwrap());
    assert!(tilde.exists());
    assert!(delete_copy(&swap, &secrets).unwrap());
    assert!(delete_copy(&emacs, &secrets).unwrap());
    assert!(!swap.exists() && !emacs.exists());
    // A symlink is never deleted as a copy, nor its target touched.
    assert!(!delete_copy(&d.join("mcp.json.orig"), &secrets).unwrap());
    assert!(target.exists());
    assert!(bak.exists() && unrelated.exists());
}

#[test]
fn backups_beside_a_symlinked_settings_file_are_found_in_both_folders() {
    let dir = tempfile::tempdir().unwrap();
    let dotfiles = dir.path().join("dotfiles");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let real = dotfiles.join("claude.json");
    std::fs::write(&real, "x").unwrap();
    let link = home.join(".claude.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    std::fs::write(home.join(".claude.json.backup"), "tok-1").unwrap();
    std::fs::write(dotfiles.join("claude.json~"), "tok-1").unwrap();
    let found = find_copies(&link, &["tok-1"]);
    assert_eq!(found.len(), 2, "{found:?}");
}
