//! Where each app keeps its user-level MCP settings, as a pure function of
//! (app, OS, the folders the environment points to), so every OS is testable
//! on any OS. `Locations::from_env` fills the folders for the running OS.
//!
//! Flow: `Locations` (home + overrides) → `config_paths(app, os, locs)` →
//! candidate files, preferred first; `config_file` wraps the first with the
//! `~`-shortened name that error messages show. Limits: XDG_CONFIG_HOME is
//! honoured only where the app honours it and only when absolute; per-profile
//! files (VS Code profiles), Flatpak/Snap sandboxes and portable installs are
//! not covered.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::apps::App;

/// The operating system whose conventions to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    /// The OS this program was built for (other Unixes count as Linux).
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// The folders the apps derive their settings paths from. Empty or relative
/// overrides are ignored, as the apps ignore them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    /// The user's home folder (`$HOME`, `%USERPROFILE%`).
    pub home: PathBuf,
    /// `%APPDATA%` (Windows roaming app data); defaults to `home\AppData\Roaming`.
    pub appdata: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`; defaults to `home/.config`.
    pub xdg_config_home: Option<PathBuf>,
    /// `$CODEX_HOME`; replaces `~/.codex`.
    pub codex_home: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR`; Claude Code then keeps `.claude.json` there.
    pub claude_config_dir: Option<PathBuf>,
    /// `$GEMINI_CLI_HOME`; replaces the home folder for Gemini CLI.
    pub gemini_cli_home: Option<PathBuf>,
    /// `$COPILOT_HOME`; replaces `~/.copilot`.
    pub copilot_home: Option<PathBuf>,
    /// The folders of `$PATH`, for finding apps' programs.
    pub path_dirs: Vec<PathBuf>,
}

impl Locations {
    /// Locations with only a home folder (tests, and a base to add overrides to).
    pub fn with_home(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            ..Self::default()
        }
    }

    /// Reads the running process's environment. Returns `None` when no home
    /// folder can be found.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var_os(name).and_then(usable);
        let home = if cfg!(windows) {
            var("USERPROFILE").or_else(|| var("HOME"))
        } else {
            var("HOME")
        }?;
        Some(Self {
            home,
            appdata: var("APPDATA"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            codex_home: var("CODEX_HOME"),
            claude_config_dir: var("CLAUDE_CONFIG_DIR"),
            gemini_cli_home: var("GEMINI_CLI_HOME"),
            copilot_home: var("COPILOT_HOME"),
            path_dirs: std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
        })
    }

    fn appdata(&self) -> PathBuf {
        absolute(&self.appdata).unwrap_or_else(|| self.home.join("AppData").join("Roaming"))
    }

    /// `$XDG_CONFIG_HOME` if absolute, else `~/.config`.
    fn xdg_config(&self) -> PathBuf {
        absolute(&self.xdg_config_home).unwrap_or_else(|| self.home.join(".config"))
    }

    fn mac_app_support(&self) -> PathBuf {
        self.home.join("Library").join("Application Support")
    }

    /// Shortens a path under the home folder to `~/…` for messages.
    pub fn display_path(&self, path: &Path) -> String {
        match path.strip_prefix(&self.home) {
            Ok(rest) if !self.home.as_os_str().is_empty() => {
                let sep = std::path::MAIN_SEPARATOR;
                if rest.as_os_str().is_empty() {
                    "~".to_string()
                } else {
                    format!("~{sep}{}", rest.display())
                }
            }
            _ => path.display().to_string(),
        }
    }
}

fn usable(value: OsString) -> Option<PathBuf> {
    if value.is_empty() {
        None
    } else {
        Some(PathBuf::from(value))
    }
}

/// Overrides count only when set and absolute (the XDG rule; the apps that
/// read `CODEX_HOME` and friends resolve relative ones against a working
/// directory we cannot know).
fn absolute(value: &Option<PathBuf>) -> Option<PathBuf> {
    value
        .as_ref()
        .filter(|p| p.has_root() || looks_absolute_windows(p))
        .cloned()
}

/// `C:\…` or `\\server\…` counts as absolute even when tests run on Unix.
fn looks_absolute_windows(p: &Path) -> bool {
    let s = p.to_string_lossy();
    let b = s.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || s.starts_with("\\\\")
}

