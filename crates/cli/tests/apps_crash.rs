//! Settings files survive a crash: `apps import` and `apps connect` on a
//! large settings file are killed (SIGKILL, injected by strace at the Nth
//! call of each file-system system call: every open, write, fsync, rename,
//! unlink of the settings file's write and of SQLite's commit) and after
//! each kill:
//! - the settings file is byte for byte the old text or the new text (so it
//!   still parses), never a mix;
//! - no token is lost: each pasted token is in the file or in the vault;
//! - what the database says agrees with the file, or the next command
//!   (`apps sync`, or the same import/connect again) brings both to the
//!   state an uninterrupted run reaches, leaving no temporary file behind.
//!
//! Real files in a throwaway HOME, real SQLite, the real keychain; each kill
//! starts from a copy of the same data folder and HOME.

#![cfg(target_os = "linux")]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::session::{token, Home};
use support::BIN;

/// File-system calls a kill is injected at.
const CALLS: &[&str] = &[
    "openat",
    "write",
    "pwrite64",
    "fsync",
    "fdatasync",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "ftruncate",
];

/// At most this many kill points per system call (spread over its calls).
const POINTS_PER_CALL: usize = 10;

/// How many of the user's own entries the settings file holds.
const USER_ENTRIES: usize = 300;

/// A copy of the set-up data folder and HOME to run one command in.
struct Copy {
    dir: tempfile::TempDir,
}

impl Copy {
    fn of(h: &Home) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["data", "home"] {
            let status = Command::new("cp")
                .arg("-a")
                .arg(h.path(name))
                .arg(dir.path().join(name))
                .status()
                .expect("cp");
            assert!(status.success());
        }
        Self { dir }
    }

    fn settings(&self) -> PathBuf {
        self.dir.path().join("home/.claude.json")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("HOME", self.dir.path().join("home"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn cli_args<'a>(&'a self, data: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--data-dir", data];
        all.extend_from_slice(args);
        all
    }

    /// The CLI, to its end; its JSON output when it succeeded.
    fn run(&self, args: &[&str]) -> Option<Value> {
        let data = self.dir.path().join("data").display().to_string();
        let output = self
            .command(BIN, &self.cli_args(&data, args))
            .output()
            .expect("keybearer");
        output
            .status
            .success()
            .then(|| serde_json::from_slice(&output.stdout).unwrap_or(Value::Null))
    }

    /// The CLI under strace, killed at the `when`-th `call` (when it gets
    /// that far); the counts of each traced call when `when` is 0.
    fn run_killed(&self, args: &[&str], call: &str, when: usize) -> (bool, String) {
        let data = self.dir.path().join("data").display().to_string();
        let log = self.dir.path().join("strace.log");
        let mut strace_args: Vec<String> = vec!["-f".into(), "-qq".into(), "-o".into()];
        strace_args.push(log.display().to_string());
        if when == 0 {
            strace_args.push(format!("--trace={}", CALLS.join(",")));
        } else {
            strace_args.push(format!("--trace={call}"));
            strace_args.push(format!("--inject={call}:signal=KILL:when={when}"));
        }
        strace_args.push(BIN.into());
        let cli: Vec<String> = self
            .cli_args(&data, args)
            .into_iter()
            .map(String::from)
            .collect();
        strace_args.extend(cli);
        let refs: Vec<&str> = strace_args.iter().map(String::as_str).collect();
        let output = self.command("strace", &refs).output().expect("strace");
        let killed = !output.status.success();
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        (killed, log)
    }

    /// Temporary files of Keybearer's left in the settings file's folder.
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("home"))
            .expect("home")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".keybearer-") && name.ends_with(".tmp"))
            .collect()
    }

    /// The file with what differs between copies (the connection's id, the
    /// data folder's path) written the same way.
    fn normalised(&self, text: &str) -> String {
        let data = self.dir.path().display().to_string();
        let text = text.replace(&data, "<copy>");
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("con_") {
            out.push_str(&rest[..at]);
            out.push_str("con_<id>");
            rest = rest[at + 4..].trim_start_matches(|c: char| c.is_ascii_alphanumeric());
        }
        out.push_str(rest);
        out
    }

    fn connected(&self) -> bool {
        let apps = self.run(&["--json", "apps", "list"]).expect("apps list");
        apps.as_array()
            .expect("apps")
            .iter()
            .any(|a| a["app"] == "claude-code" && !a["connection"].is_null())
    }

    fn credential_urls(&self) -> Vec<String> {
        let list = self
            .run(&["--json", "credential", "list", "--vault", "Work"])
            .expect("credential list");
        let mut urls: Vec<String> = list
            .as_array()
            .expect("credentials")
            .iter()
            .filter_map(|c| c["mcp_server_url"].as_str().map(String::from))
            .collect();
        urls.sort();
        urls
    }
}

