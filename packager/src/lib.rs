//! `lms-packager` owns the HLS output contract of lms-media: which rungs a source gets, and (as it grows) the
//! playlists, the segmented WebVTT subtitles, the measurement of real segments and the ladder validator.
//!
//! It is pure Rust on purpose: no FFmpeg, no network, no async runtime. Every engine hands it media segments
//! and it decides what the published ladder says, so the contract is written once and checked in one place.

#![deny(missing_docs)]

pub mod ladder;

pub use ladder::{Ladder, Rung, SourceGeometry};
