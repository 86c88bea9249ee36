//! `token_scan`: the search for pasted tokens in any app's settings file,
//! and the import that follows it.
//!
//! Input: a byte choosing the app (any of the eleven), then the file's text.
//!
//! Properties: a file is scanned exactly when it can be read; every finding
//! names an entry of the file and holds a secret that is not blank and that
//! its `Debug` output never shows; importing an entry that held a finding
//! (replacing it by a bridge entry) either refuses in printable words or
//! leaves no finding in that entry.

use app_configs::{list_servers, replace_with_bridge, scan, App, BridgeEntry, ConfigFile};
use keybearer_base::text::printable;

use crate::input::byte;

pub fn token_scan(data: &[u8]) {
    let app = App::ALL[usize::from(byte(data, 0)) % App::ALL.len()];
    let Ok(text) = std::str::from_utf8(data.get(1..).unwrap_or_default()) else {
        return;
    };
    let file = ConfigFile::new(app, format!("/home/ada/settings.{}", app.id()));
    let entries = list_servers(&file, text);
    let findings = match scan(&file, text) {
        Ok(findings) => findings,
        Err(error) => {
            assert!(entries.is_err(), "a readable file was not scanned");
            let words = error.to_string();
            assert_eq!(
                printable(&words),
                words,
                "a refusal holds control characters"
            );
            return;
        }
    };
    let entries = entries.expect("a scanned file is readable");
    for finding in &findings {
        assert!(entries.iter().any(|e| e.name == finding.server));
        let secret = finding.secret.expose_secret();
        assert!(!secret.trim().is_empty(), "a blank secret");
        let known = format!("{} {} {:?}", finding.server, finding.url, finding.kind);
        let frame = "Finding { server: , url: , kind: , secret: <redacted> }";
        if secret.len() >= 4 && !known.contains(secret) && !frame.contains(secret) {
            assert!(
                !format!("{finding:?}").contains(secret),
                "a finding's Debug shows its secret"
            );
        }
    }
    let mut imported: Vec<&str> = findings.iter().map(|f| f.server.as_str()).collect();
    imported.dedup();
    for name in imported {
        let bridge = BridgeEntry::new(
            name,
            "/opt/keybearer/bin/keybearer",
            "con_fuzz",
            "https://mcp.example.com/mcp",
        );
        match replace_with_bridge(&file, text, &bridge) {
            Ok(new) => {
                let left = scan(&file, &new).expect("an imported file is readable");
                assert!(
                    left.iter().all(|f| f.server != name),
                    "a token stayed in an imported entry"
                );
            }
            Err(error) => {
                let words = error.to_string();
                assert_eq!(
                    printable(&words),
                    words,
                    "a refusal holds control characters"
                );
            }
        }
    }
}
