//! The validator against real segments: a small ladder made at test time by the `ffmpeg` CLI's own HLS muxer.
//!
//! 1. FFmpeg 5.1's playlists break the contract in known ways; the validator must report exactly those, so
//!    we know it catches real defects (and does not cry wolf on the rest).
//! 2. The same fMP4 segments with playlists written by *our* writer from *measured* segments, and WebVTT
//!    segmented by us, must pass with no finding at all.
//!
//! The tests need the `ffmpeg` binary. Without it they fail, unless `LMS_SKIP_FFMPEG_TESTS=1` says to skip
//! (for a machine that cannot have it); a silent skip would hide a missing install step in CI.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use lms_packager::measure::MeasuredTrack;
use lms_packager::playlist::{AudioRendition, MasterSpec, SubtitleRendition, VideoVariant, to_text};
use lms_packager::subtitles::{self, SegmentSpan, SubtitleFormat, segment_webvtt};
use lms_packager::validate::{Severity, validate_path};

const SRT: &str = "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:03,000 --> 00:00:05,000\nThis cue spans the boundary\n\n3\n00:00:06,000 --> 00:00:07,000\n<i>Bye</i>\n";

fn ffmpeg_ready() -> bool {
    let found = Command::new("ffmpeg").arg("-version").output().is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("LMS_SKIP_FFMPEG_TESTS").is_some(),
            "the ffmpeg CLI is needed (apt-get install ffmpeg), or set LMS_SKIP_FFMPEG_TESTS=1 to skip"
        );
        eprintln!("skipped: no ffmpeg");
    }
    found
}

