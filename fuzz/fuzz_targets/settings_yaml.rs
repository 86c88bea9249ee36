//! `settings_yaml`: see crates/fuzz-checks/src/settings_edit.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::settings_yaml(data));
