//! Harness for the end-to-end tests: launches the real desktop app through
//! tauri-driver + WebKitWebDriver, starts real MCP servers from the official
//! Python SDK, and offers small helpers to drive the window by `data-testid`.
//!
//! The tests need a display (Xvfb), a Secret Service, `.venv` with the MCP
//! SDK and `tauri-driver`; `make test` provides all of them.
#![allow(clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn app_binary() -> PathBuf {
    std::env::var_os("KEYBEARER_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/keybearer-app"))
}

pub fn screenshot_dir() -> PathBuf {
    let dir = repo_root().join("target/e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Fails loudly (never skips) when the environment cannot run these tests.
pub fn require_environment() {
    let missing: Vec<&str> = [
        (
            "a display (run under xvfb-run)",
            std::env::var_os("DISPLAY").is_some(),
        ),
        (
            "a Secret Service (run inside scripts/with-secret-service.sh)",
            std::env::var("KEYBEARER_KEYRING_SESSION").as_deref() == Ok("ready"),
        ),
        (
            "the desktop app binary (cargo build -p keybearer-app)",
            app_binary().exists(),
        ),
        (
            "the MCP test venv (scripts/setup-mcp-venv.sh)",
            python().exists(),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(what, _)| what)
    .collect();
    assert!(
        missing.is_empty(),
        "e2e tests need: {missing:?}. Run `make test`."
    );
}

fn python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("free port")
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A child process killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An MCP server from the official Python SDK that accepts exactly one
/// bearer token, read from a file on every request (so tests can rotate it),
/// or in header mode exactly one set of headers.
pub struct McpServer {
    pub url: String,
    token_file: PathBuf,
    _dir: tempfile::TempDir,
    _process: Guard,
}

impl McpServer {
    pub fn start(transport: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, token).expect("token file");
        let mut command = Command::new(python());
        command
            .arg(repo_root().join("tests/mcp-peers/server.py"))
            .args(["--transport", transport, "--port", "0"])
            .env("MCP_TEST_TOKEN_FILE", &token_file);
        Self::spawn(command, dir, token_file)
    }

    /// As [`McpServer::start`], with `args` besides (`--sse-path /events`).
    pub fn start_with(transport: &str, token: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, token).expect("token file");
        let mut command = Command::new(python());
        command
            .arg(repo_root().join("tests/mcp-peers/server.py"))
            .args(["--transport", transport, "--port", "0"])
            .args(args)
            .env("MCP_TEST_TOKEN_FILE", &token_file);
        Self::spawn(command, dir, token_file)
    }

    /// Header mode (Streamable HTTP): the server demands exactly these
    /// headers, with these values, and no bearer token.
    pub fn start_with_headers(headers: &[(&str, &str)]) -> Self {
        let required: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), serde_json::Value::from(*value)))
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("token");
        let mut command = Command::new(python());
        command
            .arg(repo_root().join("tests/mcp-peers/server.py"))
            .args(["--transport", "streamable_http", "--port", "0"])
            .env(
                "MCP_TEST_HEADERS",
                serde_json::Value::Object(required).to_string(),
            );
        Self::spawn(command, dir, token_file)
    }

    fn spawn(mut command: Command, dir: tempfile::TempDir, token_file: PathBuf) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Python MCP server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("server announces its URL");
        let announced: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        Self {
            url: announced["url"].as_str().expect("url").to_string(),
            token_file,
            _dir: dir,
            _process: Guard(child),
        }
    }

    /// From now on the server accepts only `token`.
    pub fn rotate(&self, token: &str) {
        std::fs::write(&self.token_file, token).expect("rotate");
    }
}

/// Starts `tauri-driver` for one app session with its own data folder.
pub struct Driver {
    pub port: u16,
    _process: GroupGuard,
}

