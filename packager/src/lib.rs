//! `lms-packager` owns the HLS output contract of lms-media: which rungs a source gets, the
//! playlists, the segmented WebVTT subtitles, the measurement of real segments and the ladder validator.
//!
//! It is pure Rust on purpose: no FFmpeg, no network, no async runtime. Every engine hands it media segments
//! and it decides what the published ladder says, so the contract is written once and checked in one place.
//!
//! Map of the crate:
//! - [`ladder`]: which rungs a source gets, the rate policy and the contract's constants;
//! - [`mp4`]: a small bounds-checked reader of the fMP4 boxes we need;
//! - [`measure`]: segment durations, IDRs, bitrates, CODECS and frame rate from real segments;
//! - [`playlist`]: master, media, I-frame and subtitle playlists written (and read) with m3u8-rs;
//! - [`package`]: an engine's segment folders turned into a complete ladder, every playlist written;
//! - [`subtitles`]: SRT and WebVTT in, segmented WebVTT out;
//! - [`validate`]: the ladder validator and its ordered rule list;
//! - [`report`]: findings as human text, JSON and JUnit XML.

#![deny(missing_docs)]

pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod ladder;
pub mod measure;
pub mod mp4;
pub mod package;
pub mod playlist;
pub mod report;
pub mod subtitles;
pub mod validate;

pub use error::{PackagerError, Result};
pub use ladder::{Ladder, RatePolicy, Rung, SourceGeometry};
pub use validate::{Finding, Severity, Validation, validate_path};
