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
    let out_arg = out.to_string_lossy().into_owned();
    args.extend(["--dir", &work_arg, "--allow-write", &out_arg]);
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

/// Two sessions at once, as two agents of different environments would
/// run: the second one's sandboxed agent reads the first one's MCP config
/// by its exact path (which it could find by listing the folder) and gets
/// nothing. Its private folder used to be in the shared temp folder, where
/// every sandbox could read it: the session secret, or in direct mode the
/// real token.
#[test]
fn a_sandboxed_agent_cannot_read_another_sessions_private_folder() {
    let h = Home::new();
    let production = h.vault("Prod", "production");
    h.add(
        &production,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("prod"),
    );
    let development = h.vault("Dev", "development");
    h.add(
        &development,
        "https://dev.example.com/mcp",
        "streamable_http",
        &token("dev"),
    );
    let out = h.path("found-neighbour");
    std::fs::create_dir(&out).expect("report folder");
    // The first session's agent says where its config is, then waits.
    let first = h.script(
        "first.sh",
        &format!(
            "echo \"$KEYBEARER_MCP_CONFIG\" > '{out}/path.tmp' && mv '{out}/path.tmp' '{out}/path'\nsleep 60",
            out = out.display()
        ),
    );
    let mut running = h
        .command(&[
            "session", "start", "--vault", "Prod", "--agent", "custom", "--", &first,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("first session");
    support::session::wait_for("the first session's agent", || out.join("path").exists());
    let config = read(&out.join("path")).trim().to_string();
    let secret_file = std::fs::read_to_string(&config).expect("the first session's config");
    assert!(
        secret_file.contains("avs_"),
        "a session secret: {secret_file}"
    );
    let folder = std::path::Path::new(&config).parent().expect("folder");

    let second = h.script(
        "second.sh",
        &format!(
            "cat '{config}' > '{out}/read' 2>&1\nls -A '{folder}' > '{out}/listing' 2>&1\nls -A '{parent}' > '{out}/siblings' 2>&1\nexit 0",
            config = config,
            out = out.display(),
            folder = folder.display(),
            parent = folder.parent().expect("parent").display(),
        ),
    );
    h.run(
        &[
            "session", "start", "--vault", "Dev", "--agent", "custom", "--", &second,
        ],
        "",
    )
    .code(0);
    // Stopped as a closed terminal would stop it.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(running.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("stop");
    running.wait().expect("first session ends");
    let name = folder
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let found = read(&out.join("read"));
    assert!(!found.contains("avs_"), "its config was read: {found}");
    // Listings name one entry per line; an error message names the path.
    for (report, entry) in [("listing", "mcp.json"), ("siblings", name.as_str())] {
        let found = read(&out.join(report));
        assert!(
            !found.lines().any(|line| line == entry),
            "{report}: the other session's folder is visible: {found}"
        );
    }
}