/// A child started in a process group of its own, the whole group killed
/// when dropped: tauri-driver starts WebKitWebDriver, which starts the app,
/// and killing tauri-driver alone left those two running after each test.
struct GroupGuard(Child);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Driver {
    /// `ipc_trace`: the file where the debug build appends every IPC answer.
    pub fn start(data_dir: &Path, ipc_trace: &Path, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let native_port = free_port();
        let driver = std::env::var_os("TAURI_DRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let installed = PathBuf::from(std::env::var("HOME").unwrap_or_default())
                    .join(".cargo/bin/tauri-driver");
                if installed.exists() {
                    installed
                } else {
                    PathBuf::from("tauri-driver")
                }
            });
        let mut command = Command::new(&driver);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("KEYBEARER_HOME", data_dir)
            .env("KEYBEARER_IPC_TRACE", ipc_trace)
            .envs(extra_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        assert!(
            wait_for_port(port, Duration::from_secs(20)),
            "tauri-driver did not listen"
        );
        // tauri-driver starts WebKitWebDriver behind it; on a cold machine
        // that can take a while, and a session requested before it listens
        // fails ("IncompleteMessage", seen in a fresh-clone CI run).
        let _ = wait_for_port(native_port, Duration::from_secs(20));
        Self {
            port,
            _process: GroupGuard(child),
        }
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Every file in the data folder (database, WAL, SHM, log) that contains `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .filter(|path| std::fs::read(path).is_ok_and(|bytes| contains(&bytes, needle)))
                .collect()
        })
        .unwrap_or_default()
}

pub use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

const WAIT: Duration = Duration::from_secs(15);

/// The real app window, driven through WebDriver.
pub struct Window {
    pub client: Client,
    pub data_dir: PathBuf,
    trace_dir: tempfile::TempDir,
    _driver: Driver,
}

pub fn css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

impl Window {
    pub async fn launch(data_dir: &Path) -> Self {
        Self::launch_with_env(data_dir, &[]).await
    }

    /// Launches with extra environment variables for the app (and its driver).
    pub async fn launch_with_env(data_dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        let trace_dir = tempfile::tempdir().expect("trace dir");
        let driver = Driver::start(data_dir, &trace_dir.path().join("ipc-trace"), extra_env);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary() }),
        );
        // A few tries: the first session of a cold machine can meet a
        // driver that is still starting; anything else fails the test.
        let mut attempt = 0;
        // Two rustls providers are compiled in (see Cargo.toml): name one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = loop {
            attempt += 1;
            match ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{}", driver.port))
                .await
            {
                Ok(client) => break client,
                Err(error) if attempt < 3 => {
                    eprintln!("WebDriver session not ready yet ({error}); trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(error) => panic!("WebDriver session with the app: {error}"),
            }
        };
        Self {
            client,
            data_dir: data_dir.to_path_buf(),
            trace_dir,
            _driver: driver,
        }
    }

    pub async fn el(&self, testid: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&css(testid)))
            .await
            .unwrap_or_else(|e| panic!("no element {testid}: {e}"))
    }

    pub async fn all(&self, testid: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(&css(testid)))
            .await
            .unwrap_or_default()
    }

    /// Clicks like a user: the element is first scrolled to the middle of the
    /// window, so the sticky header never covers it.
    pub async fn click(&self, testid: &str) {
        let element = self.el(testid).await;
        let handle = serde_json::to_value(&element).expect("element handle");
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![handle],
            )
            .await
            .unwrap_or_else(|e| panic!("scroll to {testid}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {testid}: {e}"));
    }

    pub async fn fill(&self, testid: &str, text: &str) {
        let element = self.el(testid).await;
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {testid}: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {testid}: {e}"));
    }

    pub async fn text(&self, testid: &str) -> String {
        self.el(testid).await.text().await.unwrap_or_default()
    }

    pub async fn value(&self, testid: &str) -> String {
        self.el(testid)
            .await
            .prop("value")
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub async fn select(&self, testid: &str, value: &str) {
        self.el(testid)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in {testid}: {e}"));
    }

    /// Waits until `document.body.dataset.screen` is `screen`.
    pub async fn wait_screen(&self, screen: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let current = self
                .client
                .execute("return document.body.dataset.screen || ''", vec![])
                .await
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            if current == screen {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "screen {screen} never showed (last: {current:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `check` holds for the text of `testid`.
    pub async fn wait_text(&self, testid: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text(testid).await;
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{testid} text never matched; last: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_attr(&self, testid: &str, attr: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(value)) = self.el(testid).await.attr(attr).await {
                if !value.is_empty() {
                    return value;
                }
            }
            assert!(Instant::now() < deadline, "{testid} never got {attr}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn page_source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Every IPC answer the app sent to the page so far (the debug build
    /// writes them to a trace file; see `src-tauri/src/state.rs`).
    pub fn ipc_answers(&self) -> String {
        std::fs::read_to_string(self.trace_dir.path().join("ipc-trace")).unwrap_or_default()
    }

    /// A PNG of the whole window under target/e2e-screenshots/. Two animation
    /// frames first, so the picture is not stale.
    pub async fn screenshot(&self, name: &str) {
        let _ = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png)
            .expect("write screenshot");
    }

    pub async fn quit(self) {
        let _ = self.client.close().await;
    }
}
