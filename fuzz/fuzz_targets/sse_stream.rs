//! `sse_stream`: see crates/fuzz-checks/src/sse_stream.rs for what it reads and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keybearer_fuzz_checks::sse_stream(data));
