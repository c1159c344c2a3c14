//! Loading a ladder from disk for the validator: the master, every media playlist it names, and the
//! measurement of every init and media segment.
//!
//! Only a master that cannot be read or parsed is an error (the validator cannot run at all). Anything else
//! that is missing or malformed (a media playlist, a segment, a WebVTT file) becomes a [`LoadProblem`],
//! reported by rule HLS001, and the rules that need the missing piece skip it, so one broken file does not
//! hide every other finding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use m3u8_rs::{AlternativeMediaType, MasterPlaylist, MediaPlaylist};

use crate::error::{PackagerError, Result};
use crate::measure::{MeasuredSegment, MeasuredTrack, SegmentMeasure, measure_segment};
use crate::mp4::init::{InitSegment, TrackInfo};
use crate::playlist::{parse_master, parse_media};
use crate::subtitles::vtt::{self, VttFile};

/// What a media playlist is for, from the master's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistRole {
    /// The playlist of an EXT-X-STREAM-INF (video, or audio-only).
    Variant,
    /// The playlist of an EXT-X-I-FRAME-STREAM-INF.
    IFrames,
    /// An audio rendition (EXT-X-MEDIA TYPE=AUDIO).
    Audio,
    /// A subtitle rendition (EXT-X-MEDIA TYPE=SUBTITLES).
    Subtitles,
}

/// A file that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The file, relative to the master's folder.
    pub location: String,
    /// What went wrong.
    pub message: String,
}

/// One segment of a media playlist.
#[derive(Debug, Clone)]
pub struct LoadedSegment {
    /// The URI as the playlist has it.
    pub uri: String,
    /// The file on disk.
    pub path: PathBuf,
    /// The EXTINF duration in seconds.
    pub extinf: f64,
    /// The measurement of an fMP4 segment, when it could be made.
    pub measure: Option<SegmentMeasure>,
    /// The parsed file of a WebVTT segment, when it could be read.
    pub vtt: Option<VttFile>,
}

/// One media playlist and what its files contain.
#[derive(Debug, Clone)]
pub struct LoadedPlaylist {
    /// The URI as the master has it.
    pub uri: String,
    /// The playlist file.
    pub path: PathBuf,
    /// What the master uses it for (the first role, when named twice).
    pub role: PlaylistRole,
    /// The parsed playlist, when it could be read.
    pub playlist: Option<MediaPlaylist>,
    /// The track of its init segment, for fMP4 playlists.
    pub track_info: Option<TrackInfo>,
    /// The segments in order.
    pub segments: Vec<LoadedSegment>,
    /// The measured track, present only when the init and every segment were measured.
    pub track: Option<MeasuredTrack>,
}

impl LoadedPlaylist {
    /// Whether the playlist's init segment holds video.
    pub fn is_video(&self) -> bool {
        self.track_info.as_ref().is_some_and(TrackInfo::is_video)
    }

    /// Sum of the EXTINF durations.
    pub fn extinf_total(&self) -> f64 {
        self.segments.iter().map(|s| s.extinf).sum()
    }
}

/// A ladder as read from disk.
#[derive(Debug, Clone)]
pub struct LoadedLadder {
    /// The master playlist's file.
    pub master_path: PathBuf,
    /// The parsed master.
    pub master: MasterPlaylist,
    /// The media playlists, each once.
    pub playlists: Vec<LoadedPlaylist>,
    /// For each entry of `master.variants`, the index of its playlist in `playlists`.
    pub variant_playlists: Vec<Option<usize>>,
    /// For each entry of `master.alternatives`, the index of its playlist in `playlists`.
    pub rendition_playlists: Vec<Option<usize>>,
    /// Files that could not be used.
    pub problems: Vec<LoadProblem>,
}

impl LoadedLadder {
    /// The playlist of variant `index`, when it was loaded.
    pub fn variant_playlist(&self, index: usize) -> Option<&LoadedPlaylist> {
        self.variant_playlists.get(index).copied().flatten().and_then(|i| self.playlists.get(i))
    }

