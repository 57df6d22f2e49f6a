//! libFuzzer entry point for `trestle_hub::fuzz_targets::api_request` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trestle_hub::fuzz_targets::api_request(data));
