//! `lms-media probe`: accepted sources report their streams and ladder; hostile ones are refused with a
//! clear reason, without a panic, a network connection or a read of any other file.

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::util::{committed_fixture, fixture, lms_media, run_with_limit};

const LIMIT: Duration = Duration::from_secs(60);

fn probe_json(path: &Path) -> (Output, Value) {
    let output = run_with_limit(lms_media().arg("probe").arg("--json").arg(path), LIMIT);
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("probe printed no JSON ({error}): {}", String::from_utf8_lossy(&output.stderr)));
    (output, json)
}

fn accepted(name: &str) -> Value {
    let (output, json) = probe_json(&fixture(name));
    assert_eq!(output.status.code(), Some(0), "{name} was refused: {json}");
    json
}

fn refused(path: &Path, code: &str) -> Value {
    let (output, json) = probe_json(path);
    assert_eq!(output.status.code(), Some(1), "{} was not refused: {json}", path.display());
    assert_eq!(json["error"]["code"], code, "{json}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    json
}

fn ladder(json: &Value) -> Vec<(u64, u64)> {
    json["ladder"]["rungs"]
        .as_array()
        .expect("rungs")
        .iter()
        .map(|rung| (rung["width"].as_u64().expect("width"), rung["height"].as_u64().expect("height")))
        .collect()
}

fn main_video(json: &Value) -> &Value {
    let index = json["main_video_stream"].as_u64().expect("main video stream") as usize;
    &json["streams"][index]
}

#[test]
fn slide_lecture_gets_the_full_ladder() {
    let json = accepted("lecture-slides-1080p30.mp4");
    assert_eq!(json["container"], "mov,mp4,m4a,3gp,3g2,mj2");
    assert!((json["duration_seconds"].as_f64().expect("duration") - 12.0).abs() < 0.1, "{json}");
    let video = main_video(&json);
    assert_eq!((video["kind"].as_str(), video["codec"].as_str()), (Some("video"), Some("h264")));
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(1920), Some(1080)));
    assert_eq!(video["frame_rate_fraction"], "30/1");
    assert_eq!(video["scan"], "progressive");
    let audio = &json["streams"][json["main_audio_stream"].as_u64().expect("audio") as usize];
    assert_eq!((audio["codec"].as_str(), audio["channels"].as_u64()), (Some("aac"), Some(1)));
    assert_eq!((audio["layout"].as_str(), audio["sample_rate"].as_u64()), (Some("mono"), Some(44100)));
    assert_eq!(ladder(&json), vec![(1920, 1080), (1280, 720), (854, 480)]);
}

#[test]
fn sources_get_ladders_never_above_themselves() {
    for (name, expected) in [
        ("camera-1080p30.mp4", vec![(1920, 1080), (1280, 720), (854, 480)]),
        ("source-720p.mp4", vec![(1280, 720), (854, 480)]),
        ("source-720p.ts", vec![(1280, 720), (854, 480)]),
        ("four-by-three-1440x1080.mp4", vec![(1440, 1080), (960, 720), (640, 480)]),
        ("odd-size-1918x1078.mp4", vec![(1918, 1078), (1282, 720), (854, 480)]),
        ("small-360p.mp4", vec![(640, 360)]),
        ("mkv-vp9.mkv", vec![(640, 360)]),
        ("no-audio-1080p.mp4", vec![(1920, 1080), (1280, 720), (854, 480)]),
    ] {
        assert_eq!(ladder(&accepted(name)), expected, "{name}");
    }
}

#[test]
fn frame_rates_are_exact_fractions() {
    for (name, fraction) in [("fps-25.mp4", "25/1"), ("fps-29.97.mp4", "30000/1001")] {
        assert_eq!(main_video(&accepted(name))["frame_rate_fraction"], fraction, "{name}");
    }
}

#[test]
fn source_without_audio_has_no_audio_stream() {
    let json = accepted("no-audio-1080p.mp4");
    assert!(json["main_audio_stream"].is_null(), "{json}");
    assert_eq!(json["streams"].as_array().map(Vec::len), Some(1));
}

#[test]
fn interlaced_source_is_reported_top_field_first() {
    assert_eq!(main_video(&accepted("interlaced-1080i25.mp4"))["scan"], "interlaced-tff");
}