/// Claude Code's settings: the user's own entries, then `pasted` ones.
fn claude_json(pasted: &[(String, String)]) -> String {
    let mut entries: Vec<String> = (0..USER_ENTRIES)
        .map(|i| {
            format!(
                "    \"tool-{i:03}\": {{ \"command\": \"/usr/bin/tool-{i}\", \"args\": [\"--port\", \"{i}\"], \"env\": {{ \"LEVEL\": \"{i}\" }} }}"
            )
        })
        .collect();
    for (url, secret) in pasted {
        let name = url.split('/').nth(2).unwrap_or("x").replace('.', "-");
        entries.push(format!(
            "    \"{name}\": {{ \"type\": \"http\", \"url\": \"{url}\", \"headers\": {{ \"Authorization\": \"Bearer {secret}\" }} }}"
        ));
    }
    format!(
        "{{\n  \"numStartups\": 3,\n  \"theme\": \"dark\",\n  \"mcpServers\": {{\n{}\n  }}\n}}\n",
        entries.join(",\n")
    )
}

/// Where to kill: for each traced call, up to [`POINTS_PER_CALL`] of its
/// invocation numbers in one process, spread from the first to the last.
fn kill_points(log: &str) -> Vec<(String, usize)> {
    // Calls counted per process (strace counts invocations per tracee).
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for line in log.lines() {
        let mut words = line.splitn(2, ' ');
        let (Some(pid), Some(rest)) = (words.next(), words.next()) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(name) = rest.split('(').next() else {
            continue;
        };
        if CALLS.contains(&name) {
            *counts.entry(name).or_default().entry(pid).or_default() += 1;
        }
    }
    let mut points = Vec::new();
    for (call, per_process) in counts {
        let most = per_process.values().copied().max().unwrap_or(0);
        let step = most.div_ceil(POINTS_PER_CALL).max(1);
        let mut when: Vec<usize> = (1..=most).step_by(step).collect();
        if when.last() != Some(&most) {
            when.push(most);
        }
        points.extend(when.into_iter().map(|n| (call.to_string(), n)));
    }
    points
}

struct Report {
    runs: usize,
    killed: usize,
    old: usize,
    new: usize,
}

