//! `lms-media hls validate`: exit 0 on a ladder whose playlists we wrote, 1 on FFmpeg's own playlists, 2 when
//! there is nothing to validate; the three report formats. Ladders are made at test time by the `ffmpeg` CLI.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use lms_packager::measure::MeasuredTrack;
use lms_packager::playlist::{AudioRendition, MasterSpec, VideoVariant, to_text};

use crate::util::{lms_media, run_with_limit};

const LIMIT: Duration = Duration::from_secs(60);

/// An 8 s ladder of two rungs and an audio group from FFmpeg's hls muxer, with FFmpeg's playlists.
fn ffmpeg_ladder(dir: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=8"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8"])
        .args(["-map", "0:v", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast"])
        .args(["-force_key_frames", "expr:gte(t,n_forced*2)", "-g", "50", "-sc_threshold", "0"])
        .args(["-filter:v:0", "scale=640:360", "-filter:v:1", "scale=426:240", "-c:a", "aac", "-ac", "2"])
        .args(["-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "4", "-hls_playlist_type", "vod"])
        .args(["-master_pl_name", "master.m3u8"])
        .args(["-var_stream_map", "v:0,agroup:aud,name:360p v:1,agroup:aud,name:240p a:0,agroup:aud,name:audio"])
        .arg("-hls_segment_filename")
        .arg(dir.join("%v/seg_%03d.m4s"))
        .arg(dir.join("%v/index.m3u8"))
        .status()
        .expect("the ffmpeg CLI is installed");
    assert!(status.success());
}

/// Replaces FFmpeg's playlists with ours, written from the measured segments.
fn rewrite_playlists(dir: &Path) {
    let measure = |name: &str| {
        let folder = dir.join(name);
        let mut files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let init = files.iter().find(|f| f.starts_with("init")).unwrap().clone();
        let segments: Vec<(String, Vec<u8>)> = files
            .iter()
            .filter(|f| f.ends_with(".m4s"))
            .map(|f| (f.clone(), std::fs::read(folder.join(f)).unwrap()))
            .collect();
        let init_bytes = std::fs::read(folder.join(&init)).unwrap();
        MeasuredTrack::measure(&init, &init_bytes, segments.iter().map(|(n, b)| (n.clone(), &b[..]))).unwrap()
    };
    let (high, low, audio) = (measure("360p"), measure("240p"), measure("audio"));
    let spec = MasterSpec {
        video: vec![
            VideoVariant { uri: "360p/index.m3u8".into(), iframe_uri: Some("360p/iframes.m3u8".into()), track: &high },
            VideoVariant { uri: "240p/index.m3u8".into(), iframe_uri: Some("240p/iframes.m3u8".into()), track: &low },
        ],
        audio: vec![AudioRendition {
            uri: "audio/index.m3u8".into(),
            name: "English".into(),
            language: Some("en".into()),
            default: true,
            track: &audio,
        }],
        subtitles: Vec::new(),
    };
    let playlists = spec.playlists().unwrap();
    std::fs::write(dir.join("master.m3u8"), to_text(|w| playlists.master.write_to(w))).unwrap();
    for (uri, media) in &playlists.media {
        std::fs::write(dir.join(uri), to_text(|w| media.write_to(w))).unwrap();
    }
}

fn validate(target: &Path, format: &str) -> Output {
    run_with_limit(lms_media().args(["hls", "validate", "--format", format]).arg(target), LIMIT)
}

#[test]
fn ffmpeg_playlists_fail_with_exit_1_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    ffmpeg_ladder(dir.path());

    let human = validate(dir.path(), "human");
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1), "{text}");
    assert!(text.contains("error[HLS004 average-bandwidth]"), "{text}");
    assert!(text.contains("INVALID"), "{text}");

    let json = validate(&dir.path().join("master.m3u8"), "json");
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["passed"], false);
    let rules: Vec<&str> = value["findings"].as_array().unwrap().iter().filter_map(|f| f["rule"].as_str()).collect();
    for expected in ["HLS003", "HLS004", "HLS005", "HLS009", "HLS010", "HLS021"] {
        assert!(rules.contains(&expected), "{expected} missing from {rules:?}");
    }

    let junit = validate(dir.path(), "junit");
    assert_eq!(junit.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<failure type=\"HLS003\""), "{xml}");
}

#[test]
fn our_playlists_pass_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    ffmpeg_ladder(dir.path());
    rewrite_playlists(dir.path());
    let output = validate(dir.path(), "human");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("valid, 0 errors, 0 warnings"), "{text}");
}

#[test]
fn nothing_to_validate_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = validate(dir.path(), "human");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("master.m3u8"), "{stderr}");

    let not_a_playlist = dir.path().join("notes.txt");
    std::fs::write(&not_a_playlist, "hello").unwrap();
    let output = validate(&not_a_playlist, "json");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("#EXTM3U"));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

#[test]
fn rules_lists_every_rule() {
    let output = run_with_limit(lms_media().args(["hls", "rules"]), LIMIT);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.lines().filter(|l| l.starts_with("| HLS")).count(), lms_packager::validate::RULES.len());
}
