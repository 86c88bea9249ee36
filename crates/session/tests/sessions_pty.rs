//! Sessions in a real pseudo-terminal: output, input, resize and stop.
//! These only need SQLite.

#![cfg(unix)]

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keybearer_session::{SessionManager, SessionState, Terminal};
mod support;

use support::world::{group_gone, wait_for, World, DEADLINE};

fn pty_reader(mut reader: Box<dyn Read + Send>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

fn read_until(rx: &mpsc::Receiver<Vec<u8>>, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + DEADLINE;
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Err(_) => panic!("{needle:?} never came through the PTY; got {seen:?}"),
        }
    }
}

#[test]
fn pty_sessions_carry_output_input_and_resize() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(
        &manager,
        "sh",
        &[
            "-c",
            "printf hello; read line; stty size; printf 'got:%s\\n' \"$line\"; [ -t 0 ] && echo is-a-tty",
        ],
        Terminal::Pty { rows: 24, cols: 80 },
    );
    let pty = started.pty.expect("a PTY session has a terminal");
    assert!(manager.pty(&started.session.id).is_some());
    let rx = pty_reader(pty.reader().expect("reader"));
    let mut seen = String::new();
    read_until(&rx, &mut seen, "hello");
    pty.resize(40, 100).expect("resize");
    let mut writer = pty.take_writer().expect("writer");
    writer.write_all(b"typed-input\n").expect("write");
    writer.flush().expect("flush");
    read_until(&rx, &mut seen, "got:typed-input");
    assert!(seen.contains("40 100"), "{seen:?}");
    read_until(&rx, &mut seen, "is-a-tty");
    let ended = manager.wait(&started.session.id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 0 });
    assert!(
        pty.resize(10, 10).is_err(),
        "the terminal closes with the session"
    );
}

#[test]
fn pty_sessions_stop_too() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let started = w.start_plain(
        &manager,
        "sh",
        &["-c", "trap '' TERM HUP; echo ready; sleep 1000"],
        Terminal::Pty { rows: 24, cols: 80 },
    );
    let pty = started.pty.expect("pty");
    let rx = pty_reader(pty.reader().expect("reader"));
    let mut seen = String::new();
    read_until(&rx, &mut seen, "ready");
    let pgid = started.session.pid.expect("pid");
    let ended = manager.stop(&started.session.id).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
}

/// Whoever shows a session may come late: the agent printed, ended and its
/// terminal was closed before anyone asked for it. The output and the
/// keyboard are still handed out (the output in full), not "closed".
#[test]
fn a_session_that_ended_before_anyone_looked_still_shows_its_output() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(
        &manager,
        "sh",
        &["-c", "echo printed-then-gone"],
        Terminal::Pty { rows: 24, cols: 80 },
    );
    let ended = manager.wait(&started.session.id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 0 });
    let pty = started.pty.expect("pty");
    assert!(pty.resize(10, 10).is_err(), "the terminal was closed");
    let rx = pty_reader(pty.reader().expect("the output, after the end"));
    let mut seen = String::new();
    read_until(&rx, &mut seen, "printed-then-gone");
    assert!(pty.take_writer().is_ok(), "the keyboard, after the end");
    assert!(pty.take_writer().is_err(), "the keyboard is taken once");
}
