//! `lms-media transcode`: real sources become valid ladders; bad input and dying encodes leave nothing
//! that looks finished.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::util::{committed_fixture, fixture, lms_media, run_with_limit};

const LIMIT: Duration = Duration::from_secs(300);

/// Transcodes `input` into `out` with a fast preset and JSON events; returns the output and the events.
fn transcode(input: &Path, out: &Path, extra: &[&str]) -> (Output, Vec<Value>) {
    let mut command = lms_media();
    command.arg("transcode").arg(input).arg("-o").arg(out).args(["--preset", "superfast", "--json"]).args(extra);
    let output = run_with_limit(&mut command, LIMIT);
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
        .collect();
    (output, events)
}

fn finished(name: &str, out: &Path, extra: &[&str]) -> Value {
    let (output, events) = transcode(&fixture(name), out, extra);
    assert_eq!(output.status.code(), Some(0), "{name}: {}\n{events:?}", String::from_utf8_lossy(&output.stderr));
    let last = events.last().expect("events").clone();
    assert_eq!(last["event"], "finished", "{last}");
    assert!(events.iter().any(|event| event["event"] == "probed"), "no probed event");
    assert!(events.iter().any(|event| event["event"] == "progress"), "no progress event");
    assert_no_leftovers(out);
    last["summary"].clone()
}

/// Nothing hidden beside the ladder: no build folder, no replaced old ladder.
fn assert_no_leftovers(out: &Path) {
    let parent = out.parent().expect("parent");
    let hidden: Vec<PathBuf> = std::fs::read_dir(parent)
        .expect("parent lists")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
}

fn validate(out: &Path) {
    let output = run_with_limit(lms_media().args(["hls", "validate"]).arg(out), LIMIT);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
}

/// A track's init segment followed by all its media segments, in one file, as a player reads them.
/// The file is removed when the returned guard drops.
fn joined_track(track: &Path) -> tempfile::TempPath {
    let mut bytes = std::fs::read(track.join("init.mp4")).expect("init segment");
    let mut segments: Vec<PathBuf> = std::fs::read_dir(track)
        .expect("track lists")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "m4s"))
        .collect();
    segments.sort();
    for segment in segments {
        bytes.extend(std::fs::read(segment).expect("segment"));
    }
    let joined = tempfile::Builder::new().suffix(".mp4").tempfile().expect("temp file").into_temp_path();
    std::fs::write(&joined, bytes).expect("joined written");
    joined
}

/// ffprobe of a whole track.
fn ffprobe_track(track: &Path, entries: &[&str]) -> String {
    let joined = joined_track(track);
    let output = Command::new("ffprobe").args(["-v", "error", "-of", "csv=p=0"]).args(entries).arg(&joined).output();
    String::from_utf8_lossy(&output.expect("ffprobe runs").stdout).trim().to_owned()
}

