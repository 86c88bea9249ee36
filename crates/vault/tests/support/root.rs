//! For tests that act as other users of this computer (through `setpriv`),
//! which needs root. Outside CI such a test is skipped with a message;
//! where the `CI` environment variable is set (CI runs as root), it must
//! run, so a missing root or tool fails it instead of passing silently.

/// Whether this process runs as root (real and effective uid 0 are not
/// both needed: the effective one decides what `setpriv` may do).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .is_some_and(|line| line.split_whitespace().nth(2) == Some("0"))
}

/// Whether `CI` is set (to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

/// True when the test can run programs as other users: root, and each of
/// `tools` answers `--version`. Otherwise, in CI it panics; elsewhere it
/// says the test is skipped (on stderr) and returns false.
#[allow(clippy::print_stderr)] // the skip is said, not silent
pub fn can_act_as_other_users(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            !std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .collect();
    let why = match (is_root(), missing.is_empty()) {
        (true, true) => return true,
        (false, _) => "needs root to run programs as other users".to_string(),
        (true, false) => format!("needs {}", missing.join(", ")),
    };
    assert!(
        !in_ci(),
        "{test} {why}, and CI must run it (CI runs as root with scripts/install-deps.sh test)"
    );
    eprintln!("skipped: {test} {why} (CI runs it as root)");
    false
}
