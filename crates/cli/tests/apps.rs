//! `keybearer apps …`: connecting apps' settings files in a throwaway HOME,
//! following the vaults as servers come and go, refusing files it cannot
//! read, and importing pasted tokens (with undo) — checked against the
//! official Python SDK's server and client, scanning every file for tokens.

#![cfg(unix)]

mod support;

use std::path::Path;

use support::apps::{entry_for, python_client};
use support::session::{sha256_hex, start_mcp_server, token, Home};

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn assert_in_no_file(dir: &Path, secret: &str) {
    for path in files(dir) {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "token found in {}",
            path.display()
        );
    }
}

/// Connect, a server added and one removed (the entries follow, and the
/// CLI says so), then disconnect: the file is byte for byte what it was.
#[test]
fn entries_follow_the_vaults_and_disconnect_restores_the_file() {
    let h = Home::new();
    let secret = token("follow");
    let first = start_mcp_server("streamable_http", &secret);
    let second = start_mcp_server("sse", &secret);
    h.vault("Work", "development");
    h.add("Work", &first.url, "streamable_http", &secret);
    let cursor = h.app_home().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().expect("dir")).expect("dir");
    let original = "{\n  // my servers\n  \"mcpServers\": {\n    \"mine\": { \"command\": \"my-server\", \"args\": [\"--fast\"] }\n  },\n  \"unknownKey\": [1, 2]\n}\n";
    std::fs::write(&cursor, original).expect("write");

    let connected = h
        .apps(&["--json", "apps", "connect", "cursor", "--vault", "Work"])
        .ok()
        .json();
    assert_eq!(connected["added"].as_array().map(Vec::len), Some(1));
    assert_eq!(connected["connection"]["environment"], "development");

    // A server added to the vault: the CLI updates the app and says so.
    let added = h.run_with(
        {
            let mut command = h.apps_command(&[
                "credential",
                "add",
                "--vault",
                "Work",
                "--url",
                &second.url,
                "--protocol",
                "sse",
            ]);
            command.env("KEYBEARER_TEST", "1");
            command
        },
        &format!("{secret}\n"),
    );
    let added = added.ok();
    assert!(added.stderr.contains("Cursor"), "{}", added.stderr);
    let listed = h.apps(&["--json", "apps", "list"]).ok().json();
    let status = listed
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["app"] == "cursor")
        .expect("cursor")
        .clone();
    assert_eq!(
        status["entries"].as_array().map(Vec::len),
        Some(2),
        "{status}"
    );
    let text = std::fs::read_to_string(&cursor).expect("read");
    assert!(text.contains("// my servers") && text.contains("\"unknownKey\""));
    assert!(!text.contains(&secret));

    // The first server's credential deleted: its entry goes.
    let id = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json()
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["mcp_server_url"] == first.url.as_str())
        .expect("first")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let deleted = h.run_with(h.apps_command(&["credential", "delete", &id, "--yes"]), "");
    assert!(deleted.stderr.contains("removed"), "{}", deleted.stderr);
    let text = std::fs::read_to_string(&cursor).expect("read");
    assert!(!text.contains(&first.url) && text.contains(&second.url));

    h.apps(&["apps", "disconnect", "cursor"]).ok();
    assert_eq!(std::fs::read_to_string(&cursor).expect("read"), original);
    h.assert_nowhere(&secret);
}

/// A settings file Keybearer cannot parse is refused, untouched, and no
/// connection is left behind; an unknown app is named as such.
#[test]
fn an_unreadable_settings_file_is_refused_and_left_alone() {
    let h = Home::new();
    h.vault("Work", "development");
    let cursor = h.app_home().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().expect("dir")).expect("dir");
    let broken = "{ \"mcpServers\": { \"a\": { \"command\": \"x\" }, }  oops\n";
    std::fs::write(&cursor, broken).expect("write");
    let refused = h
        .apps(&["apps", "connect", "cursor", "--vault", "Work"])
        .code(9);
    assert!(refused.stderr.contains("mcp.json"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("has not changed"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&cursor).expect("read"), broken);
    let listed = h.apps(&["--json", "apps", "list"]).ok().json();
    assert!(listed
        .as_array()
        .expect("apps")
        .iter()
        .all(|a| a["connection"].is_null()));
    let unknown = h
        .apps(&["apps", "connect", "notepad", "--vault", "Work"])
        .code(2);
    assert!(unknown.stderr.contains("Known apps"), "{}", unknown.stderr);
}

/// The billion-laughs YAML: nine aliases of nine aliases … of nine strings,
/// 342 bytes that a YAML loader without limits expands to 387 million values.
const BILLION_LAUGHS: &str = r#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"#;

