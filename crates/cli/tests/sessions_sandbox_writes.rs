//! What a sandboxed agent may change (Linux, bubblewrap): an agent tricked
//! into planting code that runs later *outside* the sandbox tries the usual
//! places — your shell's start-up file, a connected app's MCP settings (its
//! bridge entry, or a server of its own), a repository's git hooks, another
//! folder of your home, Keybearer's own program — and is refused; its
//! working folder, its own settings folder (`~/.claude` for Claude Code) and
//! a private `/tmp` work. The same agent without the sandbox (the control)
//! changes all of them, which proves each probe works.

#![cfg(target_os = "linux")]

mod support;

use std::path::{Path, PathBuf};

use support::session::{read, token, Home};
use support::BIN;

/// A throwaway home folder with the files an attacker would go for. It is
/// made outside `/tmp` (under the build's temporary folder), as a real home
/// is: the sandbox's private `/tmp` would hide it whole.
struct Planted {
    _root: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
    /// A copy of `keybearer` in the project, run as the CLI: Keybearer's
    /// program inside a folder the agent may change.
    program: PathBuf,
    /// A terminal of the user's, open while the agent runs.
    terminal: Option<PathBuf>,
    _pty: portable_pty::PtyPair,
}

impl Planted {
    fn new() -> Self {
        let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("root");
        let home = root.path().join("home");
        let project = home.join("project");
        for folder in [
            home.join(".claude"),
            home.join(".cursor"),
            home.join("Documents"),
            project.join(".git/hooks"),
        ] {
            std::fs::create_dir_all(folder).expect("folder");
        }
        std::fs::write(home.join(".bashrc"), "# yours\n").expect("bashrc");
        std::fs::write(home.join(".cursor/mcp.json"), "{\"mcpServers\":{}}\n").expect("cursor");
        std::fs::write(project.join(".git/config"), "[core]\n").expect("git config");
        std::fs::create_dir_all(project.join("tools")).expect("tools");
        let program = project.join("tools/keybearer");
        std::fs::copy(BIN, &program).expect("copy keybearer");
        let pty = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize::default())
            .expect("pty");
        let terminal = pty.master.tty_name();
        Self {
            _root: root,
            home,
            project,
            program,
            terminal,
            _pty: pty,
        }
    }

    /// Each probe's target, and whether it is one the agent may change.
    fn targets(&self) -> Vec<(String, PathBuf, bool)> {
        vec![
            ("bashrc".into(), self.home.join(".bashrc"), false),
            (
                "app-settings".into(),
                self.home.join(".cursor/mcp.json"),
                false,
            ),
            (
                "git-hook".into(),
                self.project.join(".git/hooks/pre-commit"),
                false,
            ),
            (
                "other-folder".into(),
                self.home.join("Documents/by-agent"),
                false,
            ),
            // Missing before the session: Keybearer makes a placeholder to
            // cover (its hooks would run in Claude Code outside the sandbox).
            (
                "agent-settings".into(),
                self.home.join(".claude/settings.json"),
                false,
            ),
            ("working-folder".into(), self.project.join("by-agent"), true),
            (
                "own-settings".into(),
                self.home.join(".claude/by-agent"),
                true,
            ),
            (
                "tmp".into(),
                PathBuf::from("/tmp/keybearer-test-by-agent"),
                true,
            ),
        ]
    }
}

/// Runs a fake `claude` (Claude Code's preset) whose every probe appends to
/// a target and reports `NAME: written` or `NAME: refused`; the binary is
/// only opened for appending, never changed. Returns the report.
fn probe(h: &Home, planted: &Planted, work: &Path, sandbox: bool, label: &str) -> String {
    let report = h.path(&format!("report-{label}"));
    std::fs::create_dir_all(&report).expect("report folder");
    // The shell's messages go to the report too ("cannot create PATH:
    // Read-only file system"), so the sandbox's refusal is told from others.
    let mut body = String::new();
    for (name, target, _) in planted.targets() {
        body.push_str(&format!(
            "if echo planted >> '{}'; then echo '{name}: written'; else echo '{name}: refused'; fi\n",
            target.display(),
        ));
    }
    // Moving the repository's settings aside to make new ones with hooks
    // (its protected files are mount points, but the folder above them
    // must not be renamed either).
    body.push_str(&format!(
        "if mv '{git}' '{git}.aside'; then echo 'git-aside: written'; mv '{git}.aside' '{git}'; else echo 'git-aside: refused'; fi\n",
        git = planted.project.join(".git").display(),
    ));
    // Another terminal of the user's (one the test holds open).
    if let Some(terminal) = &planted.terminal {
        body.push_str(&format!(
            "if echo planted > '{}'; then echo 'terminal: written'; else echo 'terminal: refused'; fi\n",
            terminal.display()
        ));
    }
    // Replacing Keybearer's running program (writing it is refused by the
    // kernel anyway: "Text file busy").
    body.push_str(&format!(
        "if cp '{program}' '{program}.new' && mv -f '{program}.new' '{program}'; then echo 'binary: written'; else echo 'binary: refused'; fi\nrm -f '{program}.new'\n",
        program = planted.program.display(),
    ));
    let script = h.script(
        &format!("bin-{label}/claude"),
        &format!("{{\n{body}}} > '{}/found' 2>&1", report.display()),
    );
    let bin = Path::new(&script).parent().expect("bin").to_path_buf();
    let path = support::session::path_with(&bin);
    let work_arg = work.to_string_lossy().into_owned();
    let report_arg = report.to_string_lossy().into_owned();
    let mut args = vec![
        "session",
        "start",
        "--vault",
        "Work",
        "--agent",
        "claude",
        "--dir",
        &work_arg,
        "--allow-write",
        &report_arg,
    ];
    if !sandbox {
        args.push("--no-sandbox");
    }
    let mut command = std::process::Command::new(&planted.program);
    command
        .arg("--data-dir")
        .arg(h.path("data"))
        .args(&args)
        .current_dir(h.dir.path())
        .env("HOME", &planted.home)
        .env("PATH", path);
    let run = h.run_with(command, "").code(0);
    if sandbox {
        assert!(
            run.stderr
                .contains(&format!("it may change only {}", work.display())),
            "the CLI says what the agent may change: {}",
            run.stderr
        );
    }
    read(&report.join("found"))
}

