//! Printing results: aligned tables for people, JSON for scripts.
//!
//! Everything for stdout goes through [`outln!`]: when the reader has gone
//! (`keybearer events | head -1`) the command ends quietly with status 0,
//! as `ls | head` does, instead of panicking; any other write failure (a
//! full disk) is said on stderr and ends it with status 1.

use std::io::Write;

/// `println!` that never panics on a closed or failing stdout (see the module header).
macro_rules! outln {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

use keybearer_vault::{Error, Timestamp};
use serde::Serialize;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|error| Error::Io(std::io::Error::other(error)))?;
        outln!("{text}");
        Ok(())
    }

    /// Prints `value` as JSON in `--json` mode, otherwise runs `human`.
    pub fn either<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(),
    ) -> Result<(), Error> {
        if self.json {
            self.json(value)
        } else {
            human();
            Ok(())
        }
    }
}

pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        outln!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub fn when(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "never".to_string(), |at| at.to_rfc3339())
}

pub fn write_line(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        tracing::warn!(%error, "cannot write to standard output");
        eprintln!("error: the output could not be written: {error}");
        std::process::exit(1);
    }
}
