//! What a new user ran into: a closed pipe, two vaults with one name, and a
//! hint that suggested the mode that shows agents their tokens.

mod support;

use std::process::Stdio;

use support::*;

/// `keybearer events | head -1`: the reader goes away; the command ends
/// quietly with status 0 (as `ls | head` does), no panic, no backtrace.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let vault = Vault::new();
    vault.init();
    for name in ["One", "Two", "Three"] {
        vault.create_vault(name, "development");
    }
    for args in [&["events"][..], &["vault", "list"], &["--json", "events"]] {
        let mut child = vault
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keybearer");
        // Close the only read end before the command writes anything: its
        // first write meets a pipe with no reader (EPIPE).
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed on stderr: {stderr}");
    }
}

#[test]
fn a_second_vault_with_the_same_name_in_one_environment_is_refused() {
    let vault = Vault::new();
    vault.init();
    let github = vault.create_vault("GitHub", "development");
    vault
        .run(&["vault", "create", "GitHub", "--env", "development"], "")
        .fails_with(
            4,
            "There is already a vault named \"GitHub\" in development",
        );
    // Case does not make a different name: "github" would be confused with it.
    vault
        .run(&["vault", "create", "github", "--env", "development"], "")
        .fails_with(4, "already a vault named");
    assert_eq!(vault.vault_count(), 1, "nothing was created");

    // The same name in another environment is fine; by name the two are
    // then told apart by their ids, as the error says.
    let production = vault.create_vault("GitHub", "production");
    assert_ne!(github, production);
    assert_eq!(vault.vault_count(), 2);
    vault
        .run(&["vault", "show", "GitHub"], "")
        .fails_with(2, "vlt_");

    // Rename follows the same rule.
    vault.create_vault("Jira", "development");
    vault
        .run(&["vault", "rename", "Jira", "GitHub"], "")
        .fails_with(4, "already a vault named \"GitHub\" in development");
    // Renaming a vault to its own name in other letters is allowed.
    vault.run(&["vault", "rename", "Jira", "JIRA"], "").ok();
    let json = vault
        .run(&["--json", "vault", "show", "JIRA"], "")
        .ok()
        .json();
    assert_eq!(json["vault"]["display_name"], "JIRA", "{json}");
}

#[cfg(unix)]
#[test]
fn the_empty_session_list_suggests_proxy_mode() {
    let vault = Vault::new();
    vault.init();
    let run = vault.run(&["session", "list"], "").ok();
    assert!(run.stdout.contains("No sessions yet"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("keybearer session start --vault NAME --agent claude"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("--direct"), "{}", run.stdout);
}

/// `http://localhost:P` can mean 127.0.0.1 or ::1; another user's program
/// could listen on the one the user's server does not. The credential is
/// stored with the address the user's own server listens on (here only
/// ::1), and the CLI shows it.
#[test]
fn localhost_is_stored_as_the_address_the_server_listens_on() {
    let vault = Vault::new();
    vault.init();
    vault.create_vault("Local", "development");
    let server = std::net::TcpListener::bind("[::1]:0").expect("a server on ::1 only");
    let port = server.local_addr().expect("addr").port();
    let added = vault
        .add(
            "Local",
            &format!("http://localhost:{port}/mcp"),
            "tok-local",
        )
        .ok()
        .json();
    assert_eq!(
        added["mcp_server_url"],
        format!("http://[::1]:{port}/mcp").as_str()
    );
    // The same server typed either way is one credential, not two.
    vault
        .add("Local", &format!("http://[::1]:{port}/mcp"), "tok-again")
        .fails_with(4, "already has a credential");
}
