//! `hls validate` stays inside the ladder's folder: a master or playlist whose URIs climb out with `..`, name
//! an absolute path, or pass through a symlink that leads outside gets an HLS001 error, and nothing outside
//! the folder is read (so no message can quote it).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use lms_packager::validate_path;

const SECRET: &str = "root:x:0:0:the-secret-line";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A media playlist whose only segment is `segment`.
fn media_playlist(segment: &str) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.0,\n{segment}\n#EXT-X-ENDLIST\n"
    )
}

fn master(variant: &str) -> String {
    format!("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=16x16\n{variant}\n")
}

#[test]
fn uris_that_leave_the_folder_are_errors_and_nothing_outside_is_read() {
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    // Files outside the ladder that, if read, would show up in a parse error.
    write(&outside.join("index.m3u8"), &format!("#EXTM3U\n{SECRET}\n"));
    write(&outside.join("secret.m4s"), SECRET);
    let absolute = outside.join("index.m3u8");
    let cases = [
        ("climbs out", master("../outside/index.m3u8"), None),
        ("absolute", master(&absolute.display().to_string()), None),
        ("segment climbs out", master("720p/index.m3u8"), Some(media_playlist("../../outside/secret.m4s"))),
    ];
    for (case, master_text, variant) in cases {
        let ladder = root.path().join(format!("ladder-{}", case.replace(' ', "-")));
        write(&ladder.join("master.m3u8"), &master_text);
        if let Some(variant) = variant {
            write(&ladder.join("720p/index.m3u8"), &variant);
            write(&ladder.join("720p/init.mp4"), "");
        }
        let validation = validate_path(&ladder).unwrap();
        let escapes: Vec<_> =
            validation.of_rule("HLS001").filter(|finding| finding.message.contains("outside")).collect();
        assert!(!escapes.is_empty(), "{case}: {:#?}", validation.findings);
        assert!(!validation.passed(), "{case}");
        for finding in &validation.findings {
            assert!(!finding.message.contains("root:x"), "{case}: quoted a file outside: {finding:?}");
            assert!(!finding.location.contains("root:x"), "{case}: {finding:?}");
        }
    }

    // A symlink inside the folder that leads outside it is not followed.
    let ladder = root.path().join("ladder-symlink");
    write(&ladder.join("master.m3u8"), &master("720p/index.m3u8"));
    std::fs::create_dir_all(&ladder).unwrap();
    std::os::unix::fs::symlink(&outside, ladder.join("720p")).unwrap();
    let validation = validate_path(&ladder).unwrap();
    assert!(
        validation.of_rule("HLS001").any(|finding| finding.message.contains("outside")),
        "{:#?}",
        validation.findings
    );
    assert!(validation.findings.iter().all(|finding| !finding.message.contains("root:x")));
}