/// Loudest level (dB) of a track's sound between `from` and `to` seconds, by FFmpeg's volumedetect.
fn max_volume(track: &Path, from: f64, to: f64) -> f64 {
    let joined = joined_track(track);
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-ss", &from.to_string(), "-t", &(to - from).to_string(), "-i"])
        .arg(&joined)
        .args(["-af", "volumedetect", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&output.stderr);
    log.lines()
        .find_map(|line| line.split("max_volume: ").nth(1))
        .and_then(|rest| rest.trim_end_matches(" dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no max_volume in: {log}"))
}

fn variants(summary: &Value) -> Vec<(String, u64, u64)> {
    summary["ladder"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|variant| {
            let resolution = &variant["resolution"];
            (
                variant["name"].as_str().expect("name").to_owned(),
                resolution[0].as_u64().expect("width"),
                resolution[1].as_u64().expect("height"),
            )
        })
        .collect()
}

fn frame_rates(summary: &Value) -> Vec<f64> {
    summary["ladder"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .filter_map(|v| v["frame_rate"].as_f64())
        .collect()
}

#[test]
fn slide_lecture_with_two_languages_becomes_a_valid_ladder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("lecture");
    let en = committed_fixture("subtitles/lecture.en.srt");
    let fr = committed_fixture("subtitles/lecture.fr.srt");
    let en = format!("en={}", en.display());
    let fr = format!("fr={}", fr.display());
    let summary = finished("lecture-slides-1080p30.mp4", &out, &["--subs", &en, "--subs", &fr]);
    validate(&out);
    assert_eq!(
        variants(&summary),
        [("1080p".into(), 1920, 1080), ("720p".into(), 1280, 720), ("480p".into(), 854, 480)]
    );
    for variant in summary["ladder"]["variants"].as_array().expect("variants") {
        assert!(variant["codecs"].as_str().is_some_and(|c| c.starts_with("avc1.64") && c.ends_with(",mp4a.40.2")));
    }
    assert_eq!(
        ffprobe_track(&out.join("1080p"), &["-show_entries", "stream=codec_name,profile,pix_fmt"]),
        "h264,High,yuv420p"
    );
    assert_eq!(
        ffprobe_track(&out.join("audio"), &["-show_entries", "stream=codec_name,profile,sample_rate,channels"]),
        "aac,LC,48000,2"
    );
    let master = std::fs::read_to_string(out.join("master.m3u8")).expect("master");
    assert!(master.contains("LANGUAGE=\"en\",NAME=\"English\",DEFAULT=YES"), "{master}");
    assert!(master.contains("LANGUAGE=\"fr\",NAME=\"Français\""), "{master}");
    // The cue from 3.2 s to 5.6 s crosses the 4-second boundary: both segments carry it.
    for segment in ["seg_00000.vtt", "seg_00001.vtt"] {
        let text = std::fs::read_to_string(out.join("subtitles/en").join(segment)).expect("vtt segment");
        assert!(text.starts_with("WEBVTT\nX-TIMESTAMP-MAP="), "{text}");
        assert!(text.contains("00:00:03.200 --> 00:00:05.600"), "{segment}: {text}");
    }
}

#[test]
fn subtitles_with_a_bom_and_crlf_are_published() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    let subs = format!("en={}", committed_fixture("subtitles/bom-crlf.en.srt").display());
    finished("lecture-slides-1080p30.mp4", &out, &["--rungs", "480", "--subs", &subs]);
    let text = std::fs::read_to_string(out.join("subtitles/en/seg_00001.vtt")).expect("vtt segment");
    assert!(text.contains("Été — UTF-8 survives."), "{text}");
    assert!(!text.contains('\r') && !text.contains('\u{feff}'), "{text:?}");
}

#[test]
fn windows_1252_and_utf16_subtitles_are_read_in_their_encoding() {
    let dir = tempfile::tempdir().expect("temp dir");
    // "Café crème" saved by a Western Windows tool (Windows-1252), and the same text as UTF-16 with its mark.
    let cp1252 = dir.path().join("lecture.fr.srt");
    std::fs::write(&cp1252, b"1\r\n00:00:00,500 --> 00:00:05,000\r\nCaf\xe9 cr\xe8me, d\xe9j\xe0 vu\r\n").unwrap();
    let utf16 = dir.path().join("lecture.de.srt");
    let text = "1\r\n00:00:00,500 --> 00:00:05,000\r\nGrüße aus Köln\r\n";
    let bytes: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(&utf16, bytes).unwrap();
    let out = dir.path().join("ladder");
    let summary = finished(
        "small-360p.mp4",
        &out,
        &["--subs", &format!("fr={}", cp1252.display()), "--subs", &format!("de={}", utf16.display())],
    );
    let french = std::fs::read_to_string(out.join("subtitles/fr/seg_00000.vtt")).expect("vtt segment");
    assert!(french.contains("Café crème, déjà vu"), "{french}");
    let german = std::fs::read_to_string(out.join("subtitles/de/seg_00000.vtt")).expect("vtt segment");
    assert!(german.contains("Grüße aus Köln"), "{german}");
    // The guess is said, so that the person who gave the file can check it; the marked file needs none.
    let notes = summary["ladder"]["subtitle_notes"].to_string();
    assert!(notes.contains("fr") && notes.contains("windows-1252"), "{notes}");
    assert!(!notes.contains("de:"), "{notes}");
}

