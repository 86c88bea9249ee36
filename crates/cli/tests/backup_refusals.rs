//! Restores that must change nothing (docs/architecture.md, "Backups"): a
//! wrong key, a file cut short at eight points, a flipped byte in the
//! header and in the body, a file altered with its checksum made again, one
//! whose key check was changed, one from a newer Keybearer, a restore over
//! vaults without `--merge`. In a folder with vaults the data folder stays
//! byte for byte the same and the keychain's key too; in a new one nothing
//! is set up and no key is stored. Then `--merge`: the vault whose name is
//! taken is left out and listed, nothing of this computer's changes.

#![cfg(unix)]

mod support;

use std::path::Path;

use sha2::{Digest, Sha256};
use support::computer::Computer;
use support::keychain::{has_account, stored_key};
use support::session::token;

/// A copy of `bytes` with its checksum made again (an alteration on purpose).
fn resummed(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() - 32);
    let sum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    bytes
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn refused_restores_change_nothing() {
    let old = Computer::new(Vec::new());
    let recovery = old.init();
    old.run(&["vault", "create", "Work"], "").ok();
    old.run(&["vault", "create", "Other"], "").ok();
    let secret = token("kept");
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Other",
            "--url",
            "https://o.example.com/mcp",
        ],
        &format!("{secret}\n"),
    )
    .ok();
    let file = old.dir.path().join("b.kbbackup");
    old.run(
        &["backup", "create", file.to_str().expect("path")],
        &format!("{recovery}\n"),
    )
    .ok();
    let good = std::fs::read(&file).expect("read");
    let dir = old.dir.path();

    // Bad files, each with what it must say.
    let mut bad: Vec<(String, i32, &str)> = Vec::new();
    for cut in [
        0,
        5,
        9,
        50,
        83,
        good.len() / 2,
        good.len() - 33,
        good.len() - 1,
    ] {
        let name = format!("cut-{cut}.kbbackup");
        let message = if cut < 8 {
            "not a Keybearer backup"
        } else {
            "damaged"
        };
        bad.push((write(dir, &name, &good[..cut]), 18, message));
    }
    for (at, name) in [(9, "version"), (12, "params"), (30, "salt"), (45, "nonce")] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x40;
        bad.push((
            write(dir, &format!("flip-{name}.kbbackup"), &flipped),
            18,
            "damaged",
        ));
    }
    let mut body = good.clone();
    body[good.len() / 2] ^= 0x01;
    bad.push((write(dir, "flip-body.kbbackup", &body), 18, "damaged"));
    bad.push((
        write(dir, "altered.kbbackup", &resummed(body)),
        18,
        "altered",
    ));
    let mut header = good.clone();
    header[60] ^= 0x01; // the key check: this key no longer passes it
    bad.push((
        write(dir, "altered-check.kbbackup", &resummed(header)),
        6,
        "does not open",
    ));
    let mut newer = good.clone();
    newer[8..10].copy_from_slice(&2u16.to_be_bytes());
    bad.push((
        write(dir, "newer.kbbackup", &resummed(newer)),
        19,
        "newer version",
    ));
    let good_path = file.to_string_lossy().into_owned();
    let wrong = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH";

    // A computer with vaults of its own (and the tests' keychain).
    let here = Computer::new(Vec::new());
    here.init();
    here.run(&["vault", "create", "Work"], "").ok();
    let own = token("own");
    here.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            "https://w.example.com/mcp",
        ],
        &format!("{own}\n"),
    )
    .ok();
    let files = here.files();
    let account = here.status()["keychain_account"]
        .as_str()
        .expect("account")
        .to_string();
    let key = stored_key(&[], &account);
    assert!(key.is_some());
    let unchanged = |what: &str| {
        assert!(here.files() == files, "{what}: the data folder changed");
        assert!(
            stored_key(&[], &account) == key,
            "{what}: the keychain changed"
        );
    };
    here.run(&["backup", "restore", &good_path], &format!("{recovery}\n"))
        .fails_with(21, "--merge");
    unchanged("no --merge");
    here.run(
        &["backup", "restore", "--merge", &good_path],
        &format!("{wrong}\n"),
    )
    .fails_with(6, "does not open this backup");
    unchanged("a wrong key");
    for (path, code, message) in &bad {
        here.run(
            &["backup", "restore", "--merge", path],
            &format!("{recovery}\n"),
        )
        .fails_with(*code, message);
        unchanged(path);
    }

    // A new computer: nothing is set up, no key is stored.
    let fresh = Computer::new(Vec::new());
    fresh
        .run(&["backup", "restore", &good_path], &format!("{wrong}\n"))
        .fails_with(6, "does not open this backup");
    for (path, code, message) in &bad {
        fresh
            .run(&["backup", "restore", path], &format!("{recovery}\n"))
            .fails_with(*code, message);
    }
    let status = fresh.status();
    assert_eq!(status["initialized"], false, "{status}");
    assert_eq!(status["vaults"], 0);
    let fresh_account = status["keychain_account"].as_str().expect("account");
    assert!(!has_account(&[], fresh_account), "no key was stored");

    // Merging: the name taken here is left out and listed, the rest comes,
    // and nothing of this computer's changes.
    let merged = here
        .run(
            &["--json", "backup", "restore", "--merge", &good_path],
            &format!("{recovery}\n"),
        )
        .ok()
        .json();
    assert_eq!(merged["vaults"], 1, "{merged}");
    assert_eq!(merged["credentials"], 1, "{merged}");
    assert_eq!(merged["new_key"], false);
    assert_eq!(merged["skipped_vaults"][0]["name"], "Work", "{merged}");
    let listed = here
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json();
    assert_eq!(listed.as_array().expect("list").len(), 1);
    assert_eq!(listed[0]["mcp_server_url"], "https://w.example.com/mcp");
    here.run(&["credential", "check"], "").ok();
    here.assert_nowhere(&own);
    here.assert_nowhere(&secret);
}

/// Inside a Keybearer session an agent could make a backup under a
/// passphrase of its own choosing and open it: refused, no file written
/// (also with the recovery key, like direct mode).
#[test]
fn a_backup_is_refused_inside_a_session() {
    let inside = Computer::new(vec![(
        "KEYBEARER_SESSION_ID".to_string(),
        "ses_0123456789abcdef".to_string(),
    )]);
    let recovery = inside.init();
    inside.run(&["vault", "create", "Work"], "").ok();
    let file = inside.dir.path().join("agent.kbbackup");
    let path = file.to_str().expect("path");
    inside
        .run(
            &["backup", "create", path, "--passphrase"],
            "agent-chosen-1\nagent-chosen-1\n",
        )
        .fails_with(12, "inside a Keybearer session");
    inside
        .run(&["backup", "create", path], &format!("{recovery}\n"))
        .fails_with(12, "inside a Keybearer session");
    assert!(!file.exists(), "no backup file was written");
}
