//! Benchmark: validating a 2-hour ladder (1080p/720p/480p + AAC, 4 s segments: 1800 segments per rendition,
//! 7200 files, I-frame playlists) must take less than 2 s.
//!
//! The segments are generated, not encoded for two hours: FFmpeg encodes 8 s (two segments) per rendition,
//! and we copy the pair 900 times with the `tfdt` of each copy moved on by 8 s, so every file is distinct and
//! the timeline is continuous. A pair, because 4 s of 48 kHz AAC is 187.5 frames: the audio segments
//! alternate 188 and 187 frames to stay on the video boundaries, as a real packager's do. Our writer then
//! measures them and writes the playlists, and the validator runs over the result with the page cache warm
//! (as right after packaging). Reading the segments is most of the time: the validator reads every byte.
//!
//! Run: `cargo bench -p lms-packager --bench validate_two_hours` (needs the `ffmpeg` CLI).

#![allow(clippy::unwrap_used)] // A benchmark that cannot set up should stop loudly.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use lms_packager::measure::MeasuredTrack;
use lms_packager::mp4::{boxes, find_box};
use lms_packager::playlist::{AudioRendition, MasterSpec, VideoVariant, to_text};

const SEGMENTS: usize = 1800;
const RENDITIONS: [&str; 4] = ["1080p", "720p", "480p", "audio"];

fn template(dir: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=25:duration=8"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8"])
        .args(["-map", "0:v", "-map", "0:v", "-map", "0:v", "-map", "1:a"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-g", "50", "-sc_threshold", "0"])
        .args(["-force_key_frames", "expr:gte(t,n_forced*2)"])
        .args(["-filter:v:1", "scale=1280:720", "-filter:v:2", "scale=854:480", "-c:a", "aac", "-ac", "2"])
        .args(["-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "4", "-master_pl_name", "master.m3u8"])
        .args(["-var_stream_map", "v:0,name:1080p v:1,name:720p v:2,name:480p a:0,name:audio"])
        .arg("-hls_segment_filename")
        .arg(dir.join("%v/seg_%05d.m4s"))
        .arg(dir.join("%v/index.m3u8"))
        .status()
        .expect("the ffmpeg CLI is installed");
    assert!(status.success());
}

/// Offset of the `baseMediaDecodeTime` field and the `tfdt` version in a one-fragment segment.
fn tfdt_field(segment: &[u8]) -> (usize, u8) {
    let moof = find_box(segment, 0, b"moof").unwrap().unwrap();
    let traf = find_box(moof.payload, moof.payload_offset, b"traf").unwrap().unwrap();
    let tfdt = boxes(traf.payload, traf.payload_offset).map(Result::unwrap).find(|b| &b.fourcc == b"tfdt").unwrap();
    (tfdt.payload_offset as usize + 4, tfdt.payload[0])
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and a 1 GB
    // benchmark has no place in a test run.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("validate_two_hours: skipped (run it with cargo bench)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    template(root);
    let started = Instant::now();
    for rendition in RENDITIONS {
        let folder = root.join(rendition);
        std::fs::remove_file(folder.join("index.m3u8")).unwrap();
        let pair = [
            std::fs::read(folder.join("seg_00000.m4s")).unwrap(),
            std::fs::read(folder.join("seg_00001.m4s")).unwrap(),
        ];
        let init_name = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("init"))
            .unwrap();
        let init = std::fs::read(folder.join(&init_name)).unwrap();
        let track = MeasuredTrack::measure(
            &init_name,
            &init,
            [("seg_00000.m4s".to_owned(), &pair[0][..]), ("seg_00001.m4s".to_owned(), &pair[1][..])],
        )
        .unwrap();
        // Copy k is a copy of template k % 2, moved on by k / 2 pairs.
        let step = track.segments[0].measure.duration + track.segments[1].measure.duration;
        // Anything FFmpeg wrote past the pair (an audio tail) is not part of the generated ladder.
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "m4s") && path.file_name().is_some_and(|n| n > "seg_00001.m4s") {
                std::fs::remove_file(path).unwrap();
            }
        }
        for index in 2..SEGMENTS {
            let template = &pair[index % 2];
            let (field, version) = tfdt_field(template);
            let mut copy = template.clone();
            let time = track.segments[index % 2].measure.start + step * (index / 2) as u64;
            if version == 1 {
                copy[field..field + 8].copy_from_slice(&time.to_be_bytes());
            } else {
                copy[field..field + 4].copy_from_slice(&(time as u32).to_be_bytes());
            }
            std::fs::write(folder.join(format!("seg_{index:05}.m4s")), copy).unwrap();
        }
        std::fs::rename(folder.join(&init_name), folder.join("init.mp4")).unwrap();
    }
    let generated = started.elapsed();

    let started = Instant::now();
    let measure = |rendition: &str| {
        let folder = root.join(rendition);
        let init = std::fs::read(folder.join("init.mp4")).unwrap();
        let files: Vec<(String, Vec<u8>)> = (0..SEGMENTS)
            .map(|i| {
                let name = format!("seg_{i:05}.m4s");
                let bytes = std::fs::read(folder.join(&name)).unwrap();
                (name, bytes)
            })
            .collect();
        MeasuredTrack::measure("init.mp4", &init, files.iter().map(|(n, b)| (n.clone(), &b[..]))).unwrap()
    };
    let tracks: Vec<MeasuredTrack> = RENDITIONS.iter().map(|r| measure(r)).collect();
    let spec = MasterSpec {
        video: tracks[..3]
            .iter()
            .zip(RENDITIONS)
            .map(|(track, name)| VideoVariant {
                uri: format!("{name}/index.m3u8"),
                iframe_uri: Some(format!("{name}/iframes.m3u8")),
                track,
            })
            .collect(),
        audio: vec![AudioRendition {
            uri: "audio/index.m3u8".into(),
            name: "English".into(),
            language: Some("en".into()),
            default: true,
            track: &tracks[3],
        }],
        subtitles: Vec::new(),
    };
    let playlists = spec.playlists().unwrap();
    std::fs::write(root.join("master.m3u8"), to_text(|w| playlists.master.write_to(w))).unwrap();
    for (uri, media) in &playlists.media {
        std::fs::write(root.join(uri), to_text(|w| media.write_to(w))).unwrap();
    }
    let packaged = started.elapsed();

    let bytes: u64 = tracks.iter().flat_map(|t| t.segments.iter().map(|s| s.measure.bytes)).sum();
    let started = Instant::now();
    let validation = lms_packager::validate_path(root).unwrap();
    let validated = started.elapsed();
    print!("{}", lms_packager::report::human(&validation));
    println!(
        "2-hour ladder: {} files, {:.0} MB; generated in {generated:.2?}, measured + playlists written in \
         {packaged:.2?}, validated in {validated:.2?}",
        SEGMENTS * RENDITIONS.len(),
        bytes as f64 / 1e6
    );
    assert!(validation.passed(), "the generated ladder must be valid");
    assert!(validated.as_secs_f64() < 2.0, "validation took {validated:.2?}, the budget is 2 s");
}
