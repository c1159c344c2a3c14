//! Fuzzes the manifest parser: any bytes, read as imsmanifest.xml, modelled and validated. Must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lms_scorm::fuzz::manifest_parser(data));
