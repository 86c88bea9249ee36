//! Settings files written to hurt whoever reads them: the billion-laughs
//! YAML, nesting 100,000 levels deep in each format, files bigger than any
//! settings file or packed with tiny values, and an endless device or a
//! pipe where the file should be.
//! Each is refused quickly, with words a person understands, and nothing is
//! written.
//!
//! The attacks run in a child process (this test binary, one test) whose
//! address space `ulimit -v` caps at 1 GiB, under a deadline: code without
//! the limits then fails (allocation abort, stack overflow, deadline)
//! instead of taking the machine or the test run down with it.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app_configs::{
    list_servers, read_config, remove_entries, replace_with_bridge, upsert_bridge_entries, App,
    ConfigFile, Error,
};
use common::*;

const CHILD: &str = "APP_CONFIGS_HOSTILE_CHILD";
const MEMORY_KB: u64 = 1024 * 1024;
const DEADLINE: Duration = Duration::from_secs(60);
/// How long a refusal may take on a busy machine (it takes milliseconds).
const PROMPT: Duration = Duration::from_secs(5);

/// The classic: nine aliases of nine aliases … of nine strings, 9^9 in all.
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

/// Runs test `name` of this binary in a child with at most [`MEMORY_KB`]
/// of address space; it must finish in time, pass, and say it ran.
fn in_child(name: &str) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KB} && exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} was still running after {DEADLINE:?}: nothing stopped it");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(&format!("{name}: refused")),
        "{name} failed in a child limited to {MEMORY_KB} KiB ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Whether this process is the child asked to run `name`.
fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|n| n == name)
}

fn ran(name: &str) {
    // Not print!: the harness captures that; the parent reads this.
    let line = format!("{name}: refused\n");
    std::io::stdout().write_all(line.as_bytes()).unwrap();
}

/// A refusal for being too large, in plain words, returned promptly.
fn assert_too_large(result: Result<impl std::fmt::Debug, Error>, started: Instant, words: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.code(), "config_too_large", "{err}");
    let message = err.to_string();
    for part in ["too large or too complicated", words, "has not changed"] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
}

#[test]
fn billion_laughs_is_refused_promptly_in_bounded_memory() {
    in_child("child_billion_laughs");
}

#[test]
fn child_billion_laughs() {
    if !is_child("child_billion_laughs") {
        return;
    }
    assert!(BILLION_LAUGHS.len() < 400);
    let goose = file(App::Goose);
    let started = Instant::now();
    assert_too_large(list_servers(&goose, BILLION_LAUGHS), started, "aliases");
    let entry = bridge("keybearer-notion", "con_01");
    // Every edit refuses the same way and returns no text to write.
    let edits = [
        upsert_bridge_entries(&goose, BILLION_LAUGHS, std::slice::from_ref(&entry)),
        replace_with_bridge(&goose, BILLION_LAUGHS, &entry),
        remove_entries(&goose, BILLION_LAUGHS, &["a"]),
    ];
    for edit in edits {
        assert_too_large(edit, started, "goose");
    }
    // From the disk, as the CLI reads it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, BILLION_LAUGHS).unwrap();
    let on_disk = ConfigFile::new(App::Goose, &path);
    let text = read_config(&on_disk).unwrap();
    assert_too_large(list_servers(&on_disk, &text), started, "config.yaml");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), BILLION_LAUGHS);
    ran("child_billion_laughs");
}

const LEVELS: usize = 100_000;

/// `open` LEVELS times, `middle`, `close` LEVELS times.
fn nested(before: &str, open: &str, middle: &str, close: &str, after: &str) -> String {
    format!(
        "{before}{}{middle}{}{after}",
        open.repeat(LEVELS),
        close.repeat(LEVELS)
    )
}

#[test]
fn nesting_100_000_deep_is_refused_in_every_format() {
    in_child("child_deep_nesting");
}

#[test]
fn child_deep_nesting() {
    if !is_child("child_deep_nesting") {
        return;
    }
    let alias_chain: String = (0..12)
        .map(|i| {
            let inner = if i == 0 {
                "1".to_string()
            } else {
                format!("*a{}", i - 1)
            };
            format!("l{i}: &a{i} {}{inner}{}\n", "[".repeat(10), "]".repeat(10))
        })
        .collect();
    let indented: String = (0..1000)
        .map(|i| format!("{}a:\n", "  ".repeat(i)))
        .collect();
    let cases = [
        (
            App::Cursor,
            nested("{\"mcpServers\": {}, \"x\": ", "[", "1", "]", "}"),
        ),
        (App::VsCode, nested("", "{\"a\": ", "1", "}", "")),
        (App::Codex, nested("x = ", "[", "1", "]", "\n")),
        (App::Codex, nested("x = ", "{ a = ", "1", " }", "\n")),
        (App::Codex, nested("[", "a.", "a", "", "]\n")),
        (
            App::Codex,
            format!("x = {}1{}\n", "{ a.b.c = ".repeat(3000), " }".repeat(3000)),
        ),
        (App::Goose, nested("x: ", "[", "1", "]", "\n")),
        (App::Goose, nested("x: ", "{a: ", "1", "}", "\n")),
        (App::Goose, nested("x:\n", "- ", "1", "", "\n")),
        (App::Goose, indented),
        (App::Goose, alias_chain),
    ];
    // On a thread with a small stack, like the window's worker threads.
    let outcome = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            for (app, text) in cases {
                let started = Instant::now();
                assert_too_large(list_servers(&file(app), &text), started, "levels deep");
            }
        })
        .unwrap()
        .join();
    assert!(outcome.is_ok());
    ran("child_deep_nesting");
}

