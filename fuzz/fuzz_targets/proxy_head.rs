//! `proxy_head`: see crates/fuzz-checks/src/proxy_head.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::proxy_head(data));