/// An 8 s, two-rung ladder (640x360, 426x240) + AAC audio group, 4 s fMP4 segments, IDR every 2 s, from
/// FFmpeg's hls muxer. With `subtitles`, the SRT goes through FFmpeg's WebVTT segmenter too.
fn ffmpeg_ladder(dir: &Path, subtitles: bool) {
    std::fs::write(dir.join("en.srt"), SRT).unwrap();
    let mut args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25:duration=8",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=8",
    ]
    .map(String::from)
    .to_vec();
    if subtitles {
        args.extend(["-i".into(), dir.join("en.srt").display().to_string()]);
    }
    args.extend(
        [
            "-map",
            "0:v",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-force_key_frames",
            "expr:gte(t,n_forced*2)",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-sc_threshold",
            "0",
            "-filter:v:0",
            "scale=640:360",
            "-filter:v:1",
            "scale=426:240",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ac",
            "2",
            "-ar",
            "48000",
        ]
        .map(String::from),
    );
    let stream_map = if subtitles {
        args.extend(["-map", "2:s", "-c:s", "webvtt"].map(String::from));
        "v:0,s:0,agroup:aud,sgroup:subs,name:360p v:1,agroup:aud,name:240p a:0,agroup:aud,name:audio"
    } else {
        "v:0,agroup:aud,name:360p v:1,agroup:aud,name:240p a:0,agroup:aud,name:audio"
    };
    args.extend(
        [
            "-f",
            "hls",
            "-hls_segment_type",
            "fmp4",
            "-hls_time",
            "4",
            "-hls_playlist_type",
            "vod",
            "-master_pl_name",
            "master.m3u8",
            "-var_stream_map",
            stream_map,
            "-hls_segment_filename",
        ]
        .map(String::from),
    );
    args.push(dir.join("%v/seg_%03d.m4s").display().to_string());
    args.push(dir.join("%v/index.m3u8").display().to_string());
    let output = Command::new("ffmpeg").args(&args).output().unwrap();
    assert!(output.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn ffmpeg_hls_muxer_breaks_the_contract_in_known_ways() {
    if !ffmpeg_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    ffmpeg_ladder(dir.path(), true);
    let validation = validate_path(dir.path()).unwrap();
    let report = lms_packager::report::human(&validation);
    eprintln!("{report}");
    let found: BTreeSet<&str> = validation.findings.iter().map(|f| f.rule).collect();
    let expected: BTreeSet<&str> = [
        "HLS003", // no EXT-X-INDEPENDENT-SEGMENTS
        "HLS004", // no AVERAGE-BANDWIDTH
        "HLS005", // no FRAME-RATE
        "HLS008", // no CLOSED-CAPTIONS=NONE
        "HLS009", // BANDWIDTH from settings (only the audio's 128k + 10 %), not measured
        "HLS010", // so both rungs declare the same BANDWIDTH: a flat ladder
        "HLS011", // the subtitle rendition has no LANGUAGE
        "HLS012", // the subtitle playlist has no PLAYLIST-TYPE:VOD
        "HLS021", // no I-frame playlists
        "HLS022", // WebVTT segments without X-TIMESTAMP-MAP
        "HLS023", // the cue across the 4 s boundary is not repeated
    ]
    .into();
    assert_eq!(found, expected, "{report}");
    assert!(!validation.passed());

    // The details a reader of the report relies on.
    let messages =
        |rule: &str| validation.of_rule(rule).map(|f| format!("{}: {}", f.location, f.message)).collect::<Vec<_>>();
    assert_eq!(messages("HLS004").len(), 3, "{report}");
    assert_eq!(messages("HLS005").len(), 2, "both video rungs, not the audio-only variant: {report}");
    assert!(
        messages("HLS009").iter().any(|m| m.contains("360p/index.m3u8") && m.contains("BANDWIDTH is 140800")),
        "{report}"
    );
    assert!(messages("HLS023").iter().any(|m| m.contains("00:00:03.") && m.contains("segment 1")), "{report}");
    assert_eq!(messages("HLS021").len(), 2, "{report}");
    assert!(validation.findings.iter().filter(|f| f.rule == "HLS008").all(|f| f.severity == Severity::Warning));
}

/// FFmpeg's fMP4 segments with our playlists and our WebVTT (English and French); returns the master text.
fn our_ladder(root: &Path) -> String {
    ffmpeg_ladder(root, false);
    // Throw FFmpeg's playlists away: only its fMP4 segments are kept.
    for playlist in ["master.m3u8", "360p/index.m3u8", "240p/index.m3u8", "audio/index.m3u8"] {
        std::fs::remove_file(root.join(playlist)).unwrap();
    }
    let measure = |rendition: &str| {
        let folder = root.join(rendition);
        let init_name = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|name| name.starts_with("init"))
            .unwrap();
        let init = std::fs::read(folder.join(&init_name)).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".m4s"))
            .collect();
        names.sort();
        let segments: Vec<(String, Vec<u8>)> =
            names.into_iter().map(|name| (name.clone(), std::fs::read(folder.join(&name)).unwrap())).collect();
        MeasuredTrack::measure(&init_name, &init, segments.iter().map(|(n, b)| (n.clone(), &b[..]))).unwrap()
    };
    let (high, low, audio) = (measure("360p"), measure("240p"), measure("audio"));
    assert_eq!(high.codec().as_deref().map(|c| &c[..6]), Some("avc1.6"), "High profile");
    assert!(high.segments.iter().all(|s| s.measure.starts_with_idr));

    // Subtitles in two languages, cut on the video's own segment boundaries.
    let spans =
        SegmentSpan::from_durations(&high.durations().iter().map(|d| (d * 1000.0).round() as u64).collect::<Vec<_>>());
    let first = &high.segments[0].measure;
    let mpegts = (u128::from(first.start) * 90_000 / u128::from(high.info.timescale)) as u64;
    let cues = subtitles::parse(SRT, SubtitleFormat::Srt).unwrap();
    let mut subtitle_renditions = Vec::new();
    for (language, name, default) in [("en", "English", true), ("fr", "Français", false)] {
        let folder = root.join(format!("subs_{language}"));
        std::fs::create_dir_all(&folder).unwrap();
        let mut segments = Vec::new();
        for (index, segment) in segment_webvtt(&cues, &spans).iter().enumerate() {
            let uri = format!("{index}.vtt");
            std::fs::write(folder.join(&uri), segment.to_webvtt(mpegts)).unwrap();
            segments.push((uri, segment.span.seconds()));
        }
        subtitle_renditions.push(SubtitleRendition {
            uri: format!("subs_{language}/index.m3u8"),
            name: name.into(),
            language: language.into(),
            default,
            segments,
        });
    }

    let spec = MasterSpec {
        video: vec![
            VideoVariant { uri: "240p/index.m3u8".into(), iframe_uri: Some("240p/iframes.m3u8".into()), track: &low },
            VideoVariant { uri: "360p/index.m3u8".into(), iframe_uri: Some("360p/iframes.m3u8".into()), track: &high },
        ],
        audio: vec![AudioRendition {
            uri: "audio/index.m3u8".into(),
            name: "English".into(),
            language: Some("en".into()),
            default: true,
            track: &audio,
        }],
        subtitles: subtitle_renditions,
    };
    let playlists = spec.playlists().unwrap();
    let master_text = to_text(|w| playlists.master.write_to(w));
    std::fs::write(root.join("master.m3u8"), &master_text).unwrap();
    for (uri, media) in &playlists.media {
        std::fs::write(root.join(uri), to_text(|w| media.write_to(w))).unwrap();
    }

    master_text
}

