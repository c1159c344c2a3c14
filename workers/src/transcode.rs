//! One lecture in, one validated HLS ladder out: probe, encode, package, validate, publish the folder.
//!
//! The ladder is built in a hidden sibling folder (`.NAME.partial-PID`) and renamed into place only after
//! it passed validation, so an interrupted run never leaves a folder that looks finished. A previous ladder
//! at the same place is replaced only at that moment.

use std::path::{Path, PathBuf};
use std::time::Instant;

use lms_packager::package::{LadderFiles, PackagedLadder, SubtitleSource, TrackFiles, package_ladder};
use lms_packager::{Ladder, SourceGeometry};
use serde::Serialize;

use crate::Error;
use crate::engine::{CancelFlag, EncodeRequest, EncodeSettings, EncodedTrack, Engine, Progress};
use crate::probe::{InputPolicy, ProbeReport, StreamDetails, probe};

/// A subtitle file for one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleInput {
    /// RFC 5646 language tag, as given on the command line (`en`).
    pub language: String,
    /// The SRT or WebVTT file.
    pub path: PathBuf,
}

/// What to transcode.
#[derive(Debug, Clone)]
pub struct TranscodeRequest {
    /// The lecture.
    pub input: PathBuf,
    /// The ladder folder to create (or replace).
    pub output: PathBuf,
    /// Subtitle renditions; the first is the default.
    pub subtitles: Vec<SubtitleInput>,
    /// Short sides of the rungs wanted; `None` for the standard 1080/720/480.
    pub rungs: Option<Vec<u32>>,
    /// Encoder settings.
    pub settings: EncodeSettings,
    /// Stops the encode when set.
    pub cancel: CancelFlag,
}

/// What happened along the way, for progress displays.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TranscodeEvent {
    /// The source was accepted; the ladder is known.
    Probed {
        /// The programme's length, when known.
        duration_seconds: Option<f64>,
        /// The rungs that will be encoded.
        ladder: Ladder,
    },
    /// Encoding progress.
    Progress {
        /// Seconds of programme encoded.
        encoded_seconds: f64,
        /// The programme's length, when known.
        total_seconds: Option<f64>,
        /// Frames encoded per rung.
        frames: u64,
        /// Frames per second since the start of the encode.
        fps: f64,
        /// Programme seconds encoded per second of wall time.
        speed: f64,
    },
    /// Encoding is done; playlists are being written and checked.
    Packaging,
}

/// The outcome of a transcode.
#[derive(Debug, Clone, Serialize)]
pub struct TranscodeSummary {
    /// The source.
    pub input: PathBuf,
    /// The ladder folder.
    pub output: PathBuf,
    /// The ladder as measured.
    pub ladder: PackagedLadder,
    /// Wall time of the whole transcode, in seconds.
    pub elapsed_seconds: f64,
    /// Programme seconds per second of wall time.
    pub speed: f64,
    /// Rule ids of the warnings the validator raised (errors fail the transcode).
    pub validation_warnings: Vec<String>,
}

