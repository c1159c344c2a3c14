//! The proof a person would ask for: hls.js in headless Chromium plays a ladder we made, every rung and
//! every subtitle track, to the end. `tests/browser/play.mjs` is the player; `scripts/browser-deps`
//! installs its npm packages (scripts/test runs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::{committed_fixture, fixture, lms_media, run_with_limit};

/// Runs the player on a ladder folder and returns its verdict, failing on a harness error.
fn play(ladder: &Path) -> Value {
    let player = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser/play.mjs");
    let mut play = Command::new("node");
    play.arg(&player).arg(ladder).args(["--timeout-seconds", "120"]);
    let played = run_with_limit(&mut play, Duration::from_secs(150));
    let verdict: Value = serde_json::from_slice(&played.stdout).unwrap_or_else(|error| {
        panic!("the player printed no verdict ({error}): {}", String::from_utf8_lossy(&played.stderr))
    });
    assert_ne!(played.status.code(), Some(2), "the player could not run: {}", verdict["harnessError"]);
    verdict
}

fn transcode(source: &str, out: &Path, extra: &[&str]) {
    let mut transcode = lms_media();
    transcode.arg("transcode").arg(fixture(source)).arg("-o").arg(out).args(["--preset", "superfast"]).args(extra);
    let made = run_with_limit(&mut transcode, Duration::from_secs(300));
    assert!(made.status.success(), "{source}: {}", String::from_utf8_lossy(&made.stderr));
}

#[test]
fn hls_js_plays_portrait_silent_and_variable_rate_sources() {
    for source in ["portrait-rotated.mp4", "no-audio-1080p.mp4", "vfr.mp4"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("ladder");
        transcode(source, &out, &["--rungs", "720,480"]);
        let verdict = play(&out);
        assert_eq!(verdict["ok"], true, "{source}: {}", verdict["reasons"]);
        let played = verdict["levels"].as_array().map(|levels| levels.iter().filter(|l| l["played"] == true).count());
        assert_eq!(played, Some(2), "{source}: {}", verdict["levels"]);
    }
}

#[test]
fn hls_js_plays_every_rung_and_subtitle_track_of_a_lecture_to_the_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("lecture");
    let en = format!("en={}", committed_fixture("subtitles/lecture.en.srt").display());
    let fr = format!("fr={}", committed_fixture("subtitles/lecture.fr.srt").display());
    let mut transcode = lms_media();
    transcode.arg("transcode").arg(fixture("lecture-slides-1080p30.mp4")).arg("-o").arg(&out).args([
        "--preset",
        "superfast",
        "--subs",
        &en,
        "--subs",
        &fr,
    ]);
    let made = run_with_limit(&mut transcode, Duration::from_secs(300));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));

    let player = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser/play.mjs");
    let mut play = Command::new("node");
    play.arg(&player).arg(&out).args(["--timeout-seconds", "120"]);
    let played = run_with_limit(&mut play, Duration::from_secs(150));
    let verdict: Value = serde_json::from_slice(&played.stdout).unwrap_or_else(|error| {
        panic!("the player printed no verdict ({error}): {}", String::from_utf8_lossy(&played.stderr))
    });
    assert_ne!(played.status.code(), Some(2), "the player could not run: {}", verdict["harnessError"]);
    assert_eq!(verdict["ok"], true, "reasons: {}", verdict["reasons"]);
    assert_eq!(verdict["ended"], true);
    assert_eq!(verdict["fatalErrors"].as_array().map(Vec::len), Some(0), "{}", verdict["fatalErrors"]);
    let levels = verdict["levels"].as_array().expect("levels");
    let heights: Vec<u64> = levels.iter().filter_map(|level| level["height"].as_u64()).collect();
    assert_eq!(heights.len(), 3, "{heights:?}");
    for height in [480, 720, 1080] {
        assert!(heights.contains(&height), "{heights:?}");
    }
    assert!(levels.iter().all(|level| level["played"] == true), "{levels:?}");
    let tracks = verdict["subtitleTracks"].as_array().expect("subtitle tracks");
    let named: Vec<(&str, &str)> =
        tracks.iter().map(|t| (t["lang"].as_str().unwrap_or(""), t["name"].as_str().unwrap_or(""))).collect();
    assert_eq!(named, [("en", "English"), ("fr", "Français")]);
    assert!(tracks.iter().all(|track| track["cuesSeen"].as_u64().is_some_and(|n| n > 0)), "{tracks:?}");
}
