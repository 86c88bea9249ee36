//! `keybearer session …` and the agent's processes: a session in another
//! terminal stopped with its whole process group, and a real pseudo-terminal
//! to check that an interactive agent gets the keyboard and Ctrl-C but
//! cannot type into the user's shell.

#![cfg(unix)]

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Instant;

use support::session::{read, token, wait_for, Home, DEADLINE};
use support::BIN;

#[test]
fn a_session_in_another_terminal_is_stopped_with_its_whole_process_group() {
    let h = Home::new();
    // Direct mode, approved as a person at the app's dialog would.
    h.approve_direct_sessions();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("stop"),
    );
    let pids = h.path("pids");
    let agent = h.script(
        "stubborn.sh",
        &format!(
            "trap '' TERM\nsleep 1000 &\nprintf '%s %s %s\\n' \"$$\" \"$!\" \"$KEYBEARER_MCP_CONFIG\" > {}\nwait",
            pids.display()
        ),
    );
    let mut background = h
        .command(&[
            // The agent reports its own pid: outside a sandbox's PID namespace.
            "session",
            "start",
            "--vault",
            "Work",
            "--agent",
            "custom",
            "--direct",
            "--no-sandbox",
            "--",
            &agent,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("session start");
    wait_for("the agent to start", || {
        read_opt(&pids).is_some_and(|text| text.ends_with('\n'))
    });
    let line = read(&pids);
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (agent_pid, child_pid) = (fields[0].to_string(), fields[1].to_string());
    let config = PathBuf::from(fields[2]);
    assert!(config.exists());

    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["state"], "running");
    assert_eq!(listed[0]["pid"].to_string(), agent_pid);
    let id = listed[0]["id"].as_str().expect("id").to_string();
    let stopped = h
        .run(&["--json", "session", "stop", &id, "--grace", "1"], "")
        .code(0)
        .json();
    assert_eq!(stopped["state"], "stopped");
    let status = background.wait().expect("session start ends");
    // The agent ignored SIGTERM and was killed: 128 + SIGKILL.
    assert_eq!(status.code(), Some(137));
    let pgid = agent_pid.parse::<i32>().expect("pid");
    wait_for("the process group to be gone", || {
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None)
            == Err(nix::errno::Errno::ESRCH)
    });
    let child = child_pid.parse::<i32>().expect("pid");
    wait_for("the agent's child to be gone", || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), None)
            == Err(nix::errno::Errno::ESRCH)
    });
    assert!(!config.exists() && !config.parent().expect("dir").exists());
    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["state"], "stopped");
    assert_eq!(listed[0]["signal"], 9);
    let run = h.run(&["session", "stop", &id], "").code(3);
    assert!(run.stderr.contains("is not running"), "{}", run.stderr);
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn an_interactive_agent_owns_the_terminal_keyboard_and_ctrl_c() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("tty"),
    );
    // Reads a line from the terminal (it would be stopped by SIGTTIN if it
    // were not the foreground), then waits for Ctrl-C, which only reaches it
    // if the terminal's foreground group is the agent's.
    let agent = h.script(
        "interactive.sh",
        "trap 'echo got-ctrl-c; exit 4' INT\nprintf 'name? '\nread name\necho \"hello $name\"\necho ready-for-ctrl-c\nwhile :; do sleep 1; done",
    );
    let mut terminal = TestTerminal::spawn(
        &h,
        BIN,
        &[
            "--data-dir",
            &h.path("data").to_string_lossy(),
            "session",
            "start",
            "--vault",
            "Work",
            "--agent",
            "custom",
            "--direct",
            "--",
            &agent,
        ],
    );
    // Direct mode asks the person at the terminal first: they type the code.
    let shown = terminal.expect(" to allow it");
    let code = support::session::shown_code(&shown).expect("a code to type");
    terminal.type_text(&format!("{code}\r"));
    terminal.expect("name? ");
    terminal.type_text("vault\r");
    terminal.expect("hello vault");
    terminal.expect("ready-for-ctrl-c");
    terminal.type_text("\x03");
    terminal.expect("got-ctrl-c");
    terminal.expect("exited (4)");
    let status = terminal.child.wait().expect("keybearer ends");
    assert_eq!(status.exit_code(), 4);
}

/// The TIOCSTI escape: an agent pushes a line into its terminal's input and
/// exits. Had it shared the user's terminal, the user's shell (here `sh`,
/// reading the next line after `keybearer` ends) would read and run that
/// line outside the sandbox. The agent has a terminal of its own, so the
/// shell reads only what the person types next. Skipped where the kernel
/// refuses `TIOCSTI` to programs without `CAP_SYS_ADMIN`
/// (`dev.tty.legacy_tiocsti = 0`): there the agent's push fails, so the test
/// could not show anything, and the attack is impossible anyway.
#[test]
#[allow(clippy::print_stderr)] // says why it is skipped
fn an_agent_cannot_type_into_the_users_shell() {
    if std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti")
        .is_ok_and(|value| value.trim() == "0")
    {
        eprintln!(
            "skipped: this kernel refuses TIOCSTI (dev.tty.legacy_tiocsti = 0), so an agent cannot push keystrokes into a terminal"
        );
        return;
    }
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("tiocsti"),
    );
    let agent = h.script(
        "inject.sh",
        r#"python3 -c '
import fcntl, termios
for fd in (0,):
    for byte in b"injected-by-agent\n":
        fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))
