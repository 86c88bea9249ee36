//! Which apps are installed, and where their settings file is. Flow: for
//! each app, compute its folder and candidate files (`locations.rs`), look at
//! the disk, and search `PATH` for its program.
//!
//! An app counts as installed when its settings file or folder exists, or its
//! program is on PATH. Limits: only looks, never runs anything; an app
//! installed but never started may have neither folder nor program on PATH
//! (Claude Desktop on a fresh machine) and is then reported as not installed.

use std::path::{Path, PathBuf};

use crate::apps::App;
use crate::locations::{config_dir, config_paths, default_config_path, ConfigFile, Locations, Os};

/// What was found for one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub app: App,
    /// The file to read and edit: the existing candidate, else where a new
    /// one would go.
    pub config: ConfigFile,
    /// Whether that file exists now.
    pub config_exists: bool,
    /// The app's settings folder and whether it exists.
    pub config_dir: PathBuf,
    pub config_dir_exists: bool,
    /// The app's program, if found on PATH.
    pub binary: Option<PathBuf>,
}

impl Detection {
    pub fn installed(&self) -> bool {
        self.config_exists || self.config_dir_exists || self.binary.is_some()
    }
}

/// Looks at the disk for one app.
pub fn detect(app: App, os: Os, locs: &Locations) -> Detection {
    let candidates = config_paths(app, os, locs);
    let existing = candidates.iter().find(|p| p.is_file()).cloned();
    let config_exists = existing.is_some();
    let path = existing.unwrap_or_else(|| default_config_path(app, os, locs));
    let dir = config_dir(app, os, locs);
    Detection {
        app,
        config: ConfigFile {
            app,
            display: locs.display_path(&path),
            path,
        },
        config_exists,
        config_dir_exists: dir.is_dir(),
        config_dir: dir,
        binary: find_binary(app, os, &locs.path_dirs),
    }
}

/// Looks at the disk for every app.
pub fn detect_all(os: Os, locs: &Locations) -> Vec<Detection> {
    App::ALL.iter().map(|&app| detect(app, os, locs)).collect()
}

fn find_binary(app: App, os: Os, dirs: &[PathBuf]) -> Option<PathBuf> {
    let suffixes: &[&str] = match os {
        Os::Windows => &[".exe", ".cmd", ".bat", ""],
        _ => &[""],
    };
    app.binaries().iter().find_map(|name| {
        dirs.iter().find_map(|dir| {
            suffixes.iter().find_map(|suffix| {
                let candidate = dir.join(format!("{name}{suffix}"));
                is_program(&candidate).then_some(candidate)
            })
        })
    })
}

#[cfg(unix)]
fn is_program(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_program(path: &Path) -> bool {
    path.is_file()
}
