//! Fuzzes the zip front end: any bytes, read as a package and validated. Must not panic, hang or balloon.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lms_scorm::fuzz::zip_front_end(data));
