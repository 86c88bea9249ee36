//! `server_url`: see crates/fuzz-checks/src/server_url.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::server_url(data));
