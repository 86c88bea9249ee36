//! `keybearer` with bad input: a clear error, the documented exit status, and
//! nothing lost.

#![allow(clippy::print_stderr)]

mod support;

use support::*;

#[test]
fn bad_input_gets_a_clear_error_and_loses_nothing() {
    let v = Vault::new();
    v.init();
    let vault = v.create_vault("Main", "development");
    let good = random_token("good");
    v.add(&vault, "https://ok.example.com/mcp", &good).ok();

    let long_name = "n".repeat(201);
    let cases: Vec<(Vec<&str>, String, i32, &str)> = vec![
        (
            vec!["credential", "add", "--vault", "Main", "--url", "not a url"],
            "t\n".into(),
            2,
            "not a web address",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "http://example.com/mcp",
            ],
            "t\n".into(),
            2,
            "https://",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://u:p@example.com/mcp",
            ],
            "t\n".into(),
            2,
            "user name",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp?x=1",
            ],
            "t\n".into(),
            2,
            "query",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp#f",
            ],
            "t\n".into(),
            2,
            "#",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
                "--protocol",
                "websocket",
            ],
            "t\n".into(),
            2,
            "Unknown protocol",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
            ],
            "".into(),
            2,
            "empty",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
            ],
            "abc\ndef\n".into(),
            2,
            "line break",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
            ],
            format!("{}\n", "x".repeat(17 * 1024)),
            2,
            "16 KiB",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "HTTPS://OK.example.com:443/mcp",
            ],
            "other\n".into(),
            4,
            "already has a credential",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "vlt_nope",
                "--url",
                "https://example.com/mcp",
            ],
            "t\n".into(),
            3,
            "No vault",
        ),
        (
            vec!["credential", "delete", "cred_nope", "--yes"],
            "".into(),
            3,
            "No credential",
        ),
        (
            vec!["credential", "replace", "cred_nope"],
            "t\n".into(),
            3,
            "No credential",
        ),
        (vec!["vault", "create", ""], "".into(), 2, "empty"),
        (vec!["vault", "create", &long_name], "".into(), 2, "200"),
        (
            vec!["vault", "create", "X", "--env", "nowhere"],
            "".into(),
            3,
            "environment",
        ),
        (vec!["vault", "delete", "Main"], "".into(), 2, "--yes"),
        (vec!["vault", "rename", "Main", " "], "".into(), 2, "empty"),
        (
            vec!["env", "create", "two words"],
            "".into(),
            2,
            "letters, digits",
        ),
        (
            vec!["env", "create", "development"],
            "".into(),
            4,
            "already exists",
        ),
    ];
    for (args, stdin, code, message) in &cases {
        let run = v.run(args, stdin);
        assert_eq!(run.code, *code, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(message),
            "{args:?}: expected {message:?} in {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    }
    // A token is never an argument: there is no flag that takes one.
    assert_eq!(
        v.run(
            &[
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://e.example.com/",
                "--token",
                "x"
            ],
            ""
        )
        .code,
        2
    );

    let sql = "Robert'); DROP TABLE vaults;--";
    let id = v.create_vault(sql, "development");
    let shown = v.run(&["--json", "vault", "show", &id], "").ok().json();
    assert_eq!(shown["vault"]["display_name"], sql);

    // Nothing was lost along the way.
    assert_eq!(v.vault_count(), 2);
    let creds = v
        .run(&["--json", "credential", "list", "--vault", "Main"], "")
        .ok()
        .json();
    assert_eq!(creds.as_array().expect("array").len(), 1);
    v.run(&["credential", "check"], "").ok();
    v.assert_nowhere(good.as_bytes(), "the token");
}