/// Transcodes one lecture with `engine`, reporting through `events`.
pub fn transcode(
    request: &TranscodeRequest,
    engine: &dyn Engine,
    events: &mut dyn FnMut(TranscodeEvent),
) -> Result<TranscodeSummary, Error> {
    let started = Instant::now();
    // FFmpeg's segment muxer takes the output folder as a UTF-8 file name template, where `%` means a number.
    if request.output.to_str().is_none_or(|path| path.contains('%')) {
        return Err(Error::UnusablePath { path: request.output.clone() });
    }
    let report = probe(&request.input, &InputPolicy::default())?;
    let ladder = ladder_for(&report, request.rungs.as_deref());
    events(TranscodeEvent::Probed { duration_seconds: report.duration_seconds, ladder: ladder.clone() });

    let partial = PartialDir::create(&request.output)?;
    let encode_request = EncodeRequest {
        source: request.input.clone(),
        probe: report,
        ladder,
        output_dir: partial.path.clone(),
        settings: request.settings.clone(),
        cancel: request.cancel.clone(),
    };
    let encode_started = Instant::now();
    let encoded = engine
        .encode(&encode_request, &mut |progress: Progress| {
            let elapsed = encode_started.elapsed().as_secs_f64().max(1e-3);
            events(TranscodeEvent::Progress {
                encoded_seconds: progress.encoded_seconds,
                total_seconds: progress.total_seconds,
                frames: progress.frames,
                fps: progress.frames as f64 / elapsed,
                speed: progress.encoded_seconds / elapsed,
            });
        })
        .map_err(|error| blame_full_disk(error, &partial.path))?;

    events(TranscodeEvent::Packaging);
    let files = LadderFiles {
        root: partial.path.clone(),
        video: encoded.video.iter().map(|(rung, track)| track_files(&rung.name, track)).collect(),
        audio: encoded.audio.as_ref().map(|track| track_files("audio", track)),
        subtitles: request
            .subtitles
            .iter()
            .map(|input| SubtitleSource {
                language: input.language.clone(),
                name: language_name(&input.language),
                path: input.path.clone(),
            })
            .collect(),
    };
    let packaged =
        package_ladder(&files).map_err(|source| blame_full_disk(Error::Package { source }, &partial.path))?;
    let validation = lms_packager::validate_path(&packaged.master)
        .map_err(|source| blame_full_disk(Error::Package { source }, &partial.path))?;
    if !validation.passed() {
        if disk_is_full(&partial.path) {
            return Err(Error::DiskFull { path: partial.path.clone() });
        }
        return Err(Error::LadderInvalid {
            rules: validation.rule_ids().iter().map(|id| id.to_string()).collect(),
            partial: partial.keep(),
        });
    }
    let validation_warnings = validation.rule_ids().iter().map(|id| id.to_string()).collect();
    partial.publish()?;

    let elapsed_seconds = started.elapsed().as_secs_f64();
    let ladder = PackagedLadder { master: request.output.join(lms_packager::package::MASTER_PLAYLIST), ..packaged };
    Ok(TranscodeSummary {
        input: request.input.clone(),
        output: request.output.clone(),
        speed: ladder.duration_seconds / elapsed_seconds.max(1e-3),
        ladder,
        elapsed_seconds,
        validation_warnings,
    })
}

/// The ladder for a probed source, from the standard rungs or the ones asked for.
pub fn ladder_for(report: &ProbeReport, rungs: Option<&[u32]>) -> Ladder {
    let geometry = report
        .streams
        .get(report.main_video_stream)
        .and_then(|stream| match &stream.details {
            StreamDetails::Video(video) => Some(video.geometry()),
            _ => None,
        })
        .unwrap_or(SourceGeometry::square(0, 0));
    match rungs {
        Some(rungs) => Ladder::with_rungs(&geometry, rungs),
        None => report.ladder.clone(),
    }
}

fn track_files(name: &str, track: &EncodedTrack) -> TrackFiles {
    TrackFiles { name: name.to_owned(), init: track.init.clone(), segments: track.segments.clone() }
}

/// A display name for a language tag: the English name of common lecture languages, the tag otherwise.
fn language_name(tag: &str) -> String {
    let primary = tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase();
    let name = match primary.as_str() {
        "en" => "English",
        "fr" => "Français",
        "de" => "Deutsch",
        "es" => "Español",
        "it" => "Italiano",
        "pt" => "Português",
        "nl" => "Nederlands",
        "sv" => "Svenska",
        "pl" => "Polski",
        "ru" => "Русский",
        "uk" => "Українська",
        "ar" => "العربية",
        "hi" => "हिन्दी",
        "ja" => "日本語",
        "ko" => "한국어",
        "zh" => "中文",
        _ => return tag.to_owned(),
    };
    if primary == tag.to_ascii_lowercase() { name.to_owned() } else { format!("{name} ({tag})") }
}

/// Free space below which a disk counts as full.
const FULL_BELOW_BYTES: u64 = 1 << 20;

