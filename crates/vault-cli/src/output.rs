//! Printing results: aligned tables for people, JSON for scripts.

use serde::Serialize;
use vault_core::{Error, Timestamp};

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|error| Error::Io(std::io::Error::other(error)))?;
        println!("{text}");
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
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub fn when(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "never".to_string(), |at| at.to_rfc3339())
}
