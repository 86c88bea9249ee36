//! Another computer's keychain: a second private Secret Service (its own
//! D-Bus session bus and GNOME Keyring, its own keyring files), beside the
//! one `scripts/with-secret-service.sh` started for the tests. A program
//! given [`SecretService::env`] stores and finds keys there only. Both
//! daemons run in the foreground as this test's children and are ended
//! (by their own handles) when it is dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SecretService {
    address: String,
    bus: Child,
    keyring: Child,
    dir: tempfile::TempDir,
}

impl SecretService {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).expect("run");
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("chmod");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("the bus's address");
        let address = address.trim().to_string();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(env_for(&address, dir.path()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon");
        let mut stdin = keyring.stdin.take().expect("stdin");
        stdin.write_all(b"another-computer").expect("password");
        drop(stdin);
        let service = Self {
            address,
            bus,
            keyring,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !service.has_secret_service() {
            assert!(
                Instant::now() < deadline,
                "the second Secret Service did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    /// What points a program at this keychain: its session bus.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone())]
    }

    fn has_secret_service(&self) -> bool {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"))
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn env_for(address: &str, dir: &Path) -> Vec<(String, String)> {
    vec![
        ("DBUS_SESSION_BUS_ADDRESS".into(), address.to_string()),
        (
            "XDG_DATA_HOME".into(),
            dir.join("share").to_string_lossy().into_owned(),
        ),
        (
            "XDG_RUNTIME_DIR".into(),
            dir.join("run").to_string_lossy().into_owned(),
        ),
    ]
}

/// The key that keychain holds for `account`, if any (to compare before
/// and after). `env`: another keychain's variables, or none for the tests'
/// own.
pub fn stored_key(env: &[(String, String)], account: &str) -> Option<Vec<u8>> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", "keybearer", "username", account])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("secret-tool");
    (output.status.success() && !output.stdout.is_empty()).then_some(output.stdout)
}

/// Whether that keychain holds a key for `account`.
pub fn has_account(env: &[(String, String)], account: &str) -> bool {
    stored_key(env, account).is_some()
}
