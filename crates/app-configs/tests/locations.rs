//! Per-app, per-OS settings paths (pure), and detection against a fake home.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use app_configs::{config_file, config_paths, App, Locations, Os};

fn p(base: &str, parts: &[&str]) -> PathBuf {
    parts
        .iter()
        .fold(PathBuf::from(base), |acc, part| acc.join(part))
}

fn path(app: App, os: Os, locs: &Locations) -> PathBuf {
    config_file(app, os, locs).path
}

#[test]
fn linux_defaults() {
    let l = Locations::with_home("/home/ada");
    let h = "/home/ada";
    let cases = [
        (
            App::ClaudeDesktop,
            p(h, &[".config", "Claude", "claude_desktop_config.json"]),
        ),
        (App::ClaudeCode, p(h, &[".claude.json"])),
        (App::Cursor, p(h, &[".cursor", "mcp.json"])),
        (App::VsCode, p(h, &[".config", "Code", "User", "mcp.json"])),
        (
            App::Windsurf,
            p(h, &[".codeium", "windsurf", "mcp_config.json"]),
        ),
        (App::Zed, p(h, &[".config", "zed", "settings.json"])),
        (App::GeminiCli, p(h, &[".gemini", "settings.json"])),
        (App::Codex, p(h, &[".codex", "config.toml"])),
        (App::Goose, p(h, &[".config", "goose", "config.yaml"])),
        (
            App::OpenCode,
            p(h, &[".config", "opencode", "opencode.json"]),
        ),
        (App::CopilotCli, p(h, &[".copilot", "mcp-config.json"])),
    ];
    assert_eq!(cases.len(), App::ALL.len());
    for (app, expected) in cases {
        assert_eq!(path(app, Os::Linux, &l), expected, "{app}");
    }
}

#[test]
fn linux_with_overrides() {
    let mut l = Locations::with_home("/home/ada");
    l.xdg_config_home = Some("/xdg".into());
    l.codex_home = Some("/srv/codex".into());
    l.claude_config_dir = Some("/cfg/claude".into());
    l.gemini_cli_home = Some("/g".into());
    l.copilot_home = Some("/cp".into());
    let cases = [
        (
            App::ClaudeDesktop,
            p("/xdg", &["Claude", "claude_desktop_config.json"]),
        ),
        (App::ClaudeCode, p("/cfg/claude", &[".claude.json"])),
        (App::Cursor, p("/home/ada", &[".cursor", "mcp.json"])),
        (App::VsCode, p("/xdg", &["Code", "User", "mcp.json"])),
        (
            App::Windsurf,
            p("/home/ada", &[".codeium", "windsurf", "mcp_config.json"]),
        ),
        (App::Zed, p("/xdg", &["zed", "settings.json"])),
        (App::GeminiCli, p("/g", &[".gemini", "settings.json"])),
        (App::Codex, p("/srv/codex", &["config.toml"])),
        (App::Goose, p("/xdg", &["goose", "config.yaml"])),
        (App::OpenCode, p("/xdg", &["opencode", "opencode.json"])),
        (App::CopilotCli, p("/cp", &["mcp-config.json"])),
    ];
    for (app, expected) in cases {
        assert_eq!(path(app, Os::Linux, &l), expected, "{app}");
    }
}

#[test]
fn relative_or_empty_overrides_are_ignored() {
    let mut l = Locations::with_home("/home/ada");
    l.xdg_config_home = Some("relative/xdg".into());
    l.codex_home = Some("".into());
    assert_eq!(
        path(App::Zed, Os::Linux, &l),
        p("/home/ada", &[".config", "zed", "settings.json"])
    );
    assert_eq!(
        path(App::Codex, Os::Linux, &l),
        p("/home/ada", &[".codex", "config.toml"])
    );
}

#[test]
fn macos() {
    let mut l = Locations::with_home("/Users/ada");
    let h = "/Users/ada";
    let support = p(h, &["Library", "Application Support"]);
    let cases = [
        (
            App::ClaudeDesktop,
            support.join("Claude").join("claude_desktop_config.json"),
        ),
        (App::ClaudeCode, p(h, &[".claude.json"])),
        (App::Cursor, p(h, &[".cursor", "mcp.json"])),
        (
            App::VsCode,
            support.join("Code").join("User").join("mcp.json"),
        ),
        (
            App::Windsurf,
            p(h, &[".codeium", "windsurf", "mcp_config.json"]),
        ),
        (App::Zed, p(h, &[".config", "zed", "settings.json"])),
        (App::GeminiCli, p(h, &[".gemini", "settings.json"])),
        (App::Codex, p(h, &[".codex", "config.toml"])),
        (App::Goose, p(h, &[".config", "goose", "config.yaml"])),
        (
            App::OpenCode,
            p(h, &[".config", "opencode", "opencode.json"]),
        ),
        (App::CopilotCli, p(h, &[".copilot", "mcp-config.json"])),
    ];
    for (app, expected) in &cases {
        assert_eq!(&path(*app, Os::MacOs, &l), expected, "{app}");
    }
    // XDG_CONFIG_HOME: goose and opencode follow it on macOS; Zed, VS Code
    // and Claude Desktop do not.
    l.xdg_config_home = Some("/xdg".into());
    assert_eq!(
        path(App::Goose, Os::MacOs, &l),
        p("/xdg", &["goose", "config.yaml"])
    );
    assert_eq!(
        path(App::OpenCode, Os::MacOs, &l),
        p("/xdg", &["opencode", "opencode.json"])
    );
    assert_eq!(path(App::Zed, Os::MacOs, &l), cases[5].1);
    assert_eq!(path(App::VsCode, Os::MacOs, &l), cases[3].1);
    assert_eq!(path(App::ClaudeDesktop, Os::MacOs, &l), cases[0].1);
}

