//! `credential add` finds what the user did not say by asking the server
//! (docs/architecture.md, "Known servers"), against real servers: the
//! official Python SDK's (Streamable HTTP at /mcp; SSE only, at /events, an
//! address that does not say so) and the OAuth test peer. `--url` gets the
//! protocol and the way to sign in from the server; a registry entry's
//! declared transport gives way to the server's answer; a registry entry
//! that pins its OAuth app's endpoints signs in where the service publishes
//! no metadata at all (the peer's `--hide-metadata`), and `credential
//! replace` signs in again as that app without the client being typed again.

#![cfg(unix)]

mod support;

use serde_json::{json, Value};
use support::oauth::{signing_in, start_peer, start_signing_in_with};
use support::registry_peer::{page, server, RegistryPeer};
use support::session::{start_mcp_server, start_python_server, token, Home};

fn added(run: support::Run) -> Value {
    run.json()
}

#[test]
fn url_alone_gets_the_protocol_and_the_way_from_the_server() {
    let h = Home::new();
    h.vault("Work", "development");
    let secret = token("asked-url");
    let streamable = start_mcp_server("streamable_http", &secret);
    let events = start_python_server(&["--transport", "sse", "--sse-path", "/events"], &secret);
    assert!(events.url.ends_with("/events"), "{}", events.url);

    for (server, expected) in [(&streamable, "streamable_http"), (&events, "sse")] {
        let run = h
            .run(
                &[
                    "--json",
                    "credential",
                    "add",
                    "--vault",
                    "Work",
                    "--url",
                    &server.url,
                ],
                &format!("{secret}\n"),
            )
            .ok();
        assert!(run.stderr.contains("paste its token"), "{}", run.stderr);
        let credential = added(run);
        assert_eq!(credential["protocol"], expected, "{}", server.url);
        assert_eq!(credential["type"], "static_bearer");
        let tested = h
            .run(
                &[
                    "--json",
                    "credential",
                    "test",
                    credential["id"].as_str().expect("id"),
                ],
                "",
            )
            .ok()
            .json();
        assert_eq!(tested[0]["outcome"], "ok", "{tested}");
    }

    // A 401 naming resource metadata: OAuth, without --oauth.
    let peer = start_peer("60", &[]);
    let (signed, _) = signing_in(
        &h,
        &[
            "--json",
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &peer.url,
        ],
    );
    assert_eq!(signed["type"], "mcp_oauth");
    assert_eq!(signed["protocol"], "streamable_http");

    // --token: a token after all, and the protocol still asked.
    h.vault("Other", "development");
    let credential = added(
        h.run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Other",
                "--url",
                &peer.url,
                "--token",
            ],
            "tok_pasted_for_an_oauth_server_0123\n",
        )
        .ok(),
    );
    assert_eq!(credential["type"], "static_bearer");
    h.assert_nowhere(&secret);
}

#[test]
fn a_registry_entrys_transport_is_what_the_server_answers_on() {
    let secret = token("asked-registry");
    let events = start_python_server(&["--transport", "sse", "--sse-path", "/events"], &secret);
    let registry = RegistryPeer::start();
    // Declared as Streamable HTTP, as a publisher might get it wrong.
    registry.serve(&[page(
        vec![server("io.example/events", "Events", &events.url)],
        None,
    )]);
    let h = Home::new();
    h.run(&["settings", "registry", &registry.base], "").ok();
    h.run(&["catalog", "--refresh"], "").ok();
    h.vault("Work", "development");
    let credential = added(
        h.run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Work",
                "--server",
                "io.example/events",
            ],
            &format!("{secret}\n"),
        )
        .ok(),
    );
    assert_eq!(credential["protocol"], "sse");
    let tested = h
        .run(
            &[
                "--json",
                "credential",
                "test",
                credential["id"].as_str().expect("id"),
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(tested[0]["outcome"], "ok", "{tested}");
    h.assert_nowhere(&secret);
}

#[test]
fn an_entrys_pinned_endpoints_sign_in_where_no_metadata_is_published() {
    let peer = start_peer("60", &["--hide-metadata"]);
    let (client_id, client_secret) = peer.users_app();
    let mut pinned = server("io.example/pinned", "Pinned", &peer.url);
    pinned["server"]["_meta"] = json!({
        "io.modelcontextprotocol.registry/publisher-provided": {
            "dev.keybearer/oauth-app": {
                "clientPage": "https://example.com/settings/apps/new",
                "clientSecret": true,
                "scopes": ["mcp"],
                "authorizeUrl": format!("{}/authorize", peer.base),
                "tokenUrl": format!("{}/token", peer.base)
            }
        }
    });
    let registry = RegistryPeer::start();
    registry.serve(&[page(vec![pinned], None)]);
    let h = Home::new();
    h.run(&["settings", "registry", &registry.base], "").ok();
    h.run(&["catalog", "--refresh"], "").ok();
    h.vault("Work", "development");

    // Without the app's client ID: told where to make it.
    let told = h
        .run(
            &[
                "credential",
                "add",
                "--vault",
                "Work",
                "--server",
                "io.example/pinned",
            ],
            "",
        )
        .code(2);
    assert!(told.stderr.contains("--client-id"), "{}", told.stderr);
    assert!(
        told.stderr
            .contains("https://example.com/settings/apps/new"),
        "{}",
        told.stderr
    );

    let signed = start_signing_in_with(
        &h,
        &[
            "--json",
            "credential",
            "add",
            "--vault",
            "Work",
            "--server",
            "io.example/pinned",
            "--oauth",
            "--client-id",
            &client_id,
        ],
        Some(&format!("{client_secret}\n")),
    )
    .browse();
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let credential = signed.answer.expect("json");
    assert_eq!(credential["type"], "mcp_oauth");
    assert_eq!(peer.stat("registrations"), 1, "only the user's own app");
    let id = credential["id"].as_str().expect("id").to_string();
    let tested = h
        .run(&["--json", "credential", "test", &id], "")
        .ok()
        .json();
    assert_eq!(tested[0]["outcome"], "ok", "{tested}");

    // Signing in again: the same app, nothing typed.
    let again = start_signing_in_with(&h, &["--json", "credential", "replace", &id], None).browse();
    assert_eq!(again.code, 0, "{}", again.stderr);
    let replaced = again.answer.expect("json");
    let new_id = replaced["credential"]["id"].as_str().expect("id");
    assert_ne!(new_id, id);
    assert_eq!(peer.stat("authorizations"), 2);
    assert_eq!(peer.stat("registrations"), 1);
    let tested = h
        .run(&["--json", "credential", "test", new_id], "")
        .ok()
        .json();
    assert_eq!(tested[0]["outcome"], "ok", "{tested}");
    h.assert_nowhere(&client_secret);
}
