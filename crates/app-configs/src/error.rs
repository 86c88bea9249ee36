//! Every failure this crate reports. Flow: an editor or reader finds a problem
//! and returns one of these; the front end shows `to_string()` to the user and
//! branches on `code()`.
//!
//! Messages are for people who are not engineers: they name the app and the
//! file, say what went wrong and what to do, and never quote the file's
//! contents (a settings file can hold other servers' tokens). Limits: the
//! position of a syntax error is the parser's best guess, reported 1-based.

use std::fmt;

use crate::apps::App;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a syntax error is, 1-based, as an editor shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not valid JSON/JSONC/TOML/YAML. Nothing was written.
    #[error("{app}'s settings file ({file}) could not be read: {}{}. Fix or remove that line, then try again. Keybearer has not changed the file.", at_prefix(.at), shown(.problem))]
    ConfigUnreadable {
        app: &'static str,
        file: String,
        at: Option<Position>,
        problem: String,
    },

    /// The file is bigger, deeper or (YAML) more self-repeating than any
    /// settings file needs to be (see `limits.rs`), so it is not parsed at
    /// all: such a file could exhaust memory or the stack. Nothing was written.
    #[error("{app}'s settings file ({file}) is too large or too complicated for Keybearer to read safely: {}. Settings files are normally small and simple; check what wrote this to the file, shorten or fix it, then try again. Keybearer has not changed the file.", shown(.reason))]
    ConfigTooLarge {
        app: &'static str,
        file: String,
        reason: String,
    },

    /// The file parses, but the part that holds the servers is not a table of
    /// servers (or the whole file is not one).
    #[error("{app}'s settings file ({file}) does not have the expected shape: {} is not a set of named entries, so Keybearer cannot add to it safely. Check that part of the file, then try again. Keybearer has not changed the file.", describe_key(.key))]
    NotAnObject {
        app: &'static str,
        file: String,
        key: String,
    },

    /// Another server already uses the name and it is not Keybearer's.
    #[error("{app} already has a server named \"{}\" in {file}, and it was not added by Keybearer. Pick another name, or remove or import that server first. Keybearer has not changed the file.", shown(.name))]
    NameTaken {
        app: &'static str,
        file: String,
        name: String,
    },

    /// The name is used by Keybearer's bridge for a different connection.
    #[error("{app} already has a server named \"{}\" in {file} that belongs to another Keybearer connection. Pick another name, or disconnect that connection first. Keybearer has not changed the file.", shown(.name))]
    NameTakenByConnection {
        app: &'static str,
        file: String,
        name: String,
    },

    /// Replace (import) was asked for a server the file does not have.
    #[error("{app}'s settings file ({file}) has no server named \"{}\" any more. It may have been removed or renamed; refresh and try again. Keybearer has not changed the file.", shown(.name))]
    EntryNotFound {
        app: &'static str,
        file: String,
        name: String,
    },

    /// The file is valid but laid out in a way this version cannot edit
    /// without risking the rest of it (e.g. YAML flow style).
    #[error("{app}'s settings file ({file}) is written in a way Keybearer cannot edit safely: {}. You can add the server by hand instead, or rewrite that part in the usual style. Keybearer has not changed the file.", shown(.reason))]
    Unsupported {
        app: &'static str,
        file: String,
        reason: String,
    },

    /// The entry Keybearer was asked to write is itself malformed (a bug in
    /// the caller rather than in the user's file).
    #[error("Keybearer could not prepare the entry \"{}\" for {app}: {reason}.", shown(.name))]
    InvalidEntry {
        app: &'static str,
        name: String,
        reason: String,
    },

    /// A check after editing found that the result would not read back as
    /// intended. Nothing was written.
    #[error("Keybearer could not change {app}'s settings file ({file}) safely: its own check of the result failed. The file has not been changed. Please report this, with the layout of the \"{key}\" part of the file if you can.")]
    EditCheckFailed {
        app: &'static str,
        file: String,
        key: String,
    },

    /// A name that matters is written twice (see `json_names.rs`): the app
    /// uses the last one, and an edit would keep the other. Nothing was written.
    #[error("{app}'s settings file ({file}) {}; {app} uses only the last one. Remove the one you do not want (or merge the two), then try again. Keybearer has not changed the file.", shown(.what))]
    DuplicateName {
        app: &'static str,
        file: String,
        what: String,
    },

    /// The settings file is a link to a file (or into a folder) another
    /// user owns: writing through it would change that user's file.
    #[error("The file {file} is a link to {target}, which belongs to another user. Keybearer does not write through such a link: replace it with a file of your own, then try again. Keybearer has not changed the file.")]
    LinkToAnotherUser { file: String, target: String },

    /// Reading or writing the file failed.
    #[error("The file {file} could not be {action}: {source}. Check that the folder exists and that you may write to it. Keybearer has not changed the file.")]
    Io {
        file: String,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
}