/// The app's settings folder (the one whose existence means "installed").
pub fn config_dir(app: App, os: Os, locs: &Locations) -> PathBuf {
    let home = &locs.home;
    match app {
        App::ClaudeDesktop => match os {
            // Community Linux builds are Electron apps: appData = XDG config.
            Os::Linux => locs.xdg_config().join("Claude"),
            Os::MacOs => locs.mac_app_support().join("Claude"),
            Os::Windows => locs.appdata().join("Claude"),
        },
        App::ClaudeCode => {
            absolute(&locs.claude_config_dir).unwrap_or_else(|| home.join(".claude"))
        }
        App::Cursor => home.join(".cursor"),
        App::VsCode => match os {
            Os::Linux => locs.xdg_config().join("Code").join("User"),
            Os::MacOs => locs.mac_app_support().join("Code").join("User"),
            Os::Windows => locs.appdata().join("Code").join("User"),
        },
        App::Windsurf => home.join(".codeium").join("windsurf"),
        // zed `paths::config_dir`: XDG on Linux, ~/.config on macOS, RoamingAppData\Zed.
        App::Zed => match os {
            Os::Linux => locs.xdg_config().join("zed"),
            Os::MacOs => home.join(".config").join("zed"),
            Os::Windows => locs.appdata().join("Zed"),
        },
        App::GeminiCli => absolute(&locs.gemini_cli_home)
            .unwrap_or_else(|| home.clone())
            .join(".gemini"),
        App::Codex => absolute(&locs.codex_home).unwrap_or_else(|| home.join(".codex")),
        // goose uses etcetera's app strategy: XDG everywhere but Windows.
        App::Goose => match os {
            Os::Linux | Os::MacOs => locs.xdg_config().join("goose"),
            Os::Windows => locs.appdata().join("Block").join("goose").join("config"),
        },
        // opencode uses xdg-basedir on every OS, Windows included.
        App::OpenCode => locs.xdg_config().join("opencode"),
        App::CopilotCli => absolute(&locs.copilot_home).unwrap_or_else(|| home.join(".copilot")),
    }
}

/// Candidate settings files, preferred first. All apps but opencode have
/// one; opencode reads `opencode.jsonc` after `opencode.json`, so an existing
/// `.jsonc` is the one to edit.
pub fn config_paths(app: App, os: Os, locs: &Locations) -> Vec<PathBuf> {
    let dir = config_dir(app, os, locs);
    match app {
        App::ClaudeDesktop => vec![dir.join("claude_desktop_config.json")],
        // Without CLAUDE_CONFIG_DIR the file sits beside ~/.claude, not in it.
        App::ClaudeCode => match absolute(&locs.claude_config_dir) {
            Some(custom) => vec![custom.join(".claude.json")],
            None => vec![locs.home.join(".claude.json")],
        },
        App::Cursor | App::VsCode => vec![dir.join("mcp.json")],
        App::Windsurf => vec![dir.join("mcp_config.json")],
        App::Zed | App::GeminiCli => vec![dir.join("settings.json")],
        App::Codex => vec![dir.join("config.toml")],
        App::Goose => vec![dir.join("config.yaml")],
        App::OpenCode => vec![dir.join("opencode.jsonc"), dir.join("opencode.json")],
        App::CopilotCli => vec![dir.join("mcp-config.json")],
    }
}

/// The file to create when none exists yet.
pub fn default_config_path(app: App, os: Os, locs: &Locations) -> PathBuf {
    let mut paths = config_paths(app, os, locs);
    match app {
        App::OpenCode => paths.pop(),
        _ => paths.into_iter().next(),
    }
    .unwrap_or_default()
}

/// A settings file to read or edit: which app, where, and how to name it to
/// the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub app: App,
    pub path: PathBuf,
    /// The path as messages show it (`~/.cursor/mcp.json`).
    pub display: String,
}

impl ConfigFile {
    /// A file at an explicit path (tests, or a path the user picked).
    pub fn new(app: App, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let display = path.display().to_string();
        Self { app, path, display }
    }

    pub(crate) fn ctx(&self) -> crate::error::Ctx<'_> {
        crate::error::Ctx {
            app: self.app,
            file: &self.display,
        }
    }
}

/// The app's settings file for `os`, without looking at the disk (for
/// opencode: `opencode.json`; see [`config_paths`]).
pub fn config_file(app: App, os: Os, locs: &Locations) -> ConfigFile {
    let path = default_config_path(app, os, locs);
    ConfigFile {
        app,
        display: locs.display_path(&path),
        path,
    }
}
