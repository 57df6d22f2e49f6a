//! libFuzzer entry point for `trestle_hub::fuzz_targets::sync_exchange` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trestle_hub::fuzz_targets::sync_exchange(data));
