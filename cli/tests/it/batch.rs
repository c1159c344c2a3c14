//! `lms-media batch`: a folder of lectures, one bad file among them, and reruns that skip and redo.

use std::path::Path;
use std::time::Duration;

use crate::util::{committed_fixture, fixture, lms_media, run_with_limit};

fn batch(input: &Path, out: &Path) -> (Option<i32>, String) {
    let mut command = lms_media();
    command.arg("batch").arg(input).arg("-o").arg(out).args(["-j", "2", "--preset", "superfast", "--rungs", "480"]);
    let output = run_with_limit(&mut command, Duration::from_secs(300));
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

fn status_of<'t>(table: &'t str, file: &str) -> &'t str {
    table
        .lines()
        .find(|line| line.contains(file))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("{file} not in table:\n{table}"))
}

#[test]
fn a_folder_is_converted_one_failure_does_not_stop_it_and_reruns_skip_or_redo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("lectures");
    let out = dir.path().join("ladders");
    std::fs::create_dir_all(input.join("week1")).expect("folders");
    std::fs::copy(fixture("small-360p.mp4"), input.join("intro.mp4")).expect("copy");
    std::fs::copy(fixture("fps-25.mp4"), input.join("week1/lecture.mp4")).expect("copy");
    std::fs::copy(committed_fixture("subtitles/lecture.en.srt"), input.join("week1/lecture.en.srt")).expect("copy");
    std::fs::copy(committed_fixture("hostile/notes.mp4"), input.join("week1/notes.mp4")).expect("copy");

    let (code, table) = batch(&input, &out);
    assert_eq!(code, Some(1), "{table}");
    assert_eq!(status_of(&table, "intro.mp4"), "done");
    assert_eq!(status_of(&table, "lecture.mp4"), "done");
    assert_eq!(status_of(&table, "notes.mp4"), "failed");
    assert!(table.contains("not-media"), "{table}");
    let master = std::fs::read_to_string(out.join("week1/lecture/master.m3u8")).expect("lecture ladder");
    assert!(master.contains("LANGUAGE=\"en\""), "subtitles not matched by name: {master}");
    assert!(out.join("intro/master.m3u8").is_file());

    let (code, table) = batch(&input, &out);
    assert_eq!(code, Some(1));
    assert_eq!(status_of(&table, "intro.mp4"), "skipped");
    assert_eq!(status_of(&table, "lecture.mp4"), "skipped");

    // A ladder that lost a segment is no longer complete: the next run redoes it.
    std::fs::remove_file(out.join("week1/lecture/480p/seg_00001.m4s")).expect("segment removed");
    std::fs::remove_file(input.join("week1/notes.mp4")).expect("bad file removed");
    let (code, table) = batch(&input, &out);
    assert_eq!(code, Some(0), "{table}");
    assert_eq!(status_of(&table, "intro.mp4"), "skipped");
    assert_eq!(status_of(&table, "lecture.mp4"), "done");
    assert!(out.join("week1/lecture/480p/seg_00001.m4s").is_file());
}