#[test]
fn windows() {
    let home = r"C:\Users\ada";
    let appdata = r"C:\Users\ada\AppData\Roaming";
    let mut l = Locations::with_home(home);
    l.appdata = Some(appdata.into());
    let cases = [
        (
            App::ClaudeDesktop,
            p(appdata, &["Claude", "claude_desktop_config.json"]),
        ),
        (App::ClaudeCode, p(home, &[".claude.json"])),
        (App::Cursor, p(home, &[".cursor", "mcp.json"])),
        (App::VsCode, p(appdata, &["Code", "User", "mcp.json"])),
        (
            App::Windsurf,
            p(home, &[".codeium", "windsurf", "mcp_config.json"]),
        ),
        (App::Zed, p(appdata, &["Zed", "settings.json"])),
        (App::GeminiCli, p(home, &[".gemini", "settings.json"])),
        (App::Codex, p(home, &[".codex", "config.toml"])),
        (
            App::Goose,
            p(appdata, &["Block", "goose", "config", "config.yaml"]),
        ),
        (
            App::OpenCode,
            p(home, &[".config", "opencode", "opencode.json"]),
        ),
        (App::CopilotCli, p(home, &[".copilot", "mcp-config.json"])),
    ];
    for (app, expected) in &cases {
        assert_eq!(&path(*app, Os::Windows, &l), expected, "{app}");
    }
    // %APPDATA% unset: the default roaming folder under the profile.
    l.appdata = None;
    assert_eq!(
        path(App::Zed, Os::Windows, &l),
        p(home, &["AppData", "Roaming", "Zed", "settings.json"])
    );
    // A moved roaming folder, and Windows-style absolute overrides.
    l.appdata = Some(r"D:\Roaming".into());
    l.codex_home = Some(r"D:\codex".into());
    assert_eq!(
        path(App::VsCode, Os::Windows, &l),
        p(r"D:\Roaming", &["Code", "User", "mcp.json"])
    );
    assert_eq!(
        path(App::Codex, Os::Windows, &l),
        p(r"D:\codex", &["config.toml"])
    );
}

#[test]
fn opencode_prefers_an_existing_jsonc() {
    let l = Locations::with_home("/home/ada");
    let paths = config_paths(App::OpenCode, Os::Linux, &l);
    assert_eq!(paths[0].file_name().unwrap(), "opencode.jsonc");
    assert_eq!(paths[1].file_name().unwrap(), "opencode.json");
}

#[test]
fn display_path_uses_a_tilde() {
    let l = Locations::with_home("/home/ada");
    let f = config_file(App::Cursor, Os::Linux, &l);
    assert_eq!(
        f.display,
        format!(
            "~{}{}",
            std::path::MAIN_SEPARATOR,
            Path::new(".cursor").join("mcp.json").display()
        )
    );
    assert_eq!(l.display_path(Path::new("/etc/x")), "/etc/x");
}

#[cfg(unix)]
#[test]
fn detection_against_a_fake_home() {
    use app_configs::{config_dir, detect, detect_all};
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(home.join(".cursor")).unwrap();
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    std::fs::write(home.join(".codex").join("config.toml"), "").unwrap();
    std::fs::create_dir_all(home.join(".config").join("opencode")).unwrap();
    std::fs::write(
        home.join(".config").join("opencode").join("opencode.jsonc"),
        "{}",
    )
    .unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let gemini = bin.join("gemini");
    std::fs::write(&gemini, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&gemini, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Not executable: does not count.
    std::fs::write(bin.join("goose"), "").unwrap();

    let mut l = Locations::with_home(&home);
    l.path_dirs = vec![bin.clone()];

    let cursor = detect(App::Cursor, Os::Linux, &l);
    assert!(cursor.installed() && cursor.config_dir_exists && !cursor.config_exists);
    assert_eq!(cursor.config.path, home.join(".cursor").join("mcp.json"));

    let codex = detect(App::Codex, Os::Linux, &l);
    assert!(codex.installed() && codex.config_exists);
    assert_eq!(codex.config_dir, config_dir(App::Codex, Os::Linux, &l));

    let opencode = detect(App::OpenCode, Os::Linux, &l);
    assert!(opencode.config_exists);
    assert_eq!(opencode.config.path.file_name().unwrap(), "opencode.jsonc");

    let gemini_found = detect(App::GeminiCli, Os::Linux, &l);
    assert!(gemini_found.installed() && !gemini_found.config_dir_exists);
    assert_eq!(gemini_found.binary.as_deref(), Some(gemini.as_path()));

    assert!(!detect(App::Goose, Os::Linux, &l).installed());
    assert!(!detect(App::ClaudeDesktop, Os::Linux, &l).installed());
    let installed: Vec<App> = detect_all(Os::Linux, &l)
        .into_iter()
        .filter(|d| d.installed())
        .map(|d| d.app)
        .collect();
    assert_eq!(
        installed,
        [App::Cursor, App::GeminiCli, App::Codex, App::OpenCode]
    );
}

#[test]
fn ids_round_trip() {
    for app in App::ALL {
        assert_eq!(app.id().parse::<App>().unwrap(), app);
    }
    let err = "vim".parse::<App>().unwrap_err();
    assert!(err
        .to_string()
        .contains("\"vim\" is not an app Keybearer knows"));
    let ids: Vec<&str> = App::ALL.iter().map(|a| a.id()).collect();
    assert_eq!(
        ids,
        [
            "claude-desktop",
            "claude-code",
            "cursor",
            "vscode",
            "windsurf",
            "zed",
            "gemini-cli",
            "codex",
            "goose",
            "opencode",
            "copilot-cli"
        ]
    );
}
