//! A `kill -9` of the CLI during a direct-mode session leaves the agent's
//! private config (it holds a token) behind; the next Keybearer start, of any
//! command, removes it.

#![cfg(unix)]

mod support;

use std::path::PathBuf;
use std::process::Stdio;

use support::session::{read, token, wait_for, Home};

fn read_opt(path: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn a_killed_cli_leaves_no_private_folder_after_the_next_start() {
    let h = Home::new();
    // Direct mode, approved as a person at the app's dialog would.
    h.approve_direct_sessions();
    let vault = h.vault("Work", "development");
    let secret = token("swept");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &secret,
    );
    let report = h.path("report");
    let agent = h.script(
        "agent.sh",
        &format!(
            "printf '%s %s\\n' \"$$\" \"$KEYBEARER_MCP_CONFIG\" > {}\nexec sleep 1000",
            report.display()
        ),
    );
    let mut cli = h
        .command(&[
            // Unsandboxed: a sandboxed agent dies with the killed CLI
            // (bubblewrap's --die-with-parent), so only an unsandboxed one
            // is left running as an orphan, which is what is tested here.
            "session",
            "start",
            "--vault",
            "Work",
            "--agent",
            "custom",
            "--no-sandbox",
            "--direct",
            "--",
            &agent,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("session start");
    wait_for("the agent to start", || {
        read_opt(&report).is_some_and(|text| text.ends_with('\n'))
    });
    let line = read(&report);
    let mut fields = line.split_whitespace();
    let _pid = fields.next().expect("pid");
    let config = PathBuf::from(fields.next().expect("config"));
    let folder = config.parent().expect("folder").to_path_buf();
    assert!(
        std::fs::read_to_string(&config)
            .expect("config")
            .contains(&secret),
        "direct mode: the token is in the agent's config"
    );

    cli.kill().expect("kill -9");
    cli.wait().expect("reaped");
    assert!(folder.exists(), "nothing removed it yet");

    // Any command starts by sweeping.
    h.run(&["vault", "list"], "").code(0);
    assert!(
        !folder.exists(),
        "the private folder with the token is gone"
    );

    // The orphaned agent is still recorded as running and can be stopped.
    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["state"], "running");
    let id = listed[0]["id"].as_str().expect("id").to_string();
    let agent_pid: i32 = listed[0]["pid"].as_i64().expect("pid") as i32;
    h.run(&["session", "stop", &id, "--grace", "1"], "").code(0);
    wait_for("the agent to be gone", || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(agent_pid), None)
            == Err(nix::errno::Errno::ESRCH)
    });
}
