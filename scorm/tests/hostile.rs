//! Hostile archives and manifests, built here with the zip crate's writer (or by patching its bytes where the
//! writer refuses), never committed as binaries. Each must be refused by validation (an `archive-safe` or
//! `manifest-well-formed` finding, verdict fail) and by `unpack` (an error, nothing written).

use std::io::Write;
use std::path::Path;

use lms_scorm::archive::Limits;
use lms_scorm::error::{LimitKind, UnsafeReason};
use lms_scorm::{Options, ScormError, Verdict, validate_package_bytes};
use zip::write::SimpleFileOptions;

const MANIFEST: &str = r#"<manifest identifier="m" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"><metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata><organizations default="o"><organization identifier="o"><title>T</title><item identifier="i" identifierref="r"><title>I</title></item></organization></organizations><resources><resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"><file href="a.html"/></resource></resources></manifest>"#;

fn zip_with(entries: &[(&str, &[u8])], options: SimpleFileOptions) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, options).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

fn plain(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut all: Vec<(&str, &[u8])> = vec![("imsmanifest.xml", MANIFEST.as_bytes()), ("a.html", b"<html/>")];
    all.extend_from_slice(extra);
    zip_with(&all, SimpleFileOptions::default())
}

/// Replaces every occurrence of `from` with `to` (same length) in the raw zip bytes.
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    let mut hits = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            hits += 1;
        }
        i += 1;
    }
    assert!(hits > 0, "pattern not found");
    bytes
}

fn assert_refused(bytes: Vec<u8>, limits: Limits, expect: &dyn Fn(&ScormError) -> bool) {
    // Validation: a finding, not a crash and not an error.
    let options = Options { limits, ..Options::default() };
    let report = validate_package_bytes("hostile.zip", bytes.clone(), &options);
    assert_eq!(report.verdict, Verdict::Fail, "{:?}", report.findings);
    assert!(report.findings.iter().any(|f| f.rule == "archive-safe"), "{:?}", report.findings);
    // Unpack: an error, and nothing written.
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("hostile.zip");
    std::fs::write(&zip, bytes).expect("write");
    let out = dir.path().join("out");
    let err = lms_scorm::unpack::unpack(&zip, &out, limits).expect_err("unpack must refuse");
    assert!(expect(&err), "unexpected error {err:?}");
    assert_eq!(listing(dir.path()), ["hostile.zip"], "nothing extracted, no partial folder");
}

/// The names in a folder, sorted (hidden ones too: a leftover `.out.partial-…` must show).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn reason(r: UnsafeReason) -> impl Fn(&ScormError) -> bool {
    move |e| matches!(e, ScormError::UnsafeEntry { reason, .. } if *reason == r)
}

fn limit(k: LimitKind) -> impl Fn(&ScormError) -> bool {
    move |e| matches!(e, ScormError::LimitExceeded { kind, .. } if *kind == k)
}

#[test]
fn parent_segments_are_refused() {
    assert_refused(plain(&[("../evil.html", b"x")]), Limits::default(), &reason(UnsafeReason::ParentSegment));
    assert_refused(plain(&[("a/../../evil.html", b"x")]), Limits::default(), &reason(UnsafeReason::ParentSegment));
}

#[test]
fn backslash_parent_segments_are_refused() {
    assert_refused(plain(&[("..\\evil.html", b"x")]), Limits::default(), &reason(UnsafeReason::ParentSegment));
}

#[test]
fn absolute_and_drive_paths_are_refused() {
    // The writer keeps names as given; patch one to be safe either way.
    let bytes = patch(plain(&[("Xetc/passwd", b"x")]), b"Xetc/passwd", b"/etc/passwd");
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::AbsolutePath));
    let bytes = patch(plain(&[("XX/evil.html", b"x")]), b"XX/evil.html", b"C:/evil.html");
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::DrivePath));
}

#[test]
fn control_characters_are_refused() {
    let bytes = patch(plain(&[("aXb.html", b"x")]), b"aXb.html", b"a\0b.html");
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::ControlCharacter));
}

#[test]
fn symlinks_are_refused() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("imsmanifest.xml", SimpleFileOptions::default()).expect("start");
    w.write_all(MANIFEST.as_bytes()).expect("write");
    w.add_symlink("a.html", "/etc/passwd", SimpleFileOptions::default()).expect("symlink");
    let bytes = w.finish().expect("finish").into_inner();
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::Symlink));
}

#[test]
fn exact_duplicates_are_refused() {
    // The writer refuses duplicate names, so write two and rename one in the raw bytes.
    let bytes = patch(plain(&[("b.html", b"evil")]), b"b.html", b"a.html");
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::Duplicate));
}

