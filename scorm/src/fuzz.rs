//! Entry points shared by the cargo-fuzz targets (`scorm/fuzz/`) and the seed-replay test, so the normal test run
//! exercises exactly what the fuzzers do. Both must never panic, whatever the bytes; bounded limits keep memory
//! and time small.

use crate::archive::Limits;
use crate::validate::{Options, validate_package_bytes};
use crate::xml::XmlLimits;

fn small_options() -> Options {
    Options {
        limits: Limits {
            max_entries: 1_000,
            max_total_size: 64 << 20,
            max_entry_size: 16 << 20,
            max_xml_size: 1 << 20,
            ..Limits::default()
        },
        xml_limits: XmlLimits { max_depth: 64, max_elements: 20_000 },
        ..Options::default()
    }
}

/// The zip front end: index the bytes as a package and run the whole validation.
pub fn zip_front_end(data: &[u8]) {
    let _ = validate_package_bytes("fuzz.zip", data.to_vec(), &small_options());
}

/// The manifest parser: parse the bytes as `imsmanifest.xml`, build the model, detect the version and run the
/// rules over a package holding only that manifest.
pub fn manifest_parser(data: &[u8]) {
    let opts = small_options();
    if let Ok(doc) = crate::xml::parse(data, "imsmanifest.xml", opts.xml_limits) {
        let m = crate::manifest::Manifest::from_element(&doc.root);
        let _ = crate::standard::detect(&m);
        let _ = m.course_launch();
    }
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let written = w
        .start_file("imsmanifest.xml", zip::write::SimpleFileOptions::default())
        .and_then(|()| std::io::Write::write_all(&mut w, data).map_err(Into::into))
        .and_then(|()| w.finish());
    if let Ok(cursor) = written {
        let _ = validate_package_bytes("fuzz.zip", cursor.into_inner(), &opts);
    }
}
