//! A CLI session's terminal: the agent runs on a pseudo-terminal of its own
//! and this module relays it to and from the user's terminal, as `ssh` or
//! `script` do.
//!
//! Why not hand the agent this terminal: any program on a terminal can push
//! keystrokes into its input (`ioctl(TIOCSTI)`, still allowed by many
//! kernels), and once the agent exits the user's shell reads and runs them,
//! outside any sandbox. On its own pseudo-terminal the agent can only type
//! to itself (docs/architecture.md, "Sessions").
//!
//! Flow: the user's terminal goes to raw mode, so every key (Ctrl-C, Ctrl-\\
//! and Ctrl-Z included) reaches the agent's terminal, whose line discipline
//! turns them into signals for the agent; one thread copies input (waiting
//! with `poll` on the input and a wake-up pipe, so nothing typed after the
//! session is taken from the shell), one copies output, and a window-size
//! change (SIGWINCH) resizes the agent's terminal. [`Relay::finish`] drains
//! the agent's last output and puts the user's terminal back as it was.
//!
//! A terminal answers some queries by typing into its input (a device
//! report, the cursor position; some terminals echo back a window title the
//! program set, which is how a hostile program makes them type a command).
//! An agent can write such a query and exit at once: the answer arrives
//! after it ended and, once the relay stopped reading, would go to the
//! user's shell. So when the agent's output held an escape sequence (or
//! ENQ, which asks for an answerback), [`Relay::finish`] keeps reading input
//! (the answer goes to the agent's terminal, where nothing reads it) until
//! [`ANSWER_WAIT`] after that output was written, and the terminal is
//! restored with `TCSAFLUSH`, which throws away input still pending.
//!
//! Limits: Ctrl-Z stops the agent, not Keybearer (as over `ssh`). An answer
//! slower than [`ANSWER_WAIT`] (a terminal at the end of a slow link) still
//! reaches the shell. What the person types in that moment after the agent
//! ended goes to the agent's terminal, as during the drain.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use keybearer_session::SessionPty;
use keybearer_vault::Error;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, SetArg, Termios};

/// How long the last output may take to arrive once the agent ended.
const DRAIN: Duration = Duration::from_secs(2);

/// How long after the agent's last escape sequence a terminal's answer is
/// still taken from the input (see the module header).
const ANSWER_WAIT: Duration = Duration::from_millis(200);

/// The size of the terminal on standard input (rows, columns), if it is one.
pub fn terminal_size() -> Option<(u16, u16)> {
    let size = rustix::termios::tcgetwinsize(std::io::stdin()).ok()?;
    (size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

/// A running relay. Dropping it without [`Relay::finish`] still puts the
/// terminal back.
pub struct Relay {
    saved: Option<Termios>,
    wake: Option<OwnedFd>,
    input: Option<JoinHandle<()>>,
    output_done: mpsc::Receiver<()>,
    /// When output holding an escape sequence (or ENQ) was last written.
    asked: Arc<Mutex<Option<Instant>>>,
    resize: Option<signal_hook::iterator::Handle>,
}

impl Relay {
    /// Puts the user's terminal in raw mode and starts relaying.
    pub fn start(pty: &SessionPty) -> Result<Self, Error> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).map_err(io)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw).map_err(io)?;
        let (output_done, done) = mpsc::channel();
        // From here on, dropping `relay` restores the terminal.
        let mut relay = Self {
            saved: Some(saved),
            wake: None,
            input: None,
            output_done: done,
            asked: Arc::default(),
            resize: None,
        };
        let mut reader = pty.reader()?;
        let asked = Arc::clone(&relay.asked);
        std::thread::Builder::new()
            .name("session-output".into())
            .spawn(move || {
                copy_output(&mut reader, &asked);
                let _ = output_done.send(());
            })?;

        let (wake_read, wake_write) = nix::unistd::pipe().map_err(io)?;
        relay.wake = Some(wake_write);
        let mut writer = pty.take_writer()?;
        relay.input = Some(
            std::thread::Builder::new()
                .name("session-input".into())
                .spawn(move || copy_input(&wake_read, &mut writer))?,
        );

        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGWINCH])?;
        relay.resize = Some(signals.handle());
        let pty = pty.clone();
        std::thread::Builder::new()
            .name("session-resize".into())
            .spawn(move || {
                for _ in signals.forever() {
                    if let Some((rows, cols)) = terminal_size() {
                        let _ = pty.resize(rows, cols);
                    }
                }
            })?;
        Ok(relay)
    }

    /// Once the agent ended: waits (briefly) for its last output and for
    /// the terminal's answers to it, stops reading input, and restores the
    /// terminal.
    pub fn finish(mut self) {
        let _ = self.output_done.recv_timeout(DRAIN);
        let asked = self.asked.lock().ok().and_then(|asked| *asked);
        if let Some(asked) = asked {
            std::thread::sleep(ANSWER_WAIT.saturating_sub(asked.elapsed()));
        }
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(handle) = self.resize.take() {
            handle.close();
        }
        // Closing the pipe's writing end wakes the input thread's poll.
        drop(self.wake.take());
        if let Some(input) = self.input.take() {
            let _ = input.join();
        }
        if let Some(saved) = self.saved.take() {
            // TCSAFLUSH: input nobody read (a late answer) is thrown away.
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSAFLUSH, &saved);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

fn io(errno: nix::errno::Errno) -> Error {
    Error::Io(std::io::Error::from(errno))
}

fn copy_output(reader: &mut dyn Read, asked: &Mutex<Option<Instant>>) {
    let mut stdout = std::io::stdout();
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stdout
                    .write_all(&buf[..n])
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return;
                }
                // ESC starts every query; ENQ asks for an answerback.
                if buf[..n].iter().any(|&b| b == 0x1b || b == 0x05) {
                    if let Ok(mut asked) = asked.lock() {
                        *asked = Some(Instant::now());
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            // Linux answers EIO once nothing holds the agent's terminal.
            Err(_) => return,
        }
    }
}

/// Copies standard input to the agent until `wake` closes. Reads only what
/// `poll` says is there, so it never holds a read that outlives the session.
fn copy_input(wake: &OwnedFd, writer: &mut dyn Write) {
    let stdin = std::io::stdin();
    let input: BorrowedFd<'_> = stdin.as_fd();
    let mut buf = [0u8; 4096];
    loop {
        let mut fds = [
            PollFd::new(input, PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        if fds[1].any().unwrap_or(true) {
            return;
        }
        let ready = fds[0].revents().unwrap_or(PollFlags::empty());
        if ready.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            return;
        }
        if !ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            continue;
        }
        match nix::unistd::read(input.as_raw_fd(), &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if writer
                    .write_all(&buf[..n])
                    .and_then(|()| writer.flush())
                    .is_err()
                {
                    return;
                }
            }
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(_) => return,
        }
    }
}