use crate::text::shown;

fn describe_key(key: &str) -> String {
    if key.is_empty() {
        "the file as a whole".to_string()
    } else {
        format!("\"{}\"", shown(key))
    }
}

fn at_prefix(at: &Option<Position>) -> String {
    match at {
        Some(p) => format!("{p}: "),
        None => String::new(),
    }
}

impl Error {
    /// Stable machine-readable code for programs (CLI exit codes, the UI).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConfigUnreadable { .. } => "config_unreadable",
            Self::ConfigTooLarge { .. } => "config_too_large",
            Self::NotAnObject { .. } => "not_an_object",
            Self::NameTaken { .. } => "name_taken",
            Self::NameTakenByConnection { .. } => "name_taken_by_connection",
            Self::EntryNotFound { .. } => "entry_not_found",
            Self::Unsupported { .. } => "unsupported_layout",
            Self::InvalidEntry { .. } => "invalid_entry",
            Self::EditCheckFailed { .. } => "edit_check_failed",
            Self::DuplicateName { .. } => "duplicate_name",
            Self::LinkToAnotherUser { .. } => "link_to_another_user",
            Self::Io { .. } => "io",
        }
    }

    pub(crate) fn unreadable(
        ctx: &Ctx<'_>,
        at: Option<Position>,
        problem: impl Into<String>,
    ) -> Self {
        Self::ConfigUnreadable {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            at,
            problem: problem.into(),
        }
    }

    pub(crate) fn too_large(ctx: &Ctx<'_>, reason: impl Into<String>) -> Self {
        Self::ConfigTooLarge {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_an_object(ctx: &Ctx<'_>, key: impl Into<String>) -> Self {
        Self::NotAnObject {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            key: key.into(),
        }
    }

    pub(crate) fn unsupported(ctx: &Ctx<'_>, reason: impl Into<String>) -> Self {
        Self::Unsupported {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn name_taken(ctx: &Ctx<'_>, name: &str, by_connection: bool) -> Self {
        let (app, file, name) = (ctx.app.display_name(), ctx.file.to_string(), name.into());
        if by_connection {
            Self::NameTakenByConnection { app, file, name }
        } else {
            Self::NameTaken { app, file, name }
        }
    }

    pub(crate) fn entry_not_found(ctx: &Ctx<'_>, name: &str) -> Self {
        Self::EntryNotFound {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            name: name.into(),
        }
    }

    pub(crate) fn duplicate_name(ctx: &Ctx<'_>, what: String) -> Self {
        Self::DuplicateName {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            what,
        }
    }

    pub(crate) fn check_failed(ctx: &Ctx<'_>) -> Self {
        Self::EditCheckFailed {
            app: ctx.app.display_name(),
            file: ctx.file.to_string(),
            key: ctx.app.servers_key().to_string(),
        }
    }
}

/// What an editor needs to word its errors: which app, which file (as shown
/// to the user, e.g. `~/.cursor/mcp.json`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub app: App,
    pub file: &'a str,
}