#[test]
fn frame_rates_are_kept_and_variable_rate_becomes_constant() {
    for (name, rate) in [
        ("fps-23.976.mp4", 23.976),
        ("fps-25.mp4", 25.0),
        ("fps-29.97.mp4", 29.97),
        ("fps-50.mp4", 50.0),
        ("fps-60.mp4", 60.0),
        ("vfr.mp4", 30.0),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary = finished(name, &dir.path().join("ladder"), &["--rungs", "480"]);
        for measured in frame_rates(&summary) {
            assert!((measured - rate).abs() < 0.01, "{name}: {measured} fps, expected {rate}");
        }
    }
}

#[test]
fn shapes_are_kept_portrait_odd_and_four_by_three() {
    for (name, expected) in [
        ("portrait-rotated.mp4", vec![("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854)]),
        ("odd-size-1918x1078.mp4", vec![("1078p", 1918, 1078), ("720p", 1282, 720), ("480p", 854, 480)]),
        ("four-by-three-1440x1080.mp4", vec![("1080p", 1440, 1080), ("720p", 960, 720), ("480p", 640, 480)]),
        ("small-360p.mp4", vec![("360p", 640, 360)]),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary = finished(name, &dir.path().join("ladder"), &[]);
        let expected: Vec<(String, u64, u64)> = expected.into_iter().map(|(n, w, h)| (n.to_owned(), w, h)).collect();
        assert_eq!(variants(&summary), expected, "{name}");
    }
}

#[test]
fn interlaced_source_is_deinterlaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    finished("interlaced-1080i25.mp4", &out, &["--rungs", "720"]);
    let scan = ffprobe_track(&out.join("720p"), &["-show_entries", "stream=field_order"]);
    assert_eq!(scan, "progressive");
}

#[test]
fn source_without_sound_gets_a_ladder_without_an_audio_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    let summary = finished("no-audio-1080p.mp4", &out, &["--rungs", "480"]);
    assert!(!out.join("audio").exists());
    let master = std::fs::read_to_string(out.join("master.m3u8")).expect("master");
    assert!(!master.contains("TYPE=AUDIO") && !master.contains("AUDIO=\""), "{master}");
    assert!(summary["ladder"]["variants"][0]["codecs"].as_str().is_some_and(|c| !c.contains("mp4a")));
}

#[test]
fn surround_sound_is_downmixed_to_stereo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    finished("surround-5.1.mp4", &out, &["--rungs", "480"]);
    assert_eq!(ffprobe_track(&out.join("audio"), &["-show_entries", "stream=channels,channel_layout"]), "2,stereo");
    assert!(max_volume(&out.join("audio"), 1.0, 2.0) > -40.0, "the downmix lost the sound");
}

#[test]
fn late_sound_is_preceded_by_silence_and_stays_in_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    finished("late-audio.mp4", &out, &["--rungs", "480"]);
    // The tone starts 1.5 s into the source: silence before, sound after.
    assert!(max_volume(&out.join("audio"), 0.0, 1.3) < -60.0, "sound before 1.5 s");
    assert!(max_volume(&out.join("audio"), 1.7, 2.5) > -40.0, "no sound after 1.5 s");
}