#[test]
fn our_playlists_over_ffmpeg_segments_pass_every_rule() {
    if !ffmpeg_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let master_text = our_ladder(dir.path());
    let validation = validate_path(&dir.path().join("master.m3u8")).unwrap();
    let report = lms_packager::report::human(&validation);
    assert!(validation.findings.is_empty(), "{master_text}\n{report}");
    // Highest rung first, whatever order the spec gave.
    let first_variant = master_text.lines().find(|l| l.starts_with("#EXT-X-STREAM-INF")).unwrap();
    assert!(first_variant.contains("RESOLUTION=640x360"), "{master_text}");
    assert!(master_text.contains("#EXT-X-I-FRAME-STREAM-INF"), "{master_text}");
}

/// Copies a ladder folder (one level of sub-folders is all a ladder has).
fn copy_ladder(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_ladder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`:\n{text}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// One defect at a time in a valid ladder: each must be reported by its own rule, and only by it.
#[test]
fn each_defect_is_reported_by_its_rule() {
    if !ffmpeg_ready() {
        return;
    }
    let good = tempfile::tempdir().unwrap();
    let master_text = our_ladder(good.path());
    let bandwidth: u64 = master_text
        .lines()
        .find(|l| l.starts_with("#EXT-X-STREAM-INF"))
        .and_then(|l| l.split("BANDWIDTH=").nth(1))
        .and_then(|v| v.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("HLS001", Box::new(|root: &Path| std::fs::remove_file(root.join("240p/seg_001.m4s")).unwrap())),
        ("HLS003", Box::new(|root: &Path| edit(&root.join("master.m3u8"), "#EXT-X-INDEPENDENT-SEGMENTS\n", ""))),
        (
            "HLS009",
            Box::new(move |root: &Path| {
                let inflated = format!("BANDWIDTH={}", bandwidth * 13 / 10);
                edit(&root.join("master.m3u8"), &format!("BANDWIDTH={bandwidth}"), &inflated)
            }),
        ),
        (
            "HLS011",
            Box::new(|root: &Path| {
                edit(&root.join("master.m3u8"), "NAME=\"Français\"", "NAME=\"Français\",DEFAULT=YES")
            }),
        ),
        ("HLS012", Box::new(|root: &Path| edit(&root.join("audio/index.m3u8"), "#EXT-X-ENDLIST\n", ""))),
        ("HLS015", Box::new(|root: &Path| edit(&root.join("360p/index.m3u8"), "#EXTINF:4,", "#EXTINF:3.5,"))),
        (
            "HLS022",
            Box::new(|root: &Path| {
                edit(&root.join("subs_fr/1.vtt"), "X-TIMESTAMP-MAP=MPEGTS:", "X-TIMESTAMP-MAP=MPEGTS:9000000")
            }),
        ),
        (
            "HLS023",
            Box::new(|root: &Path| {
                let path = root.join("subs_en/1.vtt");
                let text = std::fs::read_to_string(&path).unwrap();
                let cut = text.find("\n00:00:03.000").unwrap();
                let rest = &text[cut + 1..];
                let next = rest.find("\n\n").map(|i| cut + 1 + i + 1).unwrap_or(text.len());
                std::fs::write(&path, format!("{}{}", &text[..cut + 1], &text[next..])).unwrap();
            }),
        ),
        (
            "HLS021",
            Box::new(|root: &Path| {
                // The first I-frame entry no longer starts at a moof (nor reaches the IDR's end).
                let path = root.join("240p/iframes.m3u8");
                let text = std::fs::read_to_string(&path).unwrap();
                let line = text.lines().find(|l| l.starts_with("#EXT-X-BYTERANGE:")).unwrap().to_owned();
                edit(&path, &line, "#EXT-X-BYTERANGE:100@1")
            }),
        ),
    ];
    for (rule, tamper) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_ladder(good.path(), dir.path());
        tamper(dir.path());
        let validation = validate_path(dir.path()).unwrap();
        let report = lms_packager::report::human(&validation);
        let rules: BTreeSet<&str> = validation.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, BTreeSet::from([rule]), "tampering for {rule}:\n{report}");
        assert!(!validation.passed());
    }
}
