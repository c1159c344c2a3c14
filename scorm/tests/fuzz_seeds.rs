//! Replays the committed fuzz seeds (`scorm/fuzz/corpus/`) through the same entry points the cargo-fuzz targets
//! use, plus byte-level mutations of each (truncations and flipped bytes), so the normal test run keeps the
//! fuzzers' "never panic" promise without nightly.

use std::path::Path;

use lms_scorm::fuzz::{manifest_parser, zip_front_end};

#[test]
fn fuzz_seeds_replay_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/manifest");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).expect("seed folder") {
        let data = std::fs::read(entry.expect("entry").path()).expect("seed");
        seeds += 1;
        manifest_parser(&data);
        zip_front_end(&data);
        for cut in (0..data.len()).step_by(17) {
            manifest_parser(&data[..cut]);
        }
        let mut flipped = data.clone();
        for i in (0..flipped.len()).step_by(13) {
            flipped[i] ^= 0x5a;
        }
        manifest_parser(&flipped);
    }
    assert!(seeds >= 5, "expected the committed seeds in {}", dir.display());
}

#[test]
fn zip_front_end_survives_truncated_and_corrupted_zips() {
    let data = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/manifest/scorm12_minimal.xml"))
        .expect("seed");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("imsmanifest.xml", zip::write::SimpleFileOptions::default()).expect("start");
    std::io::Write::write_all(&mut w, &data).expect("write");
    let zip = w.finish().expect("finish").into_inner();
    for cut in 0..zip.len() {
        zip_front_end(&zip[..cut]);
    }
    for i in 0..zip.len() {
        let mut z = zip.clone();
        z[i] ^= 0xff;
        zip_front_end(&z);
    }
}