#[test]
fn a_sandboxed_agent_cannot_plant_code_that_runs_outside_it() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("writes"),
    );

    // Control: without the sandbox every probe lands.
    let open = Planted::new();
    let found = probe(&h, &open, &open.project, false, "open");
    for (name, _, _) in open.targets() {
        assert!(
            found.contains(&format!("{name}: written")),
            "control: {found}"
        );
    }
    assert!(found.contains("binary: written"), "control: {found}");
    assert!(found.contains("git-aside: written"), "control: {found}");
    assert!(
        open.terminal.is_none() || found.contains("terminal: written"),
        "control: {found}"
    );
    let _ = std::fs::remove_file("/tmp/keybearer-test-by-agent");

    // Sandboxed, working in a project folder, and working in the home
    // folder itself (the window's default): the home's other folders, and
    // the hooks of a repository below it, are then the agent's to change
    // (only the working folder's own `.git` is covered); the start-up file
    // and the apps' settings never are.
    for (label, at_home) in [("project", false), ("home", true)] {
        let planted = Planted::new();
        let work = if at_home {
            planted.home.clone()
        } else {
            planted.project.clone()
        };
        let found = probe(&h, &planted, &work, true, label);
        for (name, target, allowed) in planted.targets() {
            let allowed = allowed || (at_home && (name == "other-folder" || name == "git-hook"));
            let expected = if allowed {
                format!("{name}: written")
            } else {
                format!("{name}: refused")
            };
            let read_only = format!("{}: Read-only file system", target.display());
            assert!(
                found.lines().any(|line| line == expected)
                    && (allowed || found.contains(&read_only)),
                "{label}: {name} should be {expected} by the sandbox: {found}"
            );
            if !allowed && target.exists() {
                assert!(
                    !read(&target).contains("planted"),
                    "{label}: {} was changed",
                    target.display()
                );
            }
        }
        // In the home folder, the project's `.git` is not the working
        // folder's own (see above); in the project it cannot be moved.
        let git_aside = if at_home { "written" } else { "refused" };
        assert!(
            found.contains(&format!("git-aside: {git_aside}")),
            "{label}: {found}"
        );
        assert!(
            planted.terminal.is_none() || found.contains("terminal: refused"),
            "{label}: the agent reached another terminal: {found}"
        );
        // Its program is a mount point in the sandbox: it cannot be replaced.
        assert!(
            found.contains("binary: refused") && found.contains("Device or resource busy"),
            "{label}: {found}"
        );
        // The private /tmp went with the sandbox.
        assert!(
            !Path::new("/tmp/keybearer-test-by-agent").exists(),
            "{label}: the agent's /tmp is its own"
        );
    }
}

/// A start-up file that is a link (dotfile managers make them) inside a
/// folder the agent may change cannot be covered: the link itself could be
/// replaced. The session is refused, saying which file and what to do.
#[test]
fn a_linked_start_up_file_in_a_writable_folder_is_refused() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("linked"),
    );
    let planted = Planted::new();
    let dotfiles = planted.home.join("dotfiles");
    std::fs::create_dir_all(&dotfiles).expect("dotfiles");
    std::fs::rename(planted.home.join(".bashrc"), dotfiles.join("bashrc")).expect("move");
    std::os::unix::fs::symlink(dotfiles.join("bashrc"), planted.home.join(".bashrc"))
        .expect("link");
    let agent = h.script("touch.sh", "touch ran-by-agent");
    let home_arg = planted.home.to_string_lossy().into_owned();
    let mut command = h.command(&[
        "session", "start", "--vault", "Work", "--agent", "custom", "--dir", &home_arg, "--",
        &agent,
    ]);
    command.env("HOME", &planted.home);
    let run = h.run_with(command, "");
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(".bashrc is a link"),
        "the refusal names the file: {}",
        run.stderr
    );
    assert!(!planted.home.join("ran-by-agent").exists());
    // Working in the project folder, the home folder is not the agent's to
    // change: the link is read-only like everything there.
    let project_arg = planted.project.to_string_lossy().into_owned();
    let mut command = h.command(&[
        "session",
        "start",
        "--vault",
        "Work",
        "--agent",
        "custom",
        "--dir",
        &project_arg,
        "--",
        &agent,
    ]);
    command.env("HOME", &planted.home);
    h.run_with(command, "").code(0);
    assert!(planted.project.join("ran-by-agent").exists());
}
