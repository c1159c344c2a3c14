//! `lms-workers` owns the encoding side of lms-media: the input policy and the probe that enforces it, and (as
//! the project grows) the `Engine` trait with its FFmpeg and GStreamer implementations and the job runner that
//! fetches, encodes, packages and publishes.
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