#[test]
fn case_folded_duplicates_are_refused() {
    assert_refused(plain(&[("A.HTML", b"evil")]), Limits::default(), &reason(UnsafeReason::DuplicateCaseFolded));
}

#[test]
fn encrypted_entries_are_refused() {
    // Set the "encrypted" general purpose flag (bit 0) in the local and central headers of a stored entry.
    let bytes = zip_with(
        &[("imsmanifest.xml", MANIFEST.as_bytes()), ("a.html", b"<html/>")],
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
    );
    let mut bytes = bytes;
    let mut i = 0;
    while i + 4 <= bytes.len() {
        match &bytes[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => bytes[i + 6] |= 1,
            [0x50, 0x4b, 0x01, 0x02] => bytes[i + 8] |= 1,
            _ => {}
        }
        i += 1;
    }
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::Encrypted));
}

#[test]
fn entry_count_limit() {
    let names: Vec<String> = (0..10).map(|i| format!("f{i}.txt")).collect();
    let extra: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x".as_slice())).collect();
    let limits = Limits { max_entries: 5, ..Limits::default() };
    assert_refused(plain(&extra), limits, &limit(LimitKind::EntryCount));
}

#[test]
fn total_size_limit() {
    let big = vec![b'x'; 4000];
    let limits = Limits { max_total_size: 5000, ..Limits::default() };
    assert_refused(plain(&[("b.bin", &big), ("c.bin", &big)]), limits, &limit(LimitKind::TotalSize));
}

#[test]
fn compression_ratio_limit() {
    let zeros = vec![0u8; 8 << 20];
    assert_refused(plain(&[("bomb.bin", &zeros)]), Limits::default(), &limit(LimitKind::CompressionRatio));
}

/// A package whose second entry, `a.html`, holds 16 stored bytes; `lie` rewrites the raw zip so that the problem
/// shows only while streaming, after `imsmanifest.xml` was already written.
fn streamed_liar(lie: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let bytes = zip_with(
        &[("imsmanifest.xml", MANIFEST.as_bytes()), ("a.html", b"0123456789abcdef")],
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
    );
    lie(bytes)
}

/// Sizes as little-endian u32: compressed then uncompressed, 16 and 16, in the local and central headers.
fn declared_smaller(bytes: Vec<u8>) -> Vec<u8> {
    patch(bytes, &[16, 0, 0, 0, 16, 0, 0, 0], &[16, 0, 0, 0, 8, 0, 0, 0])
}

fn declared_larger(bytes: Vec<u8>) -> Vec<u8> {
    patch(bytes, &[16, 0, 0, 0, 16, 0, 0, 0], &[16, 0, 0, 0, 17, 0, 0, 0])
}

fn checksum_broken(bytes: Vec<u8>) -> Vec<u8> {
    patch(bytes, b"0123456789abcdef", b"0123456789abcdeX")
}

fn streaming_error(e: &ScormError) -> bool {
    matches!(e, ScormError::SizeMismatch { .. } | ScormError::EntryUnreadable { .. })
}

#[test]
fn declared_size_is_checked_while_streaming() {
    for (what, bytes) in [("smaller", streamed_liar(declared_smaller)), ("larger", streamed_liar(declared_larger))] {
        let dir = tempfile::tempdir().expect("tempdir");
        let zip = dir.path().join("liar.zip");
        std::fs::write(&zip, bytes).expect("write");
        let err = lms_scorm::unpack::unpack(&zip, &dir.path().join("out"), Limits::default()).expect_err(what);
        assert!(matches!(err, ScormError::SizeMismatch { .. }), "{what}: unexpected {err:?}");
    }
}

// Regression: a size mismatch found while streaming used to stop the unpack with `imsmanifest.xml` already
// written into the destination.
#[test]
fn a_streaming_failure_leaves_no_partial_output() {
    for (what, bytes) in [
        ("declared smaller", streamed_liar(declared_smaller)),
        ("declared larger", streamed_liar(declared_larger)),
        ("bad checksum", streamed_liar(checksum_broken)),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let zip = dir.path().join("liar.zip");
        std::fs::write(&zip, &bytes).expect("write");

        // A destination that does not exist yet, and one whose parents do not either: neither may appear.
        let err = lms_scorm::unpack::unpack(&zip, &dir.path().join("out"), Limits::default()).expect_err(what);
        assert!(streaming_error(&err), "{what}: unexpected {err:?}");
        let err = lms_scorm::unpack::unpack(&zip, &dir.path().join("x/y/out"), Limits::default()).expect_err(what);
        assert!(streaming_error(&err), "{what}: unexpected {err:?}");
        assert_eq!(listing(dir.path()), ["liar.zip"], "{what}: no target, no parents, no partial folder");

        // An existing empty destination stays, empty.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        let err = lms_scorm::unpack::unpack(&zip, &empty, Limits::default()).expect_err(what);
        assert!(streaming_error(&err), "{what}: unexpected {err:?}");
        assert!(listing(&empty).is_empty(), "{what}: {:?}", listing(&empty));
        assert_eq!(listing(dir.path()), ["empty", "liar.zip"], "{what}: no partial folder");
    }
}

