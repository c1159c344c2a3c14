//! The input policy: which containers and codecs a source may use, and how large or long it may be.
//!
//! The allowlists name FFmpeg's own demuxer, codec and decoder names. A format is left out when it can refer
//! to other files or URLs (HLS, DASH, concat, image sequences) or when lectures never use it; a codec is left
//! out when no camera, phone, screen recorder or editing tool exports lectures in it. Widening the list is a
//! decision about attack surface, so it is made here and nowhere else.

use std::time::Duration;

/// FFmpeg demuxers accepted for sources. Each entry is the first name of the demuxer's comma-separated list
/// (`mov` stands for `mov,mp4,m4a,3gp,3g2,mj2`); FFmpeg matches any element of it.
pub const ALLOWED_CONTAINERS: &[&str] = &["mov", "matroska", "avi", "mpegts", "mpeg"];

/// Video codecs accepted, each with the FFmpeg decoders allowed to decode it.
pub const ALLOWED_VIDEO_CODECS: &[(&str, &[&str])] = &[
    ("h264", &["h264"]),
    ("hevc", &["hevc"]),
    ("vp8", &["vp8", "libvpx"]),
    ("vp9", &["vp9", "libvpx-vp9"]),
    ("av1", &["libdav1d", "libaom-av1", "av1"]),
    ("mpeg4", &["mpeg4"]),
    ("mpeg2video", &["mpeg2video"]),
    ("mpeg1video", &["mpeg1video"]),
    ("prores", &["prores"]),
    ("mjpeg", &["mjpeg"]),
];

/// Audio codecs accepted, each with the FFmpeg decoders allowed to decode it.
pub const ALLOWED_AUDIO_CODECS: &[(&str, &[&str])] = &[
    ("aac", &["aac", "aac_fixed"]),
    ("mp3", &["mp3float", "mp3"]),
    ("mp2", &["mp2float", "mp2"]),
    ("opus", &["opus", "libopus"]),
    ("vorbis", &["vorbis", "libvorbis"]),
    ("ac3", &["ac3", "ac3_fixed"]),
    ("eac3", &["eac3"]),
    ("flac", &["flac"]),
    ("alac", &["alac"]),
    ("pcm_s16le", &["pcm_s16le"]),
    ("pcm_s16be", &["pcm_s16be"]),
    ("pcm_s24le", &["pcm_s24le"]),
    ("pcm_s32le", &["pcm_s32le"]),
    ("pcm_f32le", &["pcm_f32le"]),
];

/// Limits applied to every source before and while it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPolicy {
    /// Largest source file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Most streams a container may declare; real lectures have two or three.
    pub max_streams: usize,
    /// Largest width or height of a video stream, in pixels.
    pub max_side: u32,
    /// Longest programme accepted.
    pub max_duration: Duration,
    /// Longest time the probe may spend reading the file.
    pub read_timeout: Duration,
}

impl InputPolicy {
    /// The default largest source: 20 GiB holds a four-hour 1080p camera recording at a generous bitrate.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 20 * 1024 * 1024 * 1024;
    /// The default stream limit: video, a few audio languages, subtitles and a timecode track fit well below.
    pub const DEFAULT_MAX_STREAMS: usize = 32;
    /// The default side limit: 8K (7680×4320) passes, the decoder-exhausting sizes above it do not.
    pub const DEFAULT_MAX_SIDE: u32 = 8192;
    /// The default longest programme: a full day of recorded lectures.
    pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(12 * 3600);
    /// The default read time limit for a probe.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for InputPolicy {
    fn default() -> Self {
        Self {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
            max_streams: Self::DEFAULT_MAX_STREAMS,
            max_side: Self::DEFAULT_MAX_SIDE,
            max_duration: Self::DEFAULT_MAX_DURATION,
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
        }
    }
}

/// The decoder names FFmpeg may open, as its `codec_whitelist` option wants them.
pub(crate) fn decoder_allowlist() -> String {
    ALLOWED_VIDEO_CODECS
        .iter()
        .chain(ALLOWED_AUDIO_CODECS)
        .flat_map(|(_, decoders)| decoders.iter().copied())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a demuxer, given by FFmpeg's comma-separated name list, is accepted.
pub(crate) fn container_allowed(demuxer_names: &str) -> bool {
    demuxer_names.split(',').any(|name| ALLOWED_CONTAINERS.contains(&name))
}

/// Names of the accepted codecs in one list, for error messages.
pub(crate) fn codec_names(list: &[(&str, &[&str])]) -> String {
    list.iter().map(|(codec, _)| *codec).collect::<Vec<_>>().join(", ")
}

/// Whether a codec, by FFmpeg's codec name, is in an allowlist.
pub(crate) fn codec_allowed(list: &[(&str, &[&str])], codec: &str) -> bool {
    list.iter().any(|(name, _)| *name == codec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp4_demuxer_list_is_accepted_and_hls_is_not() {
        assert!(container_allowed("mov,mp4,m4a,3gp,3g2,mj2"));
        assert!(container_allowed("matroska,webm"));
        assert!(!container_allowed("hls"));
        assert!(!container_allowed("concat"));
        assert!(!container_allowed("image2"));
    }

    #[test]
    fn every_decoder_list_is_non_empty() {
        for (codec, decoders) in ALLOWED_VIDEO_CODECS.iter().chain(ALLOWED_AUDIO_CODECS) {
            assert!(!decoders.is_empty(), "{codec} has no decoder");
        }
        assert!(decoder_allowlist().split(',').any(|decoder| decoder == "h264"));
    }
}
