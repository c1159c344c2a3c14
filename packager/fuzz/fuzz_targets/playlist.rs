//! Fuzz target: `lms_packager::fuzz::playlist` must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lms_packager::fuzz::playlist(data));
