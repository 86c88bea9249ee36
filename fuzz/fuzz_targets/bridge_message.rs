//! `bridge_message`: see crates/fuzz-checks/src/bridge_message.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::bridge_message(data));
