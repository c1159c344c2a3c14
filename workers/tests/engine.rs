//! The FFmpeg engine on real fixtures: segments exist, start with IDRs at the same instants in every rung,
//! and FFmpeg's own tools read them back with the expected codecs and sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

use lms_packager::Ladder;
use lms_workers::engine::{CancelFlag, EncodeRequest, EncodeSettings, EncodedLadder, Engine};
use lms_workers::{FfmpegEngine, InputPolicy, probe};

fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("LMS_MEDIA_FIXTURES").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/lms-media/fixtures")
    });
    let path = dir.join(name);
    assert!(path.is_file(), "fixture {} is missing: run scripts/fixtures first", path.display());
    path
}

fn encode(name: &str, out: &Path) -> EncodedLadder {
    let source = fixture(name);
    let report = probe(&source, &InputPolicy::default()).expect("fixture accepted");
    let request = EncodeRequest {
        source,
        ladder: report.ladder.clone(),
        probe: report,
        output_dir: out.to_owned(),
        settings: EncodeSettings { x264_preset: "superfast".into(), ..EncodeSettings::default() },
        cancel: CancelFlag::default(),
    };
    FfmpegEngine.encode(&request, &mut |_| {}).expect("encode succeeds")
}

/// ffprobe of a segment, read with its init segment in front (as a player does).
fn ffprobe_segment(init: &Path, segment: &Path, entries: &str) -> String {
    let joined = segment.with_extension("joined.mp4");
    let mut bytes = std::fs::read(init).expect("init segment");
    bytes.extend(std::fs::read(segment).expect("media segment"));
    std::fs::write(&joined, bytes).expect("joined file");
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "csv=p=0"])
        .args(entries.split(' '))
        .arg(&joined)
        .output()
        .expect("ffprobe runs");
    std::fs::remove_file(&joined).expect("joined file removed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn ladder_sizes(ladder: &Ladder) -> Vec<(u32, u32)> {
    ladder.rungs.iter().map(|rung| (rung.width, rung.height)).collect()
}

#[test]
fn slide_lecture_becomes_three_rungs_and_one_audio_track_of_aligned_segments() {
    let out = tempfile::tempdir().expect("temp dir");
    let encoded = encode("lecture-slides-1080p30.mp4", out.path());
    assert_eq!(encoded.video.len(), 3);
    let audio = encoded.audio.as_ref().expect("audio track");
    // 12 s at 4 s per segment.
    for (rung, track) in &encoded.video {
        assert_eq!(track.segments.len(), 3, "{}: {:?}", rung.name, track.segments);
        assert!(track.init.is_file());
        let first = ffprobe_segment(
            &track.init,
            &track.segments[0],
            "-select_streams v:0 -show_entries stream=codec_name,profile,width,height,pix_fmt",
        );
        assert_eq!(first.trim(), format!("h264,High,{},{},yuv420p", rung.width, rung.height), "{}", rung.name);
    }
    assert_eq!(audio.segments.len(), 3, "{:?}", audio.segments);
    let sound = ffprobe_segment(
        &audio.init,
        &audio.segments[0],
        "-show_entries stream=codec_name,profile,sample_rate,channels",
    );
    assert_eq!(sound.trim(), "aac,LC,48000,2");
    assert_eq!(
        ladder_sizes(&Ladder { rungs: encoded.video.iter().map(|(rung, _)| rung.clone()).collect() }),
        vec![(1920, 1080), (1280, 720), (854, 480)]
    );
}

#[test]
fn every_segment_of_every_rung_starts_with_a_keyframe_at_the_same_time() {
    let out = tempfile::tempdir().expect("temp dir");
    let encoded = encode("fps-29.97.mp4", out.path());
    let mut starts_per_rung = Vec::new();
    for (rung, track) in &encoded.video {
        let mut starts = Vec::new();
        for segment in &track.segments {
            let first = ffprobe_segment(
                &track.init,
                segment,
                "-select_streams v:0 -read_intervals %+#1 -show_entries frame=pict_type,key_frame,pts_time",
            );
            let line = first.lines().next().unwrap_or_default().to_owned();
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(
                fields.first(),
                Some(&"1"),
                "{} {}: first frame is not a keyframe: {line}",
                rung.name,
                segment.display()
            );
            starts.push(fields.get(1).map(|s| s.to_string()).unwrap_or_default());
        }
        starts_per_rung.push(starts);
    }
    assert!(starts_per_rung.windows(2).all(|pair| pair[0] == pair[1]), "{starts_per_rung:?}");
}

/// A source whose sound is stored 10 s ahead of its picture: the sound is read through its own demuxer no
/// further than a second past the picture, so only about that much waits in memory (it was all 10 s, and an
/// hour's preload would have been 1.4 GB of decoded sound).
#[test]
fn sound_stored_ahead_of_the_picture_waits_only_as_long_as_the_read_ahead() {
    for name in ["audio-ahead.mkv", "small-360p.mp4"] {
        let out = tempfile::tempdir().expect("temp dir");
        let encoded = encode(name, out.path());
        let audio = encoded.audio.as_ref().expect("audio track");
        assert!(!audio.segments.is_empty());
        assert!(
            encoded.audio_buffered_peak < std::time::Duration::from_millis(1500),
            "{name}: {:?} of sound waited for the picture",
            encoded.audio_buffered_peak
        );
    }
}
