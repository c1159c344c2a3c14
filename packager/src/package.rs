//! Packaging: from the segments an engine wrote to a complete ladder with every playlist.
//!
//! An engine leaves one folder per track (`1080p/`, `720p/`, `audio/`), each with `init.mp4` and numbered
//! `.m4s` segments. [`package_ladder`] measures every segment (one at a time, so a two-hour ladder needs no
//! more memory than its largest segment), cuts the subtitles into WebVTT segments on the video's own
//! boundaries, and writes the media playlists first and `master.m3u8` last: a folder with a master is a
//! folder whose every playlist is in place.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{PackagerError, Result};
use crate::measure::{MeasuredSegment, MeasuredTrack, measure_segment};
use crate::mp4::init::InitSegment;
use crate::playlist::write::{AudioRendition, MasterSpec, SubtitleRendition, VideoVariant};
use crate::subtitles::{self, SegmentSpan, SubtitleFormat};

/// The name of the master playlist in a ladder folder.
pub const MASTER_PLAYLIST: &str = "master.m3u8";

/// One track as an engine wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFiles {
    /// The track's folder name inside the ladder folder (`1080p`, `audio`); it becomes part of its URIs.
    pub name: String,
    /// The init segment.
    pub init: PathBuf,
    /// The media segments, in playback order; they sit in the same folder as the init segment.
    pub segments: Vec<PathBuf>,
}

/// A subtitle file to publish as one rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleSource {
    /// RFC 5646 language tag (`en`, `fr-CA`).
    pub language: String,
    /// The name shown to the learner (`English`).
    pub name: String,
    /// The SRT or WebVTT file.
    pub path: PathBuf,
}

/// Everything to package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderFiles {
    /// The ladder folder; every track folder is inside it.
    pub root: PathBuf,
    /// The video rungs, best first.
    pub video: Vec<TrackFiles>,
    /// The audio track, when there is sound.
    pub audio: Option<TrackFiles>,
    /// Subtitle renditions; the first is the default.
    pub subtitles: Vec<SubtitleSource>,
}

/// What a rung turned out to be, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackagedVariant {
    /// The track's folder name.
    pub name: String,
    /// Width and height of the picture.
    pub resolution: Option<(u64, u64)>,
    /// BANDWIDTH: peak segment bitrate of the video plus the audio's peak, bits per second.
    pub bandwidth: u64,
    /// AVERAGE-BANDWIDTH, bits per second.
    pub average_bandwidth: u64,
    /// CODECS of the variant.
    pub codecs: String,
    /// FRAME-RATE, when a video track.
    pub frame_rate: Option<f64>,
}

/// The ladder as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackagedLadder {
    /// The master playlist's path.
    pub master: PathBuf,
    /// The variants, best first.
    pub variants: Vec<PackagedVariant>,
    /// The languages of the subtitle renditions.
    pub subtitle_languages: Vec<String>,
    /// What was assumed about the subtitle files (an encoding guessed from their bytes), for the person
    /// who gave them to check.
    pub subtitle_notes: Vec<String>,
    /// The programme's length from the video segments, in seconds.
    pub duration_seconds: f64,
}

/// Measures the tracks, writes segmented WebVTT and every playlist, the master last.
pub fn package_ladder(files: &LadderFiles) -> Result<PackagedLadder> {
    let video: Vec<MeasuredTrack> = files.video.iter().map(measure_track).collect::<Result<_>>()?;
    let audio = files.audio.as_ref().map(measure_track).transpose()?;
    let reference = video.first().ok_or_else(|| PackagerError::InvalidLadder { reason: "no video track".into() })?;

    let (subtitles, subtitle_notes) = write_subtitles(&files.root, &files.subtitles, reference)?;
    let mut spec = MasterSpec::default();
    for (files, track) in files.video.iter().zip(&video) {
        spec.video.push(VideoVariant {
            uri: format!("{}/index.m3u8", files.name),
            iframe_uri: Some(format!("{}/iframes.m3u8", files.name)),
            track,
        });
    }
    if let (Some(files), Some(track)) = (&files.audio, &audio) {
        spec.audio.push(AudioRendition {
            uri: format!("{}/index.m3u8", files.name),
            name: "Audio".into(),
            language: None,
            default: true,
            track,
        });
    }
    spec.subtitles = subtitles;
    let playlists = spec.playlists()?;
    for (uri, playlist) in &playlists.media {
        write_file(&files.root.join(uri), |out| playlist.write_to(out))?;
    }
    let master = files.root.join(MASTER_PLAYLIST);
    write_file(&master, |out| playlists.master.write_to(out))?;

    let audio_peak = audio.as_ref().map_or(0, MeasuredTrack::peak_bitrate);
    let audio_average = audio.as_ref().map_or(0, MeasuredTrack::average_bitrate);
    let audio_codec = audio.as_ref().and_then(MeasuredTrack::codec);
    let variants = files
        .video
        .iter()
        .zip(&video)
        .map(|(files, track)| PackagedVariant {
            name: files.name.clone(),
            resolution: track.resolution(),
            bandwidth: track.peak_bitrate() + audio_peak,
            average_bandwidth: track.average_bitrate() + audio_average,
            codecs: [track.codec(), audio_codec.clone()].into_iter().flatten().collect::<Vec<_>>().join(","),
            frame_rate: track.frame_rate(),
        })
        .collect();
    Ok(PackagedLadder {
        master,
        variants,
        subtitle_languages: files.subtitles.iter().map(|source| source.language.clone()).collect(),
        subtitle_notes,
        duration_seconds: reference.total_seconds(),
    })
}

