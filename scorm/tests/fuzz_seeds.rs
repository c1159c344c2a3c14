//! Replays the committed fuzz seeds (`scorm/fuzz/corpus/manifest/` and `corpus/zip_front_end/`) through the same
//! entry points the cargo-fuzz targets use, plus byte-level mutations of each (truncations and flipped bytes), so
//! the normal test run keeps the fuzzers' "never panic, hang or balloon" promise without nightly.

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

/// The zip target's seeds: structurally valid zips (`valid_*`: zip64, a prepended stub, Unicode names) that must
/// index and validate, and minimised inputs that once crashed, hung or ran out of memory, each named for what it
/// broke (`oom_element_paths`: element paths repeating a 600 KB identifier; `timeout_xml_base_chain`: a 600 KB
/// `xml:base` resolved again for each of 19,000 files).
#[test]
fn zip_seeds_replay_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/zip_front_end");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).expect("seed folder") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("seed");
        seeds += 1;
        let started = std::time::Instant::now();
        zip_front_end(&data);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        // Generous for an unoptimised build; the timeout seed took minutes before its fix.
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{name} took {:?}", started.elapsed());
        if name.starts_with("valid_") {
            let opts = lms_scorm::Options::default();
            let report = lms_scorm::validate_package_bytes(&name, data.clone(), &opts);
            assert_eq!(report.manifest_file.as_deref(), Some("imsmanifest.xml"), "{name}: {:?}", report.findings);
        }
        for cut in (0..data.len()).step_by(97) {
            zip_front_end(&data[..cut]);
        }
        let mut flipped = data.clone();
        for i in (0..flipped.len()).step_by(29) {
            flipped[i] ^= 0x5a;
        }
        zip_front_end(&flipped);
    }
    assert!(seeds >= 6, "expected the committed seeds in {}", dir.display());
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
