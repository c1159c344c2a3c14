//! HLS playlists, written and read with the m3u8-rs crate.
//!
//! [`write`](mod@write) turns measured tracks into the master, media, I-frame and subtitle playlists of the contract;
//! [`summary`] reads a finished ladder's length and rungs back for the catalog; [`read`] parses playlists (ours or anyone's) for the validator, turning parser failures into
//! [`crate::PackagerError::PlaylistParse`]. The EXT-X-VERSION rules live here, shared by both sides.

pub mod read;
pub mod summary;
pub mod write;

use m3u8_rs::{MasterPlaylist, MediaPlaylist};

pub use read::{parse_master, parse_media};
pub use summary::{LadderSummary, RungSummary, summarize};
pub use write::{
    AudioRendition, LadderPlaylists, MasterSpec, SubtitleRendition, VideoVariant, iframe_playlist, master_playlist,
    media_playlist, subtitle_playlist, target_duration, to_text,
};

/// The lowest EXT-X-VERSION a media playlist's features need (RFC 8216 §7).
pub fn required_media_version(playlist: &MediaPlaylist) -> usize {
    let mut version = 1;
    let fractional = playlist.segments.iter().any(|s| s.duration.fract() != 0.0);
    if fractional {
        version = version.max(3);
    }
    if playlist.i_frames_only || playlist.segments.iter().any(|s| s.byte_range.is_some()) {
        version = version.max(4);
    }
    if playlist.segments.iter().any(|s| s.map.is_some()) {
        // EXT-X-MAP needs 5 in an I-frames-only playlist and 6 otherwise.
        version = version.max(if playlist.i_frames_only { 5 } else { 6 });
    }
    version
}

/// The lowest EXT-X-VERSION a master playlist's features need. Nothing our masters use needs more than 1
/// (INSTREAM-ID `SERVICE` values would need 7); we still declare the media playlists' version in the master
/// so a client sees one protocol version across the ladder.
pub fn required_master_version(playlist: &MasterPlaylist) -> usize {
    let services = playlist
        .alternatives
        .iter()
        .any(|media| media.instream_id.as_ref().is_some_and(|id| id.to_string().starts_with("SERVICE")));
    if services { 7 } else { 1 }
}