#[test]
fn rotated_phone_clip_gets_a_portrait_ladder_and_ffprobes_rotation() {
    let path = fixture("portrait-rotated.mp4");
    let json = accepted("portrait-rotated.mp4");
    // FFmpeg's own reading, for comparison: ffprobe prints the counter-clockwise angle of the display matrix.
    let ffprobe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream_side_data=rotation", "-of", "csv=p=0"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let counter_clockwise: i64 = String::from_utf8_lossy(&ffprobe.stdout).trim().parse().expect("ffprobe rotation");
    let clockwise = (-counter_clockwise).rem_euclid(360) as u64;
    assert_eq!(main_video(&json)["rotation"].as_u64(), Some(clockwise));
    assert_eq!(ladder(&json), vec![(1080, 1920), (720, 1280), (480, 854)]);
}

#[test]
fn human_output_names_streams_and_ladder() {
    let output = run_with_limit(lms_media().arg("probe").arg(fixture("source-720p.mp4")), LIMIT);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("video h264 1280×720"), "{text}");
    assert!(text.contains("audio aac 48000 Hz, 2 channels (stereo)"), "{text}");
    assert!(text.contains("ladder     720p 1280×720, 480p 854×480"), "{text}");
}

#[test]
fn text_file_named_mp4_is_not_media() {
    let json = refused(&committed_fixture("hostile/notes.mp4"), "not-media");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("text")), "{json}");
}

#[test]
fn audio_only_file_has_no_video() {
    refused(&fixture("audio-only.m4a"), "no-video");
}

#[test]
fn oversized_picture_is_refused_before_decoding() {
    let json = refused(&fixture("huge-16384x16384.mp4"), "picture-too-large");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("16384×16384")), "{json}");
}

#[test]
fn pictures_that_cannot_make_a_ladder_are_refused_at_the_probe() {
    // Pixels 100 times as wide as high would plan a 32000×240 rung that crashes x264.
    let json = refused(&fixture("sar-100-to-1.mp4"), "unusable-picture");
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("100:1") && message.contains("32000×240"), "{json}");
    // A 2×2 picture would plan an empty ladder and fail later.
    let json = refused(&fixture("tiny-2x2.mp4"), "unusable-picture");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("2×2")), "{json}");
    // A video track with no frames would fail in the packager.
    let json = refused(&fixture("no-frames.mkv"), "unusable-picture");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("holds no frames")), "{json}");
}

#[test]
fn hundreds_of_streams_are_refused() {
    let json = refused(&fixture("many-streams.mkv"), "too-many-streams");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("300 streams")), "{json}");
}

#[test]
fn truncated_mp4_is_reported_damaged() {
    refused(&fixture("truncated.mp4"), "damaged");
}

#[test]
fn committed_playlist_pointing_at_etc_passwd_is_refused() {
    let json = refused(&committed_fixture("hostile/playlist-etc-passwd.mp4"), "reference-file");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("HLS playlist")), "{json}");
}

/// The canaries: a listening socket that must see no connection, and a FIFO that would block any reader
/// forever (the run limit turns that into a failure), both named by a playlist disguised as an MP4.
#[test]
fn playlist_named_mp4_touches_neither_network_nor_other_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let canary = TcpListener::bind("127.0.0.1:0").expect("canary socket");
    canary.set_nonblocking(true).expect("non-blocking canary");
    let port = canary.local_addr().expect("canary address").port();
    let fifo = dir.path().join("canary.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    for (name, first_line) in [("bare.mp4", "#EXTM3U"), ("bom.mp4", "\u{feff}#EXTM3U"), ("spaced.mp4", "\n  #EXTM3U")] {
        let playlist = dir.path().join(name);
        let body = format!(
            "{first_line}\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nhttp://127.0.0.1:{port}/segment0.ts\n\
             #EXTINF:4.0,\nfile://{}\n#EXTINF:4.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
            fifo.display()
        );
        std::fs::write(&playlist, body).expect("playlist written");
        refused(&playlist, "reference-file");
        match canary.accept() {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("probing {name} connected to the canary socket: {other:?}"),
        }
    }
}

#[test]
fn fifo_given_as_input_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("input.mp4");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs").success());
    refused(&fifo, "not-a-file");
}

#[test]
fn missing_file_is_an_error_not_a_refusal() {
    let output = run_with_limit(lms_media().args(["probe", "/nonexistent/lecture.mp4"]), LIMIT);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/lecture.mp4") && stderr.contains("No such file"), "{stderr}");
}
