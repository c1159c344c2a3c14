//! Entry points for the fuzz targets under `packager/fuzz/` and for the test that replays their seed corpus.
//!
//! Kept in the library so the cargo-fuzz targets (which need nightly and libFuzzer) and the ordinary test run
//! exercise exactly the same code. Each function feeds arbitrary bytes to a reader of untrusted input; the
//! only thing that may not happen is a panic (or a hang).

use crate::measure::measure_segment;
use crate::mp4::init::InitSegment;
use crate::subtitles::{self, SegmentSpan, SubtitleFormat};

/// SRT and WebVTT readers, then the segmenter over whatever parsed.
pub fn subtitles(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for format in [SubtitleFormat::Srt, SubtitleFormat::WebVtt] {
        if let Ok(cues) = subtitles::parse(text, format) {
            let spans = SegmentSpan::from_durations(&[4000, 4000, 4000]);
            for segment in subtitles::segment_webvtt(&cues, &spans) {
                // What we write must read back.
                let written = segment.to_webvtt(0);
                assert!(subtitles::vtt::parse(&written).is_ok(), "our own WebVTT does not parse:\n{written}");
            }
        }
    }
}

/// The playlist readers, and a write/read round trip of what parsed.
pub fn playlist(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(master) = crate::playlist::parse_master(text, "fuzz") {
        let _ = crate::playlist::required_master_version(&master);
    }
    if let Ok(media) = crate::playlist::parse_media(text, "fuzz") {
        let _ = crate::playlist::required_media_version(&media);
    }
}

/// The fMP4 readers: an init segment, then the same bytes as a media segment of its main track.
pub fn mp4(data: &[u8]) {
    if let Ok(init) = InitSegment::parse(data) {
        for track in &init.tracks {
            let _ = track.codec();
            let _ = measure_segment(track, data, 0);
        }
    }
}