/// Whether the disk holding `dir` has (almost) no room left.
fn disk_is_full(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: a zeroed statvfs is a valid value of a plain C struct, which statvfs fills from a valid
    // NUL-terminated path; nothing else is touched.
    let (read, stats) = unsafe {
        let mut stats: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(path.as_ptr(), &mut stats), stats)
    };
    read == 0 && stats.f_bavail.saturating_mul(stats.f_frsize) < FULL_BELOW_BYTES
}

/// A failure met while the disk is full is the full disk's, whatever the step reports: FFmpeg's segment muxer
/// drops the write error, and the packager then finds a truncated `mdat` box, which would read as a damaged
/// source and be retried until the job is dead.
fn blame_full_disk(error: Error, dir: &Path) -> Error {
    if disk_is_full(dir) { Error::DiskFull { path: dir.to_owned() } } else { error }
}

/// Removes the hidden build folders of `target` left by transcodes that were killed (a crash or a time
/// limit ends a child before it can clean up after itself).
pub fn remove_abandoned_partials(target: &Path) -> Result<(), Error> {
    for (path, _) in build_folders(target) {
        std::fs::remove_dir_all(&path).map_err(|source| Error::Write { path, source })?;
    }
    Ok(())
}

/// The hidden build folders of `target` (`.NAME.partial-PID`), with the process id in each name.
fn build_folders(target: &Path) -> Vec<(PathBuf, Option<libc::pid_t>)> {
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else { return Vec::new() };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    let prefix = format!(".{}.partial-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let pid = file_name.strip_prefix(&prefix)?.parse::<libc::pid_t>().ok();
            Some((entry.path(), pid))
        })
        .collect()
}

/// The hidden folder a ladder is built in; removed on drop unless published or kept.
struct PartialDir {
    path: PathBuf,
    target: PathBuf,
    done: bool,
}

impl PartialDir {
    fn create(target: &Path) -> Result<Self, Error> {
        let name =
            target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "ladder".into());
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|source| Error::Write { path: parent.clone(), source })?;
        sweep_dead_partials(target);
        let path = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|source| Error::Write { path: path.clone(), source })?;
        }
        std::fs::create_dir(&path).map_err(|source| Error::Write { path: path.clone(), source })?;
        Ok(Self { path, target: target.to_owned(), done: false })
    }

    /// Leaves the folder in place (for inspection) and returns its path.
    fn keep(mut self) -> PathBuf {
        self.done = true;
        self.path.clone()
    }

    /// Moves the finished ladder into place, replacing an older one in one atomic step: players never see a
    /// missing or half-replaced ladder, and a kill at any moment leaves either ladder whole. The old one
    /// lands in this build folder's place and is removed after (or swept later if the process dies first).
    fn publish(mut self) -> Result<(), Error> {
        let write_error = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Write { path, source }
        };
        if self.target.exists() {
            exchange(&self.path, &self.target).map_err(write_error(&self.target))?;
            self.done = true;
            std::fs::remove_dir_all(&self.path).map_err(write_error(&self.path))?;
        } else {
            std::fs::rename(&self.path, &self.target).map_err(write_error(&self.target))?;
            self.done = true;
        }
        Ok(())
    }
}

/// Removes build folders of `name` whose process no longer runs (interrupted with Ctrl-C, killed with its
/// machine): they can never be finished, and each may hold gigabytes.
fn sweep_dead_partials(target: &Path) {
    for (path, pid) in build_folders(target) {
        let Some(pid) = pid else { continue };
        // SAFETY: kill() with signal 0 only asks whether the process exists.
        let gone =
            unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// Swaps two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = |path: &Path| {
        std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte"))
    };
    let (a, b) = (c_path(a)?, c_path(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call; renameat2 touches no Rust memory.
    let result =
        unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if result == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.path);
        }
        // A killed transcode still exiting when this one started kept its build folder then; it is gone now.
        sweep_dead_partials(&self.target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_names_cover_tags_with_regions() {
        assert_eq!(language_name("en"), "English");
        assert_eq!(language_name("fr-CA"), "Français (fr-CA)");
        assert_eq!(language_name("tlh"), "tlh");
    }
}