#[test]
fn sound_stored_ahead_of_the_picture_stays_in_sync() {
    // Each file holds the sound 10 s ahead of the picture; the tone starts 3 s into the programme. MPEG-TS
    // also needs the probe to read past FFmpeg's default 5 s to find the picture's size.
    for name in ["audio-ahead.mkv", "audio-ahead.ts"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("ladder");
        finished(name, &out, &["--rungs", "360"]);
        assert!(max_volume(&out.join("audio"), 0.0, 2.8) < -60.0, "{name}: sound before 3 s");
        assert!(max_volume(&out.join("audio"), 3.2, 4.0) > -20.0, "{name}: no sound after 3 s");
        let seconds: f64 =
            ffprobe_track(&out.join("audio"), &["-show_entries", "format=duration"]).parse().expect("duration");
        assert!((seconds - 12.0).abs() < 0.1, "{name}: audio lasts {seconds} s");
        validate(&out);
    }
}

#[test]
fn short_sound_is_padded_to_the_length_of_the_picture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    finished("short-audio.mp4", &out, &["--rungs", "480"]);
    let audio = ffprobe_track(&out.join("audio"), &["-show_entries", "format=duration"]);
    let seconds: f64 = audio.parse().expect("duration");
    assert!((seconds - 6.0).abs() < 0.1, "audio lasts {seconds} s");
    assert!(max_volume(&out.join("audio"), 3.0, 5.5) < -60.0, "the padding is not silent");
}

#[test]
fn refused_input_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    let (output, events) = transcode(&committed_fixture("hostile/notes.mp4"), &out, &[]);
    assert_eq!(output.status.code(), Some(1));
    let last = events.last().expect("an event");
    assert_eq!((last["event"].as_str(), last["code"].as_str()), (Some("failed"), Some("not-media")), "{last}");
    assert!(!out.exists());
    assert_no_leftovers(&out);
}

#[test]
fn malformed_subtitles_are_refused_with_their_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    let subs = format!("en={}", committed_fixture("subtitles/malformed.srt").display());
    let (output, events) = transcode(&fixture("small-360p.mp4"), &out, &["--subs", &subs]);
    assert_eq!(output.status.code(), Some(1));
    let message = events.last().and_then(|event| event["message"].as_str()).unwrap_or_default().to_owned();
    assert!(message.contains("malformed.srt") && message.contains("line 6"), "{message}");
    assert!(!out.exists());
    assert_no_leftovers(&out);
}

#[test]
fn a_second_run_replaces_the_ladder_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    finished("small-360p.mp4", &out, &[]);
    std::fs::write(out.join("stale-marker"), b"from the first run").expect("marker");
    finished("small-360p.mp4", &out, &[]);
    assert!(!out.join("stale-marker").exists(), "the old ladder was not replaced");
    validate(&out);
}

#[test]
fn an_encode_past_its_time_limit_is_stopped_and_cleaned_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    let (output, events) = transcode(&fixture("camera-1080p30.mp4"), &out, &["--time-limit", "1"]);
    assert_eq!(output.status.code(), Some(2), "{events:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("time limit"), "{stderr}");
    assert!(!out.exists());
    assert_no_leftovers(&out);
}

#[test]
fn a_crashing_encode_fails_alone_and_is_cleaned_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    let mut command = lms_media();
    command
        .env("LMS_MEDIA_CHILD_FAULT", "abort-while-encoding")
        .arg("transcode")
        .arg(fixture("lecture-slides-1080p30.mp4"))
        .arg("-o")
        .arg(&out);
    let output = run_with_limit(&mut command, LIMIT);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ended without a result") && stderr.contains("signal"), "{stderr}");
    assert!(!out.exists());
    assert_no_leftovers(&out);
}

/// Regression: sound led the picture by the x264 B-frame delay (45–62 ms), and the last frame was dropped.
#[test]
fn sound_and_picture_start_together_and_no_frame_is_lost() {
    for name in ["fps-23.976.mp4", "lecture-slides-1080p30.mp4"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("ladder");
        finished(name, &out, &["--rungs", "480"]);
        let start = |track: &str| -> f64 {
            ffprobe_track(&out.join(track), &["-show_entries", "stream=start_time"]).parse().expect("start time")
        };
        // The first AAC frame is encoder priming: the sound itself starts one frame (1024 samples) later.
        let sound = start("audio") + 1024.0 / 48_000.0;
        let picture = start("480p");
        assert!((sound - picture).abs() < 0.005, "{name}: sound starts at {sound:.4} s, picture at {picture:.4} s");
        let count = |path: &Path| -> u64 {
            let output = Command::new("ffprobe")
                .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
                .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
                .arg(path)
                .output()
                .expect("ffprobe runs");
            String::from_utf8_lossy(&output.stdout).trim().parse().expect("frame count")
        };
        let joined = joined_track(&out.join("480p"));
        assert_eq!(count(&joined), count(&fixture(name)), "{name}: frames lost");
    }
}