/// Kills `args` at every point, checks each aftermath with `check` (given
/// the copy and whether the file is the new text), then `recover` must
/// bring it to the uninterrupted run's file.
fn kill_everywhere(
    h: &Home,
    args: &[&str],
    check: impl Fn(&Copy, bool),
    recover: impl Fn(&Copy),
) -> Report {
    let original = std::fs::read_to_string(h.path("home/.claude.json")).expect("settings");
    // The uninterrupted run, traced: its file and its calls.
    let clean = Copy::of(h);
    let (killed, log) = clean.run_killed(args, "", 0);
    assert!(!killed, "the traced run itself succeeds: {log}");
    let finished = clean.normalised(&std::fs::read_to_string(clean.settings()).expect("new"));
    assert_ne!(
        finished,
        clean.normalised(&original),
        "the command changes the file"
    );
    let points = kill_points(&log);
    assert!(points.len() > 30, "enough places to kill it: {points:?}");
    let mut report = Report {
        runs: 0,
        killed: 0,
        old: 0,
        new: 0,
    };
    for (call, when) in points {
        let copy = Copy::of(h);
        let (killed, _) = copy.run_killed(args, &call, when);
        report.runs += 1;
        report.killed += usize::from(killed);
        let now = std::fs::read_to_string(copy.settings()).expect("settings file still there");
        let is_new = copy.normalised(&now) == finished;
        assert!(
            now == original || is_new,
            "killed at {call} #{when}: the settings file is neither the old nor the new text:\n{}",
            &now[..now.len().min(400)]
        );
        if is_new {
            report.new += 1;
        } else {
            report.old += 1;
        }
        check(&copy, is_new);
        recover(&copy);
        let after = std::fs::read_to_string(copy.settings()).expect("settings");
        assert_eq!(
            copy.normalised(&after),
            finished,
            "killed at {call} #{when}, then recovered: the file is the uninterrupted run's"
        );
        assert_eq!(
            copy.leftovers(),
            Vec::<String>::new(),
            "killed at {call} #{when}: temporary files left after the next write"
        );
    }
    // Most points must really have been reached: else this proves nothing.
    assert!(
        report.killed * 10 >= report.runs * 8,
        "only {} of {} runs were killed",
        report.killed,
        report.runs
    );
    report
}

#[test]
#[allow(clippy::print_stderr)] // how many kills, for the log
fn an_import_killed_at_any_step_loses_no_token_and_leaves_the_old_or_new_file() {
    let h = Home::new();
    h.vault("Work", "development");
    let pasted: Vec<(String, String)> = (1..=3)
        .map(|i| (format!("https://mcp{i}.example.com/mcp"), token("crash")))
        .collect();
    std::fs::create_dir_all(h.path("home")).expect("home");
    std::fs::write(h.path("home/.claude.json"), claude_json(&pasted)).expect("write");
    let mut urls: Vec<String> = pasted.iter().map(|(url, _)| url.clone()).collect();
    urls.sort();
    let args = ["--json", "apps", "import", "claude-code", "--vault", "Work"];
    let report = kill_everywhere(
        &h,
        &args,
        |copy, is_new| {
            if is_new {
                // The tokens left the file: they must be in the vault.
                assert_eq!(
                    copy.credential_urls(),
                    urls,
                    "tokens out of the file are in the vault"
                );
                assert!(copy.connected());
            }
            // Else the file still holds every token (it is the old text).
        },
        |copy| {
            let text = std::fs::read_to_string(copy.settings()).expect("settings");
            if pasted
                .iter()
                .any(|(_, secret)| text.contains(secret.as_str()))
            {
                copy.run(&args)
                    .expect("importing again finishes the import");
            }
            assert_eq!(copy.credential_urls(), urls);
            assert!(copy.connected());
        },
    );
    eprintln!(
        "import: {} runs, {} killed; file old after {}, new after {}",
        report.runs, report.killed, report.old, report.new
    );
}

#[test]
#[allow(clippy::print_stderr)] // how many kills, for the log
fn a_connect_killed_at_any_step_leaves_the_old_or_new_file_and_sync_agrees() {
    let h = Home::new();
    h.vault("Work", "development");
    for i in 1..=3 {
        h.add(
            "Work",
            &format!("https://mcp{i}.example.com/mcp"),
            "streamable_http",
            &token("crash"),
        );
    }
    std::fs::create_dir_all(h.path("home")).expect("home");
    std::fs::write(h.path("home/.claude.json"), claude_json(&[])).expect("write");
    let args = [
        "--json",
        "apps",
        "connect",
        "claude-code",
        "--vault",
        "Work",
    ];
    let report = kill_everywhere(
        &h,
        &args,
        |copy, is_new| {
            if is_new {
                assert!(
                    copy.connected(),
                    "the file has the entries: the app is connected"
                );
            }
        },
        |copy| {
            if copy.connected() {
                copy.run(&["--json", "apps", "sync"]).expect("sync");
            } else {
                copy.run(&args).expect("connecting again");
            }
        },
    );
    eprintln!(
        "connect: {} runs, {} killed; file old after {}, new after {}",
        report.runs, report.killed, report.old, report.new
    );
}
