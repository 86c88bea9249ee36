//! Show, then commit: a recovery key is stored only after it was written out.
//! A failing output (a full disk, here /dev/full) changes nothing: no setup,
//! or the old recovery key still working.

mod support;

use std::fs::OpenOptions;
use std::process::Stdio;

use support::*;

/// Runs `args` with stdout on /dev/full (every write fails with ENOSPC).
fn run_to_full_disk(vault: &Vault, args: &[&str]) -> (i32, String) {
    let full = OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = vault
        .command(args)
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run keybearer");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_new_recovery_key_that_cannot_be_shown_leaves_the_old_one_working() {
    let vault = Vault::new();
    let old = vault.init();
    vault.create_vault("Kept", "development");

    for args in [
        &["recovery-key", "regenerate"][..],
        &["--json", "recovery-key", "regenerate"],
    ] {
        let (code, stderr) = run_to_full_disk(&vault, args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains("could not be shown"), "{stderr}");
        assert!(stderr.contains("nothing was changed"), "{stderr}");
    }
    let kinds = vault.run(&["--json", "events"], "").ok().json();
    assert!(
        !kinds.to_string().contains("recovery_key.regenerated"),
        "nothing was recorded: {kinds}"
    );

    // The old key still opens everything.
    vault.wipe_keychain_entry();
    vault.run(&["recover"], &format!("{old}\n")).ok();
    assert_eq!(vault.vault_count(), 1);

    // A new key that was shown replaces it.
    let shown = vault
        .run(&["--json", "recovery-key", "regenerate"], "")
        .ok()
        .json()["recovery_key"]
        .as_str()
        .expect("key")
        .to_string();
    vault.wipe_keychain_entry();
    vault
        .run(&["recover"], &format!("{old}\n"))
        .fails_with(6, "does not open");
    vault.run(&["recover"], &format!("{shown}\n")).ok();
}

#[test]
fn a_setup_whose_recovery_key_cannot_be_shown_is_not_set_up() {
    let vault = Vault::new();
    let (code, stderr) = run_to_full_disk(&vault, &["init"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not be shown"), "{stderr}");
    let status = vault.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["initialized"], false, "{status}");
    // Setting up again works, as if nothing had happened.
    vault.init();
    let status = vault.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["initialized"], true, "{status}");
}