/// Measures one track segment by segment; URIs are relative to the track's own playlist.
fn measure_track(files: &TrackFiles) -> Result<MeasuredTrack> {
    let init = read(&files.init)?;
    let parsed = InitSegment::parse(&init)?;
    let info = parsed
        .main_track()
        .cloned()
        .ok_or_else(|| PackagerError::UnsupportedInit { reason: format!("{} has no track", files.init.display()) })?;
    let mut segments = Vec::with_capacity(files.segments.len());
    for path in &files.segments {
        let data = read(path)?;
        segments.push(MeasuredSegment { uri: file_name(path), measure: measure_segment(&info, &data, 0)? });
    }
    Ok(MeasuredTrack { init_uri: file_name(&files.init), info, segments })
}

/// Cuts each subtitle file on the reference video's segment boundaries and writes its segments.
fn write_subtitles(
    root: &Path,
    sources: &[SubtitleSource],
    reference: &MeasuredTrack,
) -> Result<(Vec<SubtitleRendition>, Vec<String>)> {
    let mut notes = Vec::new();
    let durations_ms: Vec<u64> =
        reference.durations().iter().map(|seconds| (seconds * 1000.0).round() as u64).collect();
    let spans = SegmentSpan::from_durations(&durations_ms);
    // "Cue time 0 is the video's first timestamp", in the 90 kHz clock the timestamp map speaks.
    let first_start = reference.starts().first().copied().unwrap_or(0.0);
    let mpegts = (first_start * 90_000.0).round() as u64;
    let mut renditions = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        let bytes = read(&source.path)?;
        let decoded = subtitles::encoding::decode(&bytes).map_err(|error| PackagerError::SubtitleFile {
            path: source.path.clone(),
            source: Box::new(PackagerError::SubtitleEncoding { encoding: error.encoding }),
        })?;
        if decoded.guessed {
            notes.push(format!(
                "subtitles {}: {} is not UTF-8; read as {} (check the accents)",
                source.language,
                file_name(&source.path),
                decoded.encoding
            ));
        }
        let text = decoded.text;
        let cues = subtitles::parse(&text, SubtitleFormat::sniff(&text))
            .map_err(|error| PackagerError::SubtitleFile { path: source.path.clone(), source: Box::new(error) })?;
        let folder = format!("subtitles/{}", source.language);
        let mut segments = Vec::with_capacity(spans.len());
        for (number, segment) in subtitles::segment::webvtt_segments(&cues, &spans).enumerate() {
            let name = format!("seg_{number:05}.vtt");
            write_file(&root.join(&folder).join(&name), |out| out.write_all(segment.to_webvtt(mpegts).as_bytes()))?;
            segments.push((name, segment.span.seconds()));
        }
        renditions.push(SubtitleRendition {
            uri: format!("{folder}/index.m3u8"),
            name: source.name.clone(),
            language: source.language.clone(),
            default: index == 0,
            segments,
        });
    }
    Ok((renditions, notes))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| PackagerError::Io { path: path.to_owned(), source })
}

fn write_file(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let io_error = |source| PackagerError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    write(&mut out).and_then(|()| out.flush()).map_err(io_error)
}
