//! The tests' own tools on this machine (the repo's Python venv, Node) and
//! the paths handed to them.
//!
//! Under Wine — `make test` runs the Windows build's tests there
//! (scripts/windows-test.sh) — a test is a Windows program, while Python and
//! Node are the Linux programs Wine starts as they are. So their paths are
//! written the Linux way (`/`, from the repo's Linux path; `Path::join`
//! would add `\`), and a file the test made in its Windows temp folder is
//! named to them by its Linux path (Wine's `winepath -u`). On Linux and
//! macOS every function here is the plain answer. These helpers assume Wine
//! on Windows: on a real Windows machine the peers would need a Windows
//! Python, which the tests do not set up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A file of the repository, by its path relative to the root (`/`-separated).
pub fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(format!("{}/../../{relative}", env!("CARGO_MANIFEST_DIR")))
}

/// The repo's Python (scripts/setup-mcp-venv.sh), where the official SDK lives.
pub fn python() -> PathBuf {
    let python = repo_file(".venv/bin/python");
    assert!(
        python.exists(),
        "run scripts/setup-mcp-venv.sh (make test does) first"
    );
    python
}

/// The Node that runs the TypeScript peers: `node` on the PATH; under Wine
/// the one scripts/windows-test.sh names (a Windows program's PATH search
/// finds only `.exe` files).
pub fn node() -> OsString {
    if cfg!(windows) {
        std::env::var_os("KEYBEARER_HOST_NODE")
            .expect("KEYBEARER_HOST_NODE names Node's Linux path (scripts/windows-test.sh sets it)")
    } else {
        OsString::from("node")
    }
}

/// `path` as Python or Node on this machine must be given it.
pub fn host_path(path: &Path) -> OsString {
    if !cfg!(windows) {
        return path.as_os_str().to_owned();
    }
    let output = std::process::Command::new("winepath.exe")
        .arg("-u")
        .arg(path)
        .output()
        .expect("winepath (the Windows tests run under Wine)");
    assert!(output.status.success(), "winepath -u {}", path.display());
    OsString::from(String::from_utf8(output.stdout).expect("utf-8").trim_end())
}

/// A program a test started for its whole life (a peer server), with the
/// first line it printed (its address); ended when dropped.
pub struct Started {
    pub line: String,
    handle: Handle,
}

enum Handle {
    Child(std::process::Child),
    #[cfg_attr(not(windows), allow(dead_code))]
    Launched(u64),
}

/// Starts `command` with its output piped (its errors dropped) and waits
/// for its first line. Under Wine the Linux side starts it
/// (tests/wine/launcher.py): Wine gives a Linux program none of the pipes
/// it is asked for and cannot end it.
pub fn start(command: &mut std::process::Command) -> Started {
    #[cfg(windows)]
    {
        let answer = launcher::call("start", command);
        Started {
            line: answer["line"].as_str().expect("line").to_string(),
            handle: Handle::Launched(answer["id"].as_u64().expect("id")),
        }
    }
    #[cfg(not(windows))]
    {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", command.get_program()));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        Started {
            line,
            handle: Handle::Child(child),
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        match &mut self.handle {
            Handle::Child(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            #[cfg(windows)]
            Handle::Launched(id) => {
                launcher::stop(*id);
            }
            #[cfg(not(windows))]
            Handle::Launched(_) => {}
        }
    }
}

/// What a program run to its end printed, and its exit code.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to its end with stdin closed (under Wine on the Linux side).
pub fn run(command: &mut std::process::Command) -> Ran {
    #[cfg(windows)]
    {
        let answer = launcher::call("run", command);
        let text = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
        Ran {
            code: answer["code"].as_i64().unwrap_or(-1) as i32,
            stdout: text("stdout"),
            stderr: text("stderr"),
        }
    }
    #[cfg(not(windows))]
    {
        let output = command
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {:?}: {e}", command.get_program()));
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[cfg(windows)]
mod launcher {
    use serde_json::{json, Map, Value};

    fn address() -> String {
        std::env::var("KEYBEARER_PEER_LAUNCHER").expect(
            "KEYBEARER_PEER_LAUNCHER (scripts/windows-test.sh starts tests/wine/launcher.py)",
        )
    }

    fn text(value: &std::ffi::OsStr) -> String {
        value.to_str().expect("a UTF-8 argument").to_string()
    }

    pub fn call(action: &str, command: &std::process::Command) -> Value {
        let mut argv = vec![text(command.get_program())];
        argv.extend(command.get_args().map(text));
        let mut env = Map::new();
        let mut remove = Vec::new();
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => {
                    env.insert(text(name), Value::String(text(value)));
                }
                None => remove.push(text(name)),
            }
        }
        post(action, json!({"argv": argv, "env": env, "remove": remove}))
    }

    pub fn stop(id: u64) {
        post("stop", json!({ "id": id }));
    }

    /// On a thread of its own: reqwest's blocking client may not be used
    /// (nor dropped) inside the async tests' runtime.
    fn post(action: &str, body: Value) -> Value {
        let action = action.to_string();
        std::thread::spawn(move || post_now(&action, body))
            .join()
            .expect("the launcher call")
    }

    fn post_now(action: &str, body: Value) -> Value {
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .expect("client");
        let answer = client
            .post(format!("{}/{action}", address()))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .expect("the peer launcher answers");
        assert!(
            answer.status().is_success(),
            "launcher {action}: {}",
            answer.status()
        );
        let text = answer.text().expect("the launcher's answer");
        serde_json::from_str(&text).expect("JSON from the launcher")
    }
}
