//! The sandbox against a prompt-injected agent (Linux, bubblewrap): the agent
//! of a session tries what the attacks in the security review did — list
//! Keybearer's data folder, run Keybearer itself for a direct-mode session
//! that would print the token, ask the keychain through `secret-tool`, look
//! at other processes — and gets nothing. The same agent without the
//! sandbox (the control) reaches the data folder and the keychain's raw
//! master key, which proves each probe works (the nested direct session is
//! refused even there: nobody inside a session may approve direct mode).

#![cfg(target_os = "linux")]

mod support;

use support::session::{read, token, Home};

/// The master key comes back from secret-tool as raw bytes.
fn read_lossy(path: &std::path::Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).expect("report")).into_owned()
}
use support::BIN;

/// What the agent found, by probe.
struct Findings {
    data_listing: String,
    nested_list: String,
    nested_direct: String,
    secret_tool: String,
    pids: usize,
    wrote_work: bool,
}

/// `work`: the agent's folder; `None` for a fresh one beside the data
/// folder, `Some(parent)` for the data folder's parent (like a home folder).
fn run_curious_agent(
    h: &Home,
    sandbox: bool,
    label: &str,
    work: Option<&std::path::Path>,
) -> Findings {
    let out = h.path(&format!("found-{label}"));
    std::fs::create_dir(&out).expect("report folder");
    let work = match work {
        Some(folder) => folder.to_path_buf(),
        None => {
            let folder = h.path(&format!("work-{label}"));
            std::fs::create_dir(&folder).expect("work folder");
            folder
        }
    };
    // The bus address the agent could know or guess, given explicitly: the
    // sandbox must hide the socket itself, not only the variable.
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    let data = h.path("data");
    let agent = h.script(
        &format!("curious-{label}.sh"),
        &format!(
            r#"out={out}
ls -A {data} > "$out/data" 2>&1
{bin} --data-dir {data} --json vault list > "$out/list" 2>&1
{bin} --data-dir {data} session start --vault Work --agent custom --direct --no-sandbox -- sh -c 'cat "$KEYBEARER_MCP_CONFIG"' > "$out/direct" 2>&1
DBUS_SESSION_BUS_ADDRESS='{bus}' secret-tool search --all service keybearer > "$out/secret-tool" 2>&1; echo "rc=$?" >> "$out/secret-tool"
ls /proc | grep -cE '^[0-9]+$' > "$out/pids"
echo written > written-by-agent
"#,
            out = out.display(),
            data = data.display(),
            bin = BIN,
            bus = bus,
        ),
    );
    let mut args = vec!["session", "start", "--vault", "Work", "--agent", "custom"];
    let work_arg = work.to_string_lossy().into_owned();
    args.extend(["--dir", &work_arg]);
    if !sandbox {
        args.push("--no-sandbox");
    }
    args.extend(["--", &agent]);
    let run = h.run(&args, "").code(0);
    assert_eq!(
        run.stderr.contains("; sandboxed"),
        sandbox,
        "the CLI says whether it is sandboxed: {}",
        run.stderr
    );
    Findings {
        data_listing: read(&out.join("data")),
        nested_list: read(&out.join("list")),
        nested_direct: read(&out.join("direct")),
        secret_tool: read_lossy(&out.join("secret-tool")),
        pids: read(&out.join("pids")).trim().parse().expect("pid count"),
        wrote_work: work.join("written-by-agent").exists(),
    }
}

#[test]
fn a_sandboxed_agent_finds_no_token_no_keychain_and_no_keybearer() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    let secret = token("sandbox");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &secret,
    );

    // Control: unsandboxed, the same probes reach the data, the token and
    // the keychain (secret-tool prints the raw master key).
    let open = run_curious_agent(&h, false, "open", None);
    assert!(
        open.data_listing.contains("vault.db"),
        "{}",
        open.data_listing
    );
    assert!(open.nested_list.contains("Work"), "{}", open.nested_list);
    // A nested direct session is refused there too, by the approval rule
    // (inside a session nobody may approve); sessions_presence.rs tests it.
    assert!(
        open.nested_direct
            .contains("runs inside a Keybearer session")
            && !open.nested_direct.contains(&secret),
        "{}",
        open.nested_direct
    );
    assert!(
        open.secret_tool.contains("rc=0"),
        "without the sandbox the keychain answers: {}",
        open.secret_tool.lines().last().unwrap_or_default()
    );
    assert!(
        open.pids > 8,
        "without the sandbox every process is visible"
    );

    // Working beside the data folder, and working in the folder that holds
    // it (as an agent working in your home folder does).
    let home = h.dir.path().to_path_buf();
    for (label, work) in [
        ("sandboxed", None),
        ("sandboxed-home", Some(home.as_path())),
    ] {
        let found = run_curious_agent(&h, true, label, work);
        assert_eq!(
            found.data_listing.trim(),
            "",
            "{label}: the data folder is empty inside"
        );
        assert!(
            !found.nested_list.contains("Work"),
            "{label}: {}",
            found.nested_list
        );
        assert!(
            !found.nested_direct.contains(&secret),
            "{label}: {}",
            found.nested_direct
        );
        assert!(!found.secret_tool.contains(&secret), "{label}");
        assert!(
            !found.secret_tool.contains("rc=0"),
            "{label}: {}",
            found.secret_tool
        );
        assert!(found.pids <= 8, "{label}: {} processes visible", found.pids);
        assert!(
            found.wrote_work,
            "{label}: the agent still works in its folder"
        );
    }
}
