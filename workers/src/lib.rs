//! `lms-workers` owns the encoding side of lms-media: the input policy and the probe that enforces it, the
//! `Engine` trait with its FFmpeg implementation, `transcode`/`batch` for one machine, and [`fleet`], the
//! worker that claims queued jobs, encodes them in a child process and publishes their ladders.
//!
//! FFmpeg is linked here and nowhere else: the API server and the SCORM validator build without it.
//! Untrusted media never reaches an FFmpeg demuxer until [`probe`] has accepted it: the probe reads the file
//! through our own I/O, sniffs the container itself, and refuses every nested open, so a hostile file can
//! neither reach the network nor read another file on the machine.

#![deny(missing_docs)]

pub mod batch;
pub mod child;
pub mod engine;
mod error;
mod ffmpeg_setup;
pub mod fleet;
pub mod probe;
pub mod transcode;

pub use engine::{EncodeRequest, EncodeSettings, EncodedLadder, Engine, ffmpeg::FfmpegEngine};
pub use error::Error;
pub use probe::{InputPolicy, ProbeReport, probe};