    /// The playlist of rendition `index`, when it was loaded.
    pub fn rendition_playlist(&self, index: usize) -> Option<&LoadedPlaylist> {
        self.rendition_playlists.get(index).copied().flatten().and_then(|i| self.playlists.get(i))
    }

    /// The master's file name, for finding locations.
    pub fn master_name(&self) -> String {
        self.master_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "master.m3u8".into())
    }

    /// The video playlists of the (non-I-frame) variants, each once.
    pub fn video_playlists(&self) -> Vec<&LoadedPlaylist> {
        let mut seen = Vec::new();
        for (index, variant) in self.master.variants.iter().enumerate() {
            if variant.is_i_frame {
                continue;
            }
            if let Some(i) = self.variant_playlists.get(index).copied().flatten()
                && self.playlists[i].is_video()
                && !seen.contains(&i)
            {
                seen.push(i);
            }
        }
        seen.into_iter().map(|i| &self.playlists[i]).collect()
    }

    /// The first measured video track, the ladder's reference clock.
    pub fn reference_video(&self) -> Option<&MeasuredTrack> {
        self.video_playlists().into_iter().find_map(|p| p.track.as_ref())
    }
}

/// Resolves what the user named: a folder holding `master.m3u8`, or the master itself.
pub fn master_path(input: &Path) -> Result<PathBuf> {
    if input.is_dir() {
        let candidate = input.join("master.m3u8");
        if candidate.is_file() {
            return Ok(candidate);
        }
        return Err(PackagerError::io(
            candidate,
            std::io::Error::new(std::io::ErrorKind::NotFound, "the folder has no master.m3u8"),
        ));
    }
    Ok(input.to_path_buf())
}

/// Loads the ladder whose master is at `master_path`.
pub fn load(master_path: &Path) -> Result<LoadedLadder> {
    let text = std::fs::read_to_string(master_path).map_err(|e| PackagerError::io(master_path, e))?;
    let name = master_path.display().to_string();
    let master = parse_master(&text, &name)?;
    let base = master_path.parent().unwrap_or(Path::new("")).to_path_buf();
    // Symlinks are followed only where they stay inside the folder: compare real paths.
    let real_base = std::fs::canonicalize(if base.as_os_str().is_empty() { Path::new(".") } else { &base })
        .unwrap_or_else(|_| base.clone());
    let mut loader = Loader {
        base: base.clone(),
        real_base,
        judged: HashMap::new(),
        problems: Vec::new(),
        by_path: HashMap::new(),
        playlists: Vec::new(),
    };

    let variant_playlists = master
        .variants
        .iter()
        .map(|variant| {
            let role = if variant.is_i_frame { PlaylistRole::IFrames } else { PlaylistRole::Variant };
            loader.playlist(&base, &variant.uri, role)
        })
        .collect();
    let rendition_playlists = master
        .alternatives
        .iter()
        .map(|media| {
            let role = match media.media_type {
                AlternativeMediaType::Audio => PlaylistRole::Audio,
                AlternativeMediaType::Subtitles => PlaylistRole::Subtitles,
                _ => return None,
            };
            media.uri.as_deref().and_then(|uri| loader.playlist(&base, uri, role))
        })
        .collect();
    Ok(LoadedLadder {
        master_path: master_path.to_path_buf(),
        master,
        playlists: loader.playlists,
        variant_playlists,
        rendition_playlists,
        problems: loader.problems,
    })
}

struct Loader {
    base: PathBuf,
    /// `base` with links resolved: every file read must be under it.
    real_base: PathBuf,
    /// Paths already judged inside (true) or outside (false) the folder, so each escape is reported once.
    judged: HashMap<PathBuf, bool>,
    problems: Vec<LoadProblem>,
    by_path: HashMap<PathBuf, usize>,
    playlists: Vec<LoadedPlaylist>,
}

