//! Copies a rewrite does not reach: hard links keep the old contents after
//! `write_atomic`, and backups beside the file that hold a secret are found
//! (and deleted only when they are regular files that still hold it). Files
//! swapped under a backup's name while it is read (a FIFO that would block
//! the open, another file that would be deleted instead) and secrets too
//! short to tell a copy by are left alone.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use app_configs::{delete_copy, find_copies, identity, write_atomic, MIN_SECRET_BYTES};

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
    std::fs::write(home.join(".claude.json.backup"), "token-one").unwrap();
    std::fs::write(dotfiles.join("claude.json~"), "token-one").unwrap();
    let found = find_copies(&link, &["token-one"]);
    assert_eq!(found.len(), 2, "{found:?}");
}

/// A header value of a few characters (`abc`) is also in text that has
/// nothing to do with it: a backup holding it is neither reported nor
/// deleted. A secret of the minimum length still is.
#[test]
fn a_short_secret_in_an_unrelated_backup_is_not_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let settings = d.join("mcp.json");
    std::fs::write(&settings, "clean now").unwrap();
    let bak = d.join("mcp.json.bak");
    std::fs::write(&bak, "{ \"alphabet\": \"abcdefgh\" }").unwrap();
    assert_eq!(find_copies(&settings, &["abc"]), []);
    assert!(!delete_copy(&bak, &["abc"]).unwrap());
    assert!(bak.exists());

    let shortest = "abcdefgh";
    assert_eq!(shortest.len(), MIN_SECRET_BYTES);
    let found = find_copies(&settings, &["abc", shortest]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].holds, [1]);
}

/// Something that can write to the folder keeps swapping a backup that
/// holds the secret and a FIFO under the backup's name. Opening a FIFO
/// waits for a writer (forever: there is none), so a search that looked at
/// the name, saw a regular file and then opened the FIFO would hang the
/// import. The search opens without waiting and comes back.
#[test]
fn a_fifo_swapped_in_for_a_backup_does_not_hang_the_search() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let settings = d.join("mcp.json");
    std::fs::write(&settings, "clean now").unwrap();
    let keep = d.join("keep");
    std::fs::create_dir(&keep).unwrap();
    std::fs::write(keep.join("regular"), "Bearer secret-one-two").unwrap();
    nix::unistd::mkfifo(&keep.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let name = d.join("mcp.json~");
    std::fs::hard_link(keep.join("regular"), &name).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, keep, name) = (Arc::clone(&stop), keep.clone(), name.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for what in ["regular", "fifo"] {
                    let staged = keep.join(format!("{what}.next"));
                    let _ = std::fs::hard_link(keep.join(what), &staged);
                    let _ = std::fs::rename(&staged, &name);
                }
            }
        })
    };
    let (done, searched) = mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut rounds = 0u32;
        while started.elapsed() < Duration::from_secs(3) {
            let _ = find_copies(&settings, &["secret-one-two"]);
            let _ = delete_copy(&d.join("mcp.json~"), &["secret-one-two"]);
            rounds += 1;
        }
        let _ = done.send(rounds);
    });
    let rounds = searched.recv_timeout(Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    assert!(
        rounds.is_ok(),
        "the search hung on a FIFO swapped in for the backup"
    );
    swapper.join().unwrap();
}

/// While a big backup that holds the secret is read, something renames
/// another file (the user's notes) to the backup's name. Deleting by name
/// after the check would delete the notes: the name is checked again
/// against the file that was read, and the notes are left alone.
#[cfg(target_os = "linux")]
#[test]
fn a_file_swapped_in_while_a_backup_is_checked_is_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = std::fs::canonicalize(dir.path()).unwrap();
    let backup = d.join("mcp.json~");
    let mut body = vec![b' '; 48 * 1024 * 1024];
    body.extend_from_slice(b"Bearer secret-one-two");
    std::fs::write(&backup, body).unwrap();
    std::fs::create_dir(d.join("keep")).unwrap();
    let notes = d.join("keep/notes");
    std::fs::write(&notes, "my notes").unwrap();

    // Once the backup is open (it shows among this process's open files),
    // the notes take its name.
    let swapped = {
        let (backup, notes) = (backup.clone(), notes.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if is_open(&backup) {
                    std::fs::rename(&notes, &backup).unwrap();
                    return true;
                }
                std::thread::yield_now();
            }
            false
        })
    };
    let deleted = delete_copy(&backup, &["secret-one-two"]).unwrap();
    assert!(swapped.join().unwrap(), "the backup was never seen open");
    assert_eq!(
        std::fs::read_to_string(&backup).ok().as_deref(),
        Some("my notes"),
        "the file swapped in was deleted"
    );
    assert!(!deleted);
}

/// Whether a file of this process has `path` open.
#[cfg(target_os = "linux")]
fn is_open(path: &std::path::Path) -> bool {
    std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}
