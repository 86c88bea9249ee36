//! Direct mode asked for from the command line while the window is open:
//! the real CLI (no terminal, so only the window can answer) asks the real
//! app over its approval socket, the window shows who asks for what, and
//! the person's Deny or Approve decides whether the agent starts with the
//! token. A command that gives up takes its question away. No token in the
//! page or in any IPC answer.

// Sessions and the approval socket are Unix only.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{cli, set_up, unique_token};
use keybearer_e2e::{repo_root, require_environment, Window};

/// `session start --direct` without a controlling terminal (util-linux's
/// `setsid`), as a script or an agent's tool call would run it.
fn ask_for_direct(data: &Path, agent: &Path) -> Child {
    Command::new("setsid")
        .arg("--wait")
        .arg(repo_root().join("target/debug/keybearer"))
        .args([
            "session",
            "start",
            "--vault",
            "Dev",
            "--agent",
            "custom",
            "--no-sandbox",
            "--direct",
            "--",
        ])
        .arg(agent)
        .env("KEYBEARER_HOME", data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("session start")
}

fn finish(child: Child) -> (i32, String) {
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn wait_dialog_gone(window: &Window) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !window.all("approval-dialog").await.is_empty() {
        assert!(Instant::now() < deadline, "the approval dialog stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An agent that writes its MCP config (with the token) where the test looks.
fn reporting_agent(dir: &Path) -> (PathBuf, PathBuf) {
    let report = dir.join("config-seen");
    let agent = dir.join("agent.sh");
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\ncat \"$KEYBEARER_MCP_CONFIG\" > '{}'\n",
            report.display()
        ),
    )
    .expect("agent");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (agent, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_approves_or_denies_direct_mode_asked_by_the_command_line() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let work = tempfile::tempdir().expect("work dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;
    let secret = unique_token("approval");
    cli(
        data.path(),
        &["vault", "create", "Dev", "--env", "development"],
        "",
    );
    cli(
        data.path(),
        &[
            "credential",
            "add",
            "--vault",
            "Dev",
            "--url",
            "https://mcp.example.com/mcp",
        ],
        &format!("{secret}\n"),
    );
    let (agent, report) = reporting_agent(work.path());

    // Deny: the command is refused and the agent never runs.
    let asking = ask_for_direct(data.path(), &agent);
    let shown = window
        .wait_text("approval-dialog", |text| text.contains("Approve"))
        .await;
    assert!(shown.contains(&agent.display().to_string()), "{shown}");
    assert!(
        shown.contains("Dev") && shown.contains("development"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("process {}", asking.id())) && shown.contains("session start"),
        "the asker is named: {shown}"
    );
    window.screenshot("approval-dialog").await;
    window.click("approval-deny").await;
    let (code, stderr) = finish(asking);
    assert_eq!(code, 12, "{stderr}");
    assert!(
        stderr.contains("declined in the Keybearer window"),
        "{stderr}"
    );
    assert!(!report.exists(), "the agent did not run");
    wait_dialog_gone(&window).await;

    // A command that gives up: its question goes away by itself.
    let mut asking = ask_for_direct(data.path(), &agent);
    window.el("approval-dialog").await;
    // (`setsid` runs the CLI in its own process: it is not a group leader.)
    asking.kill().expect("kill");
    let _ = asking.wait();
    wait_dialog_gone(&window).await;
    assert!(!report.exists());

    // Approve: the agent runs with the token in its configuration.
    let asking = ask_for_direct(data.path(), &agent);
    window.el("approval-dialog").await;
    window.click("approval-approve").await;
    let (code, stderr) = finish(asking);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("approved in the Keybearer window"),
        "{stderr}"
    );
    let config = std::fs::read_to_string(&report).expect("the agent ran");
    assert!(config.contains(&secret));
    wait_dialog_gone(&window).await;

    assert!(!window.page_source().await.contains(&secret));
    assert!(!window.ipc_answers().contains(&secret));
    window.quit().await;
}
