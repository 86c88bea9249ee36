//! `oauth_answers`: see crates/fuzz-checks/src/oauth_answers.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::oauth_answers(data));