#[test]
fn a_full_destination_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("p.zip");
    std::fs::write(&zip, plain(&[])).expect("write");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("a.html"), "mine").expect("write");
    let err = lms_scorm::unpack::unpack(&zip, &out, Limits::default()).expect_err("full destination");
    assert!(matches!(err, ScormError::DestinationNotEmpty { .. }), "unexpected {err:?}");
    assert_eq!(listing(&out), ["a.html"]);
    assert_eq!(std::fs::read_to_string(out.join("a.html")).expect("read"), "mine");
    assert_eq!(listing(dir.path()), ["out", "p.zip"], "no partial folder");
    // The same package extracts fine elsewhere, and only the finished folder appears.
    let fresh = dir.path().join("fresh");
    lms_scorm::unpack::unpack(&zip, &fresh, Limits::default()).expect("unpack");
    assert_eq!(listing(&fresh), ["a.html", "imsmanifest.xml"]);
    assert_eq!(listing(dir.path()), ["fresh", "out", "p.zip"]);
}

#[test]
fn billion_laughs_and_deep_nesting_are_refused_in_the_manifest() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><manifest>&lol2;</manifest>"#;
    let r = validate_package_bytes("x.zip", plain_with_manifest(laughs), &Options::default());
    assert!(
        r.findings.iter().any(|f| f.rule == "manifest-well-formed" && f.message.contains("DOCTYPE")),
        "{:?}",
        r.findings
    );
    let deep = format!("<manifest>{}{}</manifest>", "<x>".repeat(10_000), "</x>".repeat(10_000));
    let r = validate_package_bytes("x.zip", plain_with_manifest(&deep), &Options::default());
    assert!(
        r.findings.iter().any(|f| f.rule == "manifest-well-formed" && f.message.contains("depth")),
        "{:?}",
        r.findings
    );
}

#[test]
fn utf16_manifest_is_accepted() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in MANIFEST.encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let zip = zip_with(&[("imsmanifest.xml", &bytes), ("a.html", b"<html/>")], SimpleFileOptions::default());
    let r = validate_package_bytes("x.zip", zip, &Options::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.findings);
}

fn plain_with_manifest(manifest: &str) -> Vec<u8> {
    zip_with(&[("imsmanifest.xml", manifest.as_bytes()), ("a.html", b"<html/>")], SimpleFileOptions::default())
}

/// The package with `count` more central-directory records that all point at the local header of `name`
/// (each named `aliasNNNN.bin`), as a zip-bomb maker writes them; the end record is fixed up to match.
fn with_aliases(bytes: Vec<u8>, name: &str, count: usize) -> Vec<u8> {
    let eocd = bytes.windows(4).rposition(|w| w == [0x50, 0x4b, 0x05, 0x06]).expect("end record");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let (entries, cd_size, cd_start) = (u16_at(eocd + 10), u32_at(eocd + 12), u32_at(eocd + 16));
    // Find the central record of `name`.
    let mut at = cd_start;
    let record = loop {
        let length = 46 + u16_at(at + 28) + u16_at(at + 30) + u16_at(at + 32);
        if &bytes[at + 46..at + 46 + u16_at(at + 28)] == name.as_bytes() {
            break bytes[at..at + length].to_vec();
        }
        at += length;
    };
    let mut aliases = Vec::new();
    for n in 0..count {
        let alias = format!("alias{n:04}.bin");
        let mut copy = record[..46].to_vec();
        copy[28..30].copy_from_slice(&(alias.len() as u16).to_le_bytes());
        copy[30..34].copy_from_slice(&[0, 0, 0, 0]); // no extra field, no comment
        copy.extend_from_slice(alias.as_bytes());
        aliases.extend_from_slice(&copy);
    }
    let mut out = bytes[..cd_start + cd_size].to_vec();
    out.extend_from_slice(&aliases);
    let mut end = bytes[eocd..].to_vec();
    let total = (entries + count) as u16;
    end[8..10].copy_from_slice(&total.to_le_bytes());
    end[10..12].copy_from_slice(&total.to_le_bytes());
    end[12..16].copy_from_slice(&((cd_size + aliases.len()) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

#[test]
fn entries_that_share_their_compressed_bytes_are_refused() {
    // One deflated MiB listed 500 times: 500 MiB from a few KB, every entry under the per-entry ratio floor.
    let zeros = vec![0u8; 1 << 20];
    let bytes = with_aliases(plain(&[("one.bin", &zeros)]), "one.bin", 500);
    assert_refused(bytes, Limits::default(), &reason(UnsafeReason::Overlapping));
}

#[test]
fn the_compression_ratio_of_the_whole_package_is_limited() {
    // Many entries of zeros, each no larger than the size the per-entry ratio check starts at.
    let zeros = vec![0u8; 64 << 10];
    let names: Vec<String> = (0..40).map(|i| format!("z{i:02}.bin")).collect();
    let extra: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), zeros.as_slice())).collect();
    let limits = Limits { ratio_floor: 64 << 10, ..Limits::default() };
    assert_refused(plain(&extra), limits, &limit(LimitKind::PackageCompressionRatio));
}

