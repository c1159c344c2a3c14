//! Engines: what turns an accepted source into the media segments of a ladder.
//!
//! An engine decodes the source once and writes, for every rung and for the audio, an fMP4 init segment and
//! 4-second media segments whose boundaries fall on the same IDR instants in every rung. It writes no
//! playlist: the packager measures the segments and writes every playlist, so all engines share one HLS
//! contract. [`ffmpeg::FfmpegEngine`] is the in-process implementation on ffmpeg-next.

pub mod ffmpeg;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lms_packager::{Ladder, Rung};

use crate::{Error, ProbeReport};

/// Encodes a source into ladder segments.
pub trait Engine {
    /// A short name for logs and reports (`ffmpeg`).
    fn name(&self) -> &'static str;

    /// Encodes `request.source` into `request.output_dir`, reporting progress through `progress`.
    fn encode(&self, request: &EncodeRequest, progress: &mut dyn FnMut(Progress)) -> Result<EncodedLadder, Error>;
}

/// What to encode and where.
#[derive(Debug, Clone)]
pub struct EncodeRequest {
    /// The source file, already accepted by [`crate::probe()`].
    pub source: PathBuf,
    /// The probe's report of that source.
    pub probe: ProbeReport,
    /// The rungs to encode.
    pub ladder: Ladder,
    /// An empty folder the segments are written to.
    pub output_dir: PathBuf,
    /// Encoder settings.
    pub settings: EncodeSettings,
    /// Set to stop the encode early; checked between packets.
    pub cancel: CancelFlag,
}

/// Encoder settings that are not part of the HLS contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeSettings {
    /// The x264 preset: a trade of encoding speed for bytes at equal quality.
    pub x264_preset: String,
    /// Threads per x264 encoder; `None` for one per core.
    pub x264_threads: Option<u32>,
}

impl Default for EncodeSettings {
    fn default() -> Self {
        // `veryfast` keeps a two-core laptop above real time on a 1080p lecture ladder; slides compress so
        // well that slower presets buy little.
        Self { x264_preset: "veryfast".into(), x264_threads: None }
    }
}

/// A shared flag that asks an encode to stop.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Asks the encode to stop at the next packet.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How far an encode has come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Seconds of the programme encoded so far.
    pub encoded_seconds: f64,
    /// The programme's length, when known.
    pub total_seconds: Option<f64>,
    /// Video frames encoded so far (per rung).
    pub frames: u64,
}

/// The segments of one track, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTrack {
    /// The track's folder, inside the request's output folder.
    pub dir: PathBuf,
    /// The init segment (`init.mp4`).
    pub init: PathBuf,
    /// The media segments, in order.
    pub segments: Vec<PathBuf>,
}

/// Everything an encode wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedLadder {
    /// One track per rung, best first.
    pub video: Vec<(Rung, EncodedTrack)>,
    /// The audio track, when the source has sound.
    pub audio: Option<EncodedTrack>,
    /// The most decoded sound that waited in memory for the picture at any time: bounded by the engine's
    /// read-ahead, however the source interleaves its streams.
    pub audio_buffered_peak: Duration,
}
