//! `token_scan`: see crates/fuzz-checks/src/token_scan.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::token_scan(data));
