//! A person's approval before `session start --direct` hands real tokens to
//! an agent: the real binary and Secret Service, the command's controlling
//! terminal made by the test (a pseudo-terminal it types into), and the
//! running app's side of the approval socket (the core's listener, which the
//! desktop app runs; the window's dialog is covered by the e2e tests).
//! Each refusal is checked beside the same run approved, so a check that
//! could not fail would show.

#![cfg(unix)]

mod support;

use std::path::Path;

use keybearer_session::ApprovalListener;
use support::session::{read, token, Home};
use support::BIN;

/// A data folder with one credential in Dev and an agent that reports what
/// it got; returns the token and the agent's report folder.
fn setup(h: &Home) -> (String, String, std::path::PathBuf) {
    let secret = token("presence");
    h.vault("Dev", "development");
    h.add(
        "Dev",
        "https://mcp.example.com/mcp",
        "streamable_http",
        &secret,
    );
    let (agent, out) = h.reporting_agent("agent.sh", 0);
    (secret, agent, out)
}

/// `session start` of `agent` on the vault Dev, unsandboxed; `direct`
/// hands the agent the token (the mode that asks for presence).
fn session_start(h: &Home, direct: bool, agent: &str) -> std::process::Command {
    let mode: &[&str] = if direct { &["--direct"] } else { &[] };
    let mut args = vec![
        "session",
        "start",
        "--vault",
        "Dev",
        "--agent",
        "custom",
        "--no-sandbox",
    ];
    args.extend_from_slice(mode);
    args.extend(["--", agent]);
    h.command(&args)
}

fn direct(h: &Home, agent: &str) -> std::process::Command {
    session_start(h, true, agent)
}

/// Runs `script` as the agent of a proxy-mode session (unsandboxed, so it
/// reaches the data folder) on a terminal that would type the code if
/// asked; nothing the script runs may be asked.
fn run_as_session_agent(h: &Home, script: &str) {
    let outer = session_start(h, false, script);
    let run = h.run_approving(outer, "CODE").code(0);
    assert!(
        !run.stderr.contains("to allow it"),
        "never asked: {}",
        run.stderr
    );
}

fn started(out: &Path) -> bool {
    out.join("argv").exists()
}

#[test]
fn direct_mode_waits_for_a_yes_typed_on_the_terminal() {
    let h = Home::new();
    let (secret, agent, out) = setup(&h);

    // No terminal and no app: refused, nothing started.
    let run = h.run_detached(direct(&h, &agent));
    run.fails_with(
        12,
        "there is no terminal to ask in and the Keybearer window is not open",
    );
    assert!(!started(&out));

    // Anything but yes: refused.
    let run = h.run_approving(direct(&h, &agent), "y");
    let shown = run.stderr.clone();
    assert!(shown.contains("Direct mode gives"), "{shown}");
    assert!(
        shown.contains("the real tokens of Dev (development)"),
        "{shown}"
    );
    assert!(shown.contains(&agent), "the program is named: {shown}");
    run.fails_with(12, "Not approved");
    assert!(!started(&out));

    // "yes" is not the code: refused.
    h.run_approving(direct(&h, &agent), "yes")
        .fails_with(12, "Not approved");
    assert!(!started(&out));

    // The code shown: the agent runs with the token.
    let run = h.run_approving(direct(&h, &agent), "CODE");
    run.code(0);
    assert!(started(&out));
    assert!(read(&out.join("config")).contains(&secret));
    h.assert_nowhere(&secret);
}