#[test]
fn a_name_that_is_both_a_file_and_a_folder_is_refused() {
    // Either order: the file first, or the folder's content first.
    assert_refused(
        plain(&[("media", b"x"), ("media/clip.mp4", b"y")]),
        Limits::default(),
        &reason(UnsafeReason::FileFolderClash),
    );
    assert_refused(
        plain(&[("media/clip.mp4", b"y"), ("media", b"x")]),
        Limits::default(),
        &reason(UnsafeReason::FileFolderClash),
    );
}

/// The package with the central-directory record of `name` removed (its local header and data stay where they
/// are): the entry is hidden from readers that use the directory, and seen by those that walk local headers.
fn hide_entry(bytes: Vec<u8>, name: &str) -> Vec<u8> {
    let eocd = bytes.windows(4).rposition(|w| w == [0x50, 0x4b, 0x05, 0x06]).expect("end record");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let (entries, cd_size, cd_start) = (u16_at(eocd + 10), u32_at(eocd + 12), u32_at(eocd + 16));
    let mut at = cd_start;
    let (start, length) = loop {
        let length = 46 + u16_at(at + 28) + u16_at(at + 30) + u16_at(at + 32);
        if &bytes[at + 46..at + 46 + u16_at(at + 28)] == name.as_bytes() {
            break (at, length);
        }
        at += length;
    };
    let mut out = [&bytes[..start], &bytes[start + length..eocd]].concat();
    let mut end = bytes[eocd..].to_vec();
    end[8..10].copy_from_slice(&((entries - 1) as u16).to_le_bytes());
    end[10..12].copy_from_slice(&((entries - 1) as u16).to_le_bytes());
    end[12..16].copy_from_slice(&((cd_size - length) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

#[test]
fn an_entry_the_central_directory_hides_is_an_error_in_the_strict_profile() {
    let entries: Vec<(&str, &[u8])> = vec![
        ("imsmanifest.xml", MANIFEST.as_bytes()),
        ("evil.txt", b"what an in-order reader extracts"),
        ("a.html", b"<html/>"),
    ];
    let clean = zip_with(&entries, SimpleFileOptions::default());
    let report = validate_package_bytes("clean.zip", clean.clone(), &Options::default());
    assert!(report.findings.iter().all(|f| f.rule != "archive-layout"), "{:?}", report.findings);

    let hidden = hide_entry(clean, "evil.txt");
    let report = validate_package_bytes("hidden.zip", hidden.clone(), &Options::default());
    let layout: Vec<_> = report.findings.iter().filter(|f| f.rule == "archive-layout").collect();
    assert_eq!(layout.len(), 1, "{:?}", report.findings);
    assert!(layout[0].message.contains("belong to no entry"), "{:?}", layout[0]);
    assert_eq!(report.verdict, Verdict::Fail);
    // In the compat profile (what LMSs tolerate) it is a warning: they read through the central directory.
    let compat = Options { profile: lms_scorm::Profile::Compat, ..Options::default() };
    let report = validate_package_bytes("hidden.zip", hidden, &compat);
    let layout: Vec<_> = report.findings.iter().filter(|f| f.rule == "archive-layout").collect();
    assert_eq!(layout.len(), 1);
    assert_eq!(layout[0].severity, lms_scorm::Severity::Warning);
}