/// Regression: one damaged stretch in the middle of a recording failed the whole transcode as an internal
/// FFmpeg fault (exit 2). A few bad packets are skipped, as players do, and the ladder is still valid.
#[test]
fn damage_in_the_middle_of_a_recording_is_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ladder");
    finished("corrupt-middle.mp4", &out, &["--rungs", "480"]);
    validate(&out);
}

#[test]
fn an_output_folder_that_is_not_a_ladder_is_left_alone_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let thesis = dir.path().join("thesis");
    std::fs::create_dir(&thesis).unwrap();
    std::fs::write(thesis.join("chapter-1.tex"), "years of work").unwrap();
    let (output, _) = transcode(&fixture("small-360p.mp4"), &thesis, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no ladder") && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(thesis.join("chapter-1.tex")).unwrap(), "years of work");
    // A file is not replaced either.
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "notes").unwrap();
    let (output, _) = transcode(&fixture("small-360p.mp4"), &file, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "notes");
    // An earlier ladder is replaced as before; with --force, so is the folder.
    finished("small-360p.mp4", &dir.path().join("ladder"), &[]);
    finished("small-360p.mp4", &dir.path().join("ladder"), &[]);
    finished("small-360p.mp4", &thesis, &["--force"]);
    assert!(thesis.join("master.m3u8").is_file() && !thesis.join("chapter-1.tex").exists());
}

#[test]
fn the_build_folder_of_a_transcode_that_ends_during_a_rerun_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ladder");
    // A killed transcode whose process is still exiting when the rerun starts (here: still sleeping).
    let mut exiting = std::process::Command::new("sleep").arg("0.3").spawn().unwrap();
    let stale = dir.path().join(format!(".ladder.partial-{}", exiting.id()));
    std::fs::create_dir_all(stale.join("720p")).unwrap();
    std::fs::write(stale.join("720p/seg_00000.m4s"), vec![0u8; 4096]).unwrap();
    let reaper = std::thread::spawn(move || exiting.wait());
    // The rerun takes longer than that process has left; when it ends, the folder's owner is gone.
    finished("lecture-slides-1080p30.mp4", &out, &["--rungs", "480"]);
    reaper.join().unwrap().unwrap();
    assert!(!stale.exists(), "the build folder of a process that is gone was left");
}

/// A small tmpfs mounted for one test (the tests run as root on the test machine, as scripts/setup does),
/// unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("a folder to mount on");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status();
        assert!(status.is_ok_and(|status| status.success()), "mounting a {size} tmpfs at {} needs root", dir.display());
        SmallDisk(dir.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_reported_as_such_not_as_a_damaged_source() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("small"), "300k");
    let (output, events) = transcode(&fixture("lecture-slides-1080p30.mp4"), &disk.0.join("ladder"), &[]);
    // The run could not write its output: exit 2, with the full disk as the cause and its own code.
    assert_eq!(output.status.code(), Some(2), "{events:?}");
    let failed = events.last().cloned().unwrap_or_default();
    assert_eq!(failed["code"], "disk-full", "{failed}");
    assert_eq!(failed["rejection"], false);
    assert!(failed["message"].as_str().unwrap_or_default().contains("No space left on device"), "{failed}");
    // Nothing is left on the small disk.
    assert_eq!(std::fs::read_dir(&disk.0).unwrap().count(), 0);
}
