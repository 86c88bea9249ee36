//! Every committed corpus file (`fuzz/corpus/<target>/`) and crash file
//! (`fuzz/regressions/<target>/`) through its target's checks, on the
//! stable toolchain: what the fuzzer once found stays fixed, and the
//! corpus's coverage is exercised on every `make test` (docs/architecture.md,
//! "Fuzzing").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use keybearer_fuzz_checks::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file of `target`'s corpus and regressions; names each that fails.
fn replay(target: &str) {
    let check = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, check)| *check)
        .expect("a known target");
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    assert!(!corpus.is_empty(), "{target} has no committed corpus");
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    let mut failed = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).expect("a corpus file");
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail: {failed:#?}"
    );
}

#[test]
fn every_folder_is_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|(target, _)| *target == name),
                "fuzz/{kind}/{name} is no target's"
            );
        }
    }
}

#[test]
fn proxy_head() {
    replay("proxy_head");
}

#[test]
fn sse_stream() {
    replay("sse_stream");
}

#[test]
fn bridge_message() {
    replay("bridge_message");
}

#[test]
fn oauth_answers() {
    replay("oauth_answers");
}

#[test]
fn settings_jsonc() {
    replay("settings_jsonc");
}

#[test]
fn settings_toml() {
    replay("settings_toml");
}

#[test]
fn settings_yaml() {
    replay("settings_yaml");
}

#[test]
fn token_scan() {
    replay("token_scan");
}

#[test]
fn server_url() {
    replay("server_url");
}

#[test]
fn echo_stream() {
    replay("echo_stream");
}