/// The local file a URI names, relative to `dir`; `None` for a remote URL, which we do not fetch.
fn resolve(dir: &Path, uri: &str) -> Option<PathBuf> {
    if uri.contains("://") || uri.starts_with("data:") {
        return None;
    }
    let path = uri.split(['?', '#']).next().unwrap_or(uri);
    Some(dir.join(path))
}

/// `path` with `.` and `..` taken out, without touching the file system.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl Loader {
    /// Whether `path` (named `uri` in a playlist) stays inside the ladder's folder, following links; an
    /// HLS001 problem when it does not. Nothing outside the folder is ever read, so no message can quote it.
    fn inside(&mut self, path: &Path, uri: &str) -> bool {
        if let Some(&inside) = self.judged.get(path) {
            return inside;
        }
        let inside = match std::fs::canonicalize(path) {
            Ok(real) => real.starts_with(&self.real_base),
            // A file that does not exist is judged by its name (and reported missing when read).
            Err(_) => {
                let lexical = normalized(path);
                let base = normalized(&self.base);
                lexical.starts_with(&base) && !lexical.components().any(|c| c == std::path::Component::ParentDir)
            }
        };
        if !inside {
            self.problems.push(LoadProblem {
                location: uri.to_owned(),
                message: "the URI leads outside the ladder's folder; every file must be inside it".into(),
            });
        }
        self.judged.insert(path.to_path_buf(), inside);
        inside
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.base).unwrap_or(path).display().to_string()
    }

    fn problem(&mut self, path: &Path, message: impl Into<String>) {
        let location = self.relative(path);
        self.problems.push(LoadProblem { location, message: message.into() });
    }

    fn playlist(&mut self, dir: &Path, uri: &str, role: PlaylistRole) -> Option<usize> {
        let Some(path) = resolve(dir, uri) else {
            self.problems.push(LoadProblem { location: uri.to_owned(), message: "remote URI, not checked".into() });
            return None;
        };
        if let Some(&index) = self.by_path.get(&path) {
            return Some(index);
        }
        if !self.inside(&path, uri) {
            return None;
        }
        let loaded = self.load_playlist(&path, uri, role);
        let index = self.playlists.len();
        self.playlists.push(loaded);
        self.by_path.insert(path, index);
        Some(index)
    }

    fn load_playlist(&mut self, path: &Path, uri: &str, role: PlaylistRole) -> LoadedPlaylist {
        let mut loaded = LoadedPlaylist {
            uri: uri.to_owned(),
            path: path.to_path_buf(),
            role,
            playlist: None,
            track_info: None,
            segments: Vec::new(),
            track: None,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                self.problem(path, format!("cannot read the playlist: {error}"));
                return loaded;
            }
        };
        let playlist = match parse_media(&text, uri) {
            Ok(playlist) => playlist,
            Err(error) => {
                self.problem(path, error.to_string());
                return loaded;
            }
        };
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        loaded.segments = playlist
            .segments
            .iter()
            .map(|segment| LoadedSegment {
                uri: segment.uri.clone(),
                path: resolve(&dir, &segment.uri).unwrap_or_else(|| PathBuf::from(&segment.uri)),
                extinf: f64::from(segment.duration),
                measure: None,
                vtt: None,
            })
            .collect();
        // Every file the playlist names must be inside the folder, whether or not it is read later.
        let named: Vec<(PathBuf, String)> = loaded
            .segments
            .iter()
            .map(|segment| (segment.path.clone(), segment.uri.clone()))
            .chain(
                playlist
                    .segments
                    .iter()
                    .filter_map(|segment| segment.map.as_ref())
                    .filter_map(|map| resolve(&dir, &map.uri).map(|path| (path, map.uri.clone()))),
            )
            .collect();
        for (path, uri) in named {
            self.inside(&path, &uri);
        }
        match role {
            PlaylistRole::Subtitles => self.read_webvtt(&mut loaded),
            // I-frame playlists point into the video segments, which their rung's playlist measures.
            PlaylistRole::IFrames => {}
            PlaylistRole::Variant | PlaylistRole::Audio => self.measure_fmp4(&dir, &playlist, &mut loaded),
        }
        loaded.playlist = Some(playlist);
        loaded
    }

    fn read_webvtt(&mut self, loaded: &mut LoadedPlaylist) {
        for segment in &mut loaded.segments {
            if !self.inside(&segment.path, &segment.uri) {
                continue;
            }
            match std::fs::read_to_string(&segment.path) {
                Ok(text) => match vtt::parse(&text) {
                    Ok(file) => segment.vtt = Some(file),
                    Err(error) => {
                        let location = self.relative(&segment.path);
                        self.problems.push(LoadProblem { location, message: error.to_string() });
                    }
                },
                Err(error) => {
                    let location = self.relative(&segment.path);
                    self.problems.push(LoadProblem { location, message: format!("cannot read: {error}") });
                }
            }
        }
    }

    fn measure_fmp4(&mut self, dir: &Path, playlist: &MediaPlaylist, loaded: &mut LoadedPlaylist) {
        // Without EXT-X-MAP these are not fMP4 segments; HLS013 reports that, there is nothing to measure.
        let Some(map) = playlist.segments.iter().find_map(|s| s.map.as_ref()) else { return };
        let Some(init_path) = resolve(dir, &map.uri) else { return };
        if !self.inside(&init_path, &map.uri) {
            return;
        }
        let init = match std::fs::read(&init_path) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.problem(&init_path, format!("cannot read the init segment: {error}"));
                return;
            }
        };
        let info = match InitSegment::parse(&init).map(|init| init.main_track().cloned()) {
            Ok(Some(info)) => info,
            Ok(None) => return,
            Err(error) => {
                self.problem(&init_path, error.to_string());
                return;
            }
        };
        let mut all_measured = true;
        // Segments addressed by byte range share a file: keep the last file read.
        let mut cached: Option<(PathBuf, Vec<u8>)> = None;
        let mut next_offset: HashMap<PathBuf, u64> = HashMap::new();
        for (segment, raw) in loaded.segments.iter_mut().zip(&playlist.segments) {
            if cached.as_ref().is_none_or(|(path, _)| path != &segment.path) {
                if !self.inside(&segment.path, &segment.uri) {
                    all_measured = false;
                    cached = None;
                    continue;
                }
                match std::fs::read(&segment.path) {
                    Ok(bytes) => cached = Some((segment.path.clone(), bytes)),
                    Err(error) => {
                        let location = self.relative(&segment.path);
                        self.problems.push(LoadProblem { location, message: format!("cannot read: {error}") });
                        all_measured = false;
                        cached = None;
                        continue;
                    }
                }
            }
            let Some((_, bytes)) = cached.as_ref() else { continue };
            let (start, end) = match &raw.byte_range {
                Some(range) => {
                    let start = range.offset.unwrap_or_else(|| next_offset.get(&segment.path).copied().unwrap_or(0));
                    (start, start.saturating_add(range.length))
                }
                None => (0, bytes.len() as u64),
            };
            next_offset.insert(segment.path.clone(), end);
            let slice = usize::try_from(start)
                .ok()
                .zip(usize::try_from(end).ok())
                .and_then(|(start, end)| bytes.get(start..end));
            let Some(slice) = slice else {
                let location = self.relative(&segment.path);
                self.problems
                    .push(LoadProblem { location, message: "byte range runs past the end of the file".into() });
                all_measured = false;
                continue;
            };
            match measure_segment(&info, slice, start) {
                Ok(measure) => segment.measure = Some(measure),
                Err(error) => {
                    let location = self.relative(&segment.path);
                    self.problems.push(LoadProblem { location, message: error.to_string() });
                    all_measured = false;
                }
            }
        }
        if all_measured && !loaded.segments.is_empty() {
            let segments = loaded
                .segments
                .iter()
                .filter_map(|s| s.measure.clone().map(|measure| MeasuredSegment { uri: s.uri.clone(), measure }))
                .collect();
            loaded.track = Some(MeasuredTrack { init_uri: map.uri.clone(), info: info.clone(), segments });
        }
        loaded.track_info = Some(info);
    }
}