print("pushed", flush=True)
'"#,
    );
    let shell = format!(
        "'{BIN}' --data-dir '{}' session start --vault Work --agent custom -- '{agent}'; read line; echo \"shell-read:[$line]\"",
        h.path("data").display()
    );
    for sandbox in [true, false] {
        let command = if sandbox {
            shell.clone()
        } else {
            shell.replace("--agent custom", "--agent custom --no-sandbox")
        };
        let mut terminal = TestTerminal::spawn(&h, "sh", &["-c", &command]);
        terminal.expect("pushed");
        terminal.expect("exited (0)");
        terminal.type_text("typed-by-person\r");
        terminal.expect("shell-read:[");
        let read = terminal.expect("]");
        assert_eq!(
            read, "typed-by-person]",
            "sandbox {sandbox}: the shell read what the agent pushed into the terminal"
        );
        let _ = terminal.child.wait();
    }
}

/// A terminal answers some queries by typing the answer into its input (a
/// device report here; some terminals echo back a window title the program
/// set, which is how a hostile program makes them type a command). An agent
/// writes such a query and exits at once, so the answer arrives once it
/// has ended: the relay keeps taking input for a moment after the agent's
/// last output and throws away what is still pending when it gives the
/// terminal back, so the user's shell reads only what the person types.
#[test]
fn a_terminals_answer_to_the_agents_last_query_does_not_reach_the_shell() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("answer"),
    );
    let agent = h.script("query.sh", "printf 'asking\\033[c'\nexit 0");
    let shell = format!(
        "'{BIN}' --data-dir '{}' session start --vault Work --agent custom --no-sandbox -- '{agent}'; read line; echo \"shell-read:[$line]\"",
        h.path("data").display()
    );
    let mut terminal = TestTerminal::spawn(&h, "sh", &["-c", &shell]);
    terminal.expect("asking\x1b[c");
    // The terminal's answer, as a slow terminal (or one over ssh) sends it.
    std::thread::sleep(ANSWER_DELAY);
    terminal.type_text("\x1b[?62;22c");
    terminal.expect("exited (0)");
    terminal.type_text("typed-by-person\r");
    terminal.expect("shell-read:[");
    let read = terminal.expect("]");
    assert_eq!(
        read, "typed-by-person]",
        "the shell read the terminal's answer to the agent's query"
    );
    let _ = terminal.child.wait();
}

/// How long after the query the test's terminal answers.
const ANSWER_DELAY: std::time::Duration = std::time::Duration::from_millis(30);

/// The agent's terminal follows the user's: its size at the start, and a
/// new size after the user's window changed (relayed on SIGWINCH).
#[test]
fn the_agents_terminal_takes_the_size_of_the_users() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("size"),
    );
    let agent = h.script(
        "size.sh",
        "echo \"size:$(stty size)\"\nwhile read line; do [ \"$line\" = end ] && exit 0; echo \"size:$(stty size)\"; done",
    );
    let data = h.path("data").to_string_lossy().into_owned();
    let mut terminal = TestTerminal::spawn(
        &h,
        BIN,
        &[
            "--data-dir",
            &data,
            "session",
            "start",
            "--vault",
            "Work",
            "--agent",
            "custom",
            "--",
            &agent,
        ],
    );
    terminal.expect("size:");
    assert_eq!(terminal.expect("\n").trim(), "24 100");
    terminal
        .master
        .resize(portable_pty::PtySize {
            rows: 40,
            cols: 132,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("resize");
    // The relay resizes on the signal, a moment later: ask until it shows.
    let deadline = Instant::now() + DEADLINE;
    loop {
        terminal.type_text("again\r");
        terminal.expect("size:");
        let size = terminal.expect("\n");
        if size.trim() == "40 132" {
            break;
        }
        assert!(Instant::now() < deadline, "the size stayed {size:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    terminal.type_text("end\r");
    terminal.expect("exited (0)");
    let _ = terminal.child.wait();
}

/// An agent that prints and ends at once (before the CLI starts relaying
/// its terminal, often): what it printed is shown and the session ends
/// normally, never "the terminal is closed". Repeated, since the order of
/// the two is up to the scheduler.
#[test]
fn an_agent_that_ends_at_once_is_shown_in_full() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("fast"),
    );
    let data = h.path("data").to_string_lossy().into_owned();
    for round in 0..8 {
        let mut terminal = TestTerminal::spawn(
            &h,
            BIN,
            &[
                "--data-dir",
                &data,
                "session",
                "start",
                "--vault",
                "Work",
                "--agent",
                "custom",
                "--",
                "/bin/echo",
                "said-before-ending",
            ],
        );
        terminal.expect("said-before-ending");
        let rest = terminal.expect("exited (0)");
        assert!(!rest.contains("closed"), "round {round}: {rest}");
        let status = terminal.child.wait().expect("wait");
        assert!(status.success(), "round {round}: {status:?}");
    }
}

/// A command on a pseudo-terminal of its own (its controlling terminal),
/// with what it shows collected and keys typed into it.
struct TestTerminal {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    shown: mpsc::Receiver<Vec<u8>>,
    seen: String,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl TestTerminal {
    fn spawn(h: &Home, program: &str, args: &[&str]) -> Self {
        let pair = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize {
                rows: 24,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut command = portable_pty::CommandBuilder::new(program);
        command.args(args);
        command.cwd(h.dir.path());
        let child = pair.slave.spawn_command(command).expect("spawn in pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let (tx, shown) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            writer,
            shown,
            seen: String::new(),
            master: pair.master,
        }
    }

    /// Waits until `needle` is shown; returns what was shown up to and
    /// including it, and forgets that part.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(at) = self.seen.find(needle) {
                let upto: String = self.seen.drain(..at + needle.len()).collect();
                return upto;
            }
            match self
                .shown
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => panic!("{needle:?} never appeared; terminal showed {:?}", self.seen),
            }
        }
    }

    fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
    }
}