#[test]
fn inside_a_session_direct_mode_is_refused_even_when_a_terminal_would_say_yes() {
    let h = Home::new();
    let (secret, agent, out) = setup(&h);

    // The session's id in the environment.
    let mut command = direct(&h, &agent);
    command.env("KEYBEARER_SESSION_ID", "sesn_test");
    let run = h
        .run_approving(command, "CODE")
        .fails_with(12, "runs inside a Keybearer session");
    assert!(
        !run.stderr.contains("to allow it"),
        "never asked: {}",
        run.stderr
    );
    assert!(!started(&out));

    // An agent that removed the variable and runs the command itself: the
    // process tree tells. The outer session (proxy mode, unsandboxed so it
    // can reach the data folder) runs on a terminal that answers yes.
    let data = h.path("data");
    let nested = h.script(
        "nested.sh",
        &format!(
            "unset KEYBEARER_SESSION_ID\n'{BIN}' --data-dir '{}' session start --vault Dev --agent custom --no-sandbox --direct -- '{agent}'\necho \"nested exit $?\" > '{}'",
            data.display(),
            h.path("nested.out").display()
        ),
    );
    run_as_session_agent(&h, &nested);
    assert_eq!(read(&h.path("nested.out")).trim(), "nested exit 12");
    assert!(!started(&out));

    // An agent that also left the process tree (a double fork) and the
    // process group, but kept the terminal: the terminal session tells.
    let escaped_out = h.path("escaped.out");
    let escaping = h.script(
        "escaping.sh",
        &format!(
            "unset KEYBEARER_SESSION_ID
( ( python3 -c 'import os, sys; os.setpgid(0, 0); os.execv(sys.argv[1], sys.argv[1:])' '{BIN}' --data-dir '{}' session start --vault Dev --agent custom --no-sandbox --direct -- '{agent}'; echo \"escaped exit $?\" > '{out}' ) & )
n=0; while [ ! -s '{out}' ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done",
            data.display(),
            out = escaped_out.display()
        ),
    );
    run_as_session_agent(&h, &escaping);
    assert_eq!(read(&escaped_out).trim(), "escaped exit 12");
    assert!(!started(&out));

    // The control: the same nested command outside any session is asked.
    let run = h.run_approving(direct(&h, &agent), "CODE").code(0);
    assert!(run.stderr.contains("to allow it"));
    assert!(started(&out));
    h.assert_nowhere(&secret);
}

#[test]
fn with_the_app_running_its_answer_decides() {
    let h = Home::new();
    let (secret, agent, out) = setup(&h);
    let data = h.path("data");
    let app = ApprovalListener::bind(&data).expect("the app's approval socket");

    for approve in [false, true] {
        let run = std::thread::scope(|scope| {
            let window = scope.spawn(|| {
                let asked = app.next().expect("asked");
                assert_eq!(asked.request.program, agent);
                assert_eq!(asked.request.vaults, ["Dev"]);
                assert_eq!(asked.request.environment, "development");
                assert!(asked.command.contains("session start"), "{}", asked.command);
                assert!(!asked.command.contains(&secret));
                asked.answer(approve);
            });
            // No terminal: only the app can answer.
            let run = h.run_detached(direct(&h, &agent));
            window.join().expect("the app's side");
            run
        });
        if approve {
            let run = run.code(0);
            assert!(run.stderr.contains("approved in the Keybearer window"));
            assert!(started(&out));
        } else {
            run.fails_with(12, "declined in the Keybearer window");
            assert!(!started(&out));
        }
    }
    h.assert_nowhere(&secret);
}

/// An agent that talks to the app's approval socket itself (reachable
/// without the sandbox), not through the command line, is not asked: the
/// app drops its request unanswered. The same request from outside any
/// session, right after, is handed to the window.
#[test]
fn the_app_never_asks_for_an_agent_that_talks_to_its_socket_itself() {
    let h = Home::new();
    let (secret, _agent, _out) = setup(&h);
    let data = h.path("data");
    let app = ApprovalListener::bind(&data).expect("the app's approval socket");
    let answer = h.path("agent-answer");
    let asker = h.script(
        "asker.sh",
        &format!(
            "unset KEYBEARER_SESSION_ID
python3 - '{socket}' '{answer}' <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(json.dumps({{'program': 'evil', 'vaults': ['Dev'], 'environment': 'development'}}).encode() + b'\\n')
    s.settimeout(20)
    got = s.recv(1024)
except (BrokenPipeError, ConnectionResetError):
    got = b''
open(sys.argv[2], 'w').write(got.decode() or 'closed')
PY",
            socket = data.join("approval.sock").display(),
            answer = answer.display(),
        ),
    );
    let window = std::thread::spawn(move || {
        let asked = app.next().expect("asked");
        let pid = asked.pid;
        let program = asked.request.program.clone();
        asked.answer(true);
        (pid, program)
    });
    let outer = session_start(&h, false, &asker);
    let run = h.run_approving(outer, "CODE");
    // The control: a request from this test process, outside any session
    // (it also ends the window's wait when the agent's was dropped).
    let request = keybearer_session::ApprovalRequest {
        program: "outside".into(),
        vaults: vec!["Dev".into()],
        environment: "development".into(),
    };
    let approved =
        keybearer_session::ask_app(&data, &request, std::time::Duration::from_secs(20), || {})
            .expect("asked");
    let (pid, program) = window.join().expect("the app's side");
    run.code(0);
    assert_eq!(
        std::fs::read_to_string(&answer).unwrap_or_default(),
        "closed",
        "the agent was not answered"
    );
    assert_eq!(
        program, "outside",
        "the agent's request was never handed out"
    );
    assert_eq!(pid, std::process::id());
    assert_eq!(approved, Some(true));
    h.assert_nowhere(&secret);
}

/// A request whose asker is gone by the time the app reads it (it sent it
/// and exited while the window showed another question) is not asked:
/// nothing tells any more whether it ran inside a session, and nobody waits
/// for the answer.
#[test]
fn a_request_whose_asker_is_gone_is_not_asked() {
    let h = Home::new();
    let (secret, _agent, _out) = setup(&h);
    let data = h.path("data");
    let app = ApprovalListener::bind(&data).expect("the app's approval socket");
    let sent = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, socket, sys\n\
s = socket.socket(socket.AF_UNIX)\n\
s.connect(sys.argv[1])\n\
s.sendall(json.dumps({'program': 'gone', 'vaults': ['Dev'], 'environment': 'development'}).encode() + b'\\n')\n",
        ])
        .arg(data.join("approval.sock"))
        .status()
        .expect("python3");
    assert!(sent.success());
    // Its request waits in the socket's queue; it has exited and been reaped.
    let window = std::thread::spawn(move || {
        let asked = app.next().expect("asked");
        let program = asked.request.program.clone();
        asked.answer(true);
        program
    });
    let request = keybearer_session::ApprovalRequest {
        program: "outside".into(),
        vaults: vec!["Dev".into()],
        environment: "development".into(),
    };
    let approved =
        keybearer_session::ask_app(&data, &request, std::time::Duration::from_secs(20), || {})
            .expect("asked");
    assert_eq!(approved, Some(true));
    assert_eq!(window.join().expect("the app's side"), "outside");
    h.assert_nowhere(&secret);
}
