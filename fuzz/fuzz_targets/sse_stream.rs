//! libFuzzer entry point for `trestle_till::sync::stream::fuzz_reader`: the till's reader of
//! the hub's live stream (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trestle_till::sync::stream::fuzz_reader(data));
