//! A person's approval before `session start --direct` hands real tokens to
//! an agent (docs/architecture.md, "User presence"): the running desktop
//! app's approval dialog, else (Unix) a code shown and typed on the
//! controlling terminal; on Windows only the window asks.
//! Refused inside a Keybearer session and where there is no terminal, since
//! there a program could answer in the person's place.

#[cfg(unix)]
use std::fs::OpenOptions;
#[cfg(unix)]
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

#[cfg(unix)]
use keybearer_session::{approval_code, printable};
use keybearer_session::{ask_app, refused_inside_session, ApprovalRequest, Approver};
use keybearer_vault::Error;

/// How long the command waits for an answer in the window.
const WINDOW_WAIT: Duration = Duration::from_secs(300);

pub struct CliApprover {
    pub data_dir: PathBuf,
    /// This command runs inside a Keybearer session (checked before launch).
    pub inside_session: bool,
}

impl Approver for CliApprover {
    fn approve(&self, request: &ApprovalRequest) -> Result<(), Error> {
        if self.inside_session {
            return Err(refused_inside_session());
        }
        let asked = || {
            eprintln!(
                "keybearer: direct mode gives the agent the real tokens: approve it in the Keybearer window (waiting up to {} minutes)…",
                WINDOW_WAIT.as_secs() / 60
            );
        };
        match ask_app(&self.data_dir, request, WINDOW_WAIT, asked)? {
            Some(true) => {
                eprintln!("keybearer: approved in the Keybearer window.");
                Ok(())
            }
            Some(false) => Err(Error::NotApproved(
                "Direct mode was declined in the Keybearer window, so the agent was not started and got no token.".into(),
            )),
            None => ask_terminal(request),
        }
    }
}

/// Windows: only the window asks (no controlling terminal to ask in
/// outside the agent's reach yet).
#[cfg(windows)]
fn ask_terminal(_request: &ApprovalRequest) -> Result<(), Error> {
    Err(Error::NotApproved(
        "Direct mode gives the agent the real tokens, so it needs your approval, and on Windows only the Keybearer window can ask for it. Open the Keybearer app (it will ask you there) and run the command again.".into(),
    ))
}

/// Asks on the controlling terminal (not standard input, which a script or
/// an agent may feed); discards anything typed before the question.
#[cfg(unix)]
fn ask_terminal(request: &ApprovalRequest) -> Result<(), Error> {
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| {
            Error::NotApproved(
                "Direct mode gives the agent the real tokens, so it needs your approval, but there is no terminal to ask in and the Keybearer window is not open. Open the Keybearer app (it will ask you there), or run this command in a terminal.".into(),
            )
        })?;
    let code = approval_code()?;
    let _ = nix::sys::termios::tcflush(&tty, nix::sys::termios::FlushArg::TCIFLUSH);
    write!(
        tty,
        "\nDirect mode gives {} the real tokens of {} ({}). It can read them, keep them and send them anywhere.\nType {code} to allow it, anything else to cancel: ",
        printable(&request.program),
        printable(&request.vaults.join(", ")),
        printable(&request.environment)
    )?;
    tty.flush()?;
    let mut answer = String::new();
    BufReader::new((&tty).take(256)).read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case(&code) {
        Ok(())
    } else {
        Err(Error::NotApproved(
            "Not approved, so the agent was not started and got no token.".into(),
        ))
    }
}
