//! libFuzzer entry point for `trestle_hub::fuzz_targets::pickup_code` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trestle_hub::fuzz_targets::pickup_code(data));