/// Just inside the limit, on the same small stack: read and edited.
#[test]
fn nesting_within_the_limit_is_read_and_edited() {
    let deep = |open: &str, close: &str| format!("{}1{}", open.repeat(60), close.repeat(60));
    let cases = [
        (
            App::Cursor,
            format!("{{\"mcpServers\": {{}}, \"x\": {}}}\n", deep("[", "]")),
        ),
        (App::Codex, format!("x = {}\n", deep("[", "]"))),
        (
            App::Goose,
            format!("x: {}\nextensions: {{}}\n", deep("{a: ", "}")),
        ),
    ];
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            for (app, text) in cases {
                let f = file(app);
                assert!(list_servers(&f, &text).unwrap().is_empty(), "{app:?}");
                let out = upsert_bridge_entries(&f, &text, &[bridge("kb", "con_01")]).unwrap();
                assert_eq!(list_servers(&f, &out).unwrap().len(), 1, "{app:?}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn oversized_files_are_refused_unread() {
    in_child("child_oversized");
}

#[test]
fn child_oversized() {
    if !is_child("child_oversized") {
        return;
    }
    const MIB: usize = 1024 * 1024;
    let padded = |app: App, head: &str, limit: usize| {
        let mut text = head.to_string();
        text.push_str(&"#".repeat(limit + 1 - head.len()));
        (app, text)
    };
    let cases = [
        (
            App::ClaudeCode,
            format!(
                "{{\"mcpServers\": {{}}, \"history\": \"{}\"}}",
                "x".repeat(16 * MIB)
            ),
            "16 MB",
        ),
        {
            let (app, text) = padded(App::Codex, "[mcp_servers]\n", MIB);
            (app, text, "1 MB")
        },
        {
            let (app, text) = padded(App::Goose, "extensions: {}\n", 4 * MIB);
            (app, text, "4 MB")
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    for (app, text, words) in cases {
        let started = Instant::now();
        assert_too_large(list_servers(&file(app), &text), started, words);
        let path = dir.path().join(app.id());
        std::fs::write(&path, &text).unwrap();
        let started = Instant::now();
        assert_too_large(read_config(&ConfigFile::new(app, &path)), started, words);
    }
    // A goose file exactly at the limit is still read.
    let (_, mut at_limit) = padded(App::Goose, "extensions: {}\n", 4 * MIB);
    at_limit.pop();
    assert!(list_servers(&file(App::Goose), &at_limit)
        .unwrap()
        .is_empty());
    // Small files packed with tiny values: a parser's tree costs far more
    // per value than the two bytes `0,` take in the file.
    let zeros = |n: usize| vec!["0"; n].join(",");
    let packed = [
        (
            App::Cursor,
            format!("{{\"mcpServers\": {{}}, \"x\": [{}]}}", zeros(600_000)),
        ),
        (App::Codex, format!("x = [{}]\n", zeros(510_000))),
        (App::Goose, format!("x: [{}]\n", zeros(600_000))),
    ];
    for (app, text) in packed {
        let started = Instant::now();
        assert_too_large(
            list_servers(&file(app), &text),
            started,
            "500,000 names and values",
        );
    }
    ran("child_oversized");
}

#[test]
fn a_device_or_a_pipe_is_not_read() {
    in_child("child_special_files");
}

#[test]
fn child_special_files() {
    if !is_child("child_special_files") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let endless = dir.path().join("mcp.json");
    std::os::unix::fs::symlink("/dev/zero", &endless).unwrap();
    let pipe = dir.path().join("config.yaml");
    assert!(Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap()
        .success());
    for file in [
        ConfigFile::new(App::Cursor, &endless),
        ConfigFile::new(App::Goose, &pipe),
    ] {
        let started = Instant::now();
        let err = read_config(&file).unwrap_err();
        assert_eq!(err.code(), "io");
        assert!(err.to_string().contains("not an ordinary file"), "{err}");
        assert!(started.elapsed() < PROMPT);
    }
    ran("child_special_files");
}

/// goose with a small alias (shared environment variables): read, edited,
/// and the alias kept as written.
#[test]
fn a_small_alias_in_a_goose_config_still_works() {
    let text = "\
x-env: &env
  LOG_LEVEL: warn
  REGION: eu
extensions:
  github:
    cmd: npx
    args: [-y, '@modelcontextprotocol/server-github']
    envs: *env
    enabled: true
    name: github
    type: stdio
  linear:
    cmd: linear-mcp
    envs: *env
    enabled: true
    name: linear
    type: stdio
";
    let goose = file(App::Goose);
    let listed = list_servers(&goose, text).unwrap();
    assert_eq!(listed.len(), 2);
    match &listed[1].transport {
        app_configs::Transport::Stdio(s) => {
            assert!(s.env.contains(&("REGION".into(), "eu".into())))
        }
        other => panic!("{other:?}"),
    }
    let entry = bridge("keybearer-notion", "con_01");
    let out = upsert_bridge_entries(&goose, text, std::slice::from_ref(&entry)).unwrap();
    assert_only_inserted(text, &out);
    assert_eq!(list_servers(&goose, &out).unwrap().len(), 3);
    assert_eq!(
        remove_entries(&goose, &out, &["keybearer-notion"]).unwrap(),
        text
    );
}