/// `keybearer` as [`Home::apps`] runs it, but with at most 512 MiB of
/// address space (it needs about 20 MiB) and killed after 30 s: a build
/// without the YAML limits fails here instead of eating the machine.
fn apps_bounded(h: &Home, args: &[&str]) -> support::Run {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let inner = h.apps_command(args);
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" \"$@\"")
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let mut child = command.spawn().expect("spawn keybearer");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keybearer {args:?} was still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// goose's settings file holds the billion laughs (anything that can write
/// the file, a sandboxed agent included, can put it there): `apps list`
/// answers promptly, in bounded memory, with the refusal as goose's problem
/// and every other app listed as usual; connecting goose is refused and the
/// file is left byte for byte as it was.
#[test]
fn a_billion_laughs_goose_file_is_refused_and_the_other_apps_listed() {
    let h = Home::new();
    h.vault("Work", "development");
    let goose = h.app_home().join(".config/goose/config.yaml");
    std::fs::create_dir_all(goose.parent().expect("dir")).expect("dir");
    std::fs::write(&goose, BILLION_LAUGHS).expect("write");
    let cursor = h.app_home().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().expect("dir")).expect("dir");
    std::fs::write(&cursor, "{ \"mcpServers\": {} }\n").expect("write");

    let started = std::time::Instant::now();
    let listed = apps_bounded(&h, &["--json", "apps", "list"]).ok().json();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let apps = listed.as_array().expect("apps");
    assert_eq!(apps.len(), 11, "every app is listed");
    let status = |id: &str| apps.iter().find(|a| a["app"] == id).expect(id).clone();
    let problem = status("goose")["problem"]
        .as_str()
        .expect("goose's problem")
        .to_string();
    for part in [
        "config.yaml",
        "too large or too complicated",
        "aliases",
        "has not changed",
    ] {
        assert!(problem.contains(part), "{part:?} not in {problem}");
    }
    let cursor_status = status("cursor");
    assert!(cursor_status["problem"].is_null() && cursor_status["installed"] == true);

    let refused = apps_bounded(&h, &["apps", "connect", "goose", "--vault", "Work"]).code(9);
    assert!(refused.stderr.contains("aliases"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(&goose).expect("read"),
        BILLION_LAUGHS
    );
    let listed = h.apps(&["--json", "apps", "list"]).ok().json();
    assert!(listed
        .as_array()
        .expect("apps")
        .iter()
        .all(|a| a["connection"].is_null()));
}

/// Tokens pasted into Claude Code's settings: found (by where, never what),
/// moved into the vault (a bearer token as a token, an `X-API-Key` as a
/// header credential), the entries replaced by bridge entries that work, the
/// secrets in no file at all afterwards; a kind that cannot be imported yet
/// (a token in the address) is reported and left; undo puts the file back
/// byte for byte.
#[test]
fn pasted_tokens_are_imported_and_the_import_can_be_undone() {
    let h = Home::new();
    let secret = token("pasted");
    let api_key = token("apikey");
    let query = token("query");
    let server = start_mcp_server("streamable_http", &secret);
    let keyed_server = support::session::start_peer_with_headers(&[("X-API-Key", &api_key)]);
    h.vault("Work", "development");
    let settings = h.app_home().join(".claude.json");
    let original = format!(
        r#"{{
  "numStartups": 3,
  "mcpServers": {{
    "pasted": {{ "type": "http", "url": "{url}", "headers": {{ "Authorization": "Bearer {secret}" }} }},
    "keyed": {{ "type": "http", "url": "{keyed}", "headers": {{ "X-API-Key": "{api_key}" }} }},
    "queried": {{ "type": "http", "url": "https://q.example.com/mcp?token={query}" }},
    "local": {{ "type": "stdio", "command": "npx", "args": ["some-server"] }}
  }}
}}
"#,
        url = server.url,
        keyed = keyed_server.url
    );
    std::fs::write(&settings, &original).expect("write");

    let found = h.apps(&["--json", "apps", "import", "claude-code"]).ok();
    for hidden in [&secret, &api_key, &query] {
        assert!(!found.stdout.contains(hidden.as_str()));
    }
    let found = found.json();
    let found = found.as_array().expect("findings");
    assert_eq!(found.len(), 3, "{found:?}");
    let finding = |server: &str| {
        found
            .iter()
            .find(|f| f["server"] == server)
            .expect("found")
            .clone()
    };
    assert_eq!(finding("pasted")["importable"], true);
    assert_eq!(finding("keyed")["importable"], true);
    assert_eq!(finding("queried")["importable"], false);
    assert!(finding("queried")["note"]
        .as_str()
        .expect("note")
        .contains("not yet importable"));

    let outcome = h
        .apps(&["--json", "apps", "import", "claude-code", "--vault", "Work"])
        .ok()
        .json();
    let imported: Vec<&str> = outcome["imported"]
        .as_array()
        .expect("imported")
        .iter()
        .filter_map(|e| e["server"].as_str())
        .collect();
    assert_eq!(imported, ["pasted", "keyed"]);
    assert_eq!(outcome["left"][0]["server"], "queried");

    // The imported secrets are in no file under HOME, and in the data folder only sealed.
    for moved in [&secret, &api_key] {
        assert_in_no_file(&h.app_home(), moved);
        h.assert_nowhere(moved);
    }
    let text = std::fs::read_to_string(&settings).expect("read");
    assert!(text.contains("\"numStartups\": 3") && text.contains(&query));
    let entries = h.claude_code_entries();
    let entry = entry_for(&entries, &server.url);
    assert_eq!(entry.name, "pasted", "the entry keeps its name");
    let run = python_client(entry, &["--tool", "whoami"]);
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(run.answer["result"], sha256_hex(&secret));
    let keyed = entry_for(&entries, &keyed_server.url);
    let run = python_client(keyed, &["--tool", "whoami"]);
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(
        run.answer["result"],
        sha256_hex(&format!("X-API-Key: {api_key}"))
    );

    h.apps(&["apps", "undo-import", "claude-code"]).ok();
    assert_eq!(std::fs::read_to_string(&settings).expect("read"), original);
    let listed = h.apps(&["--json", "apps", "list"]).ok().json();
    let claude = listed
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["app"] == "claude-code")
        .expect("claude-code")
        .clone();
    assert!(
        claude["connection"].is_null(),
        "the import's connection is gone: {claude}"
    );
    // The sealed copy is gone too; the credential stays in the vault.
    h.assert_nowhere(&secret);
    let credentials = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json();
    assert_eq!(credentials.as_array().map(Vec::len), Some(2));
}
