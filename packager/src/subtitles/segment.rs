//! Cutting cues into HLS WebVTT segments.
//!
//! The rules (HLS spec §3.5 and what hls.js and Safari need):
//! - segments follow the video's own segment boundaries, so the subtitle playlist covers the whole programme
//!   with the same timeline;
//! - every segment starts `WEBVTT` and carries `X-TIMESTAMP-MAP=MPEGTS:<video start in 90 kHz>,LOCAL:00:00:00.000`,
//!   which says "cue time 0 is the video's first timestamp"; without it players drift by the video's start
//!   offset;
//! - a cue is repeated, unchanged, in every segment it overlaps: a player that seeks into the middle of a
//!   long cue fetches only that segment and must still show it (players de-duplicate identical cues);
//! - cue times stay absolute (programme time), not relative to the segment.

use super::{Cue, format_timestamp};

/// One segment's time span, in milliseconds of programme time, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSpan {
    /// First millisecond of the segment.
    pub start_ms: u64,
    /// One past the last millisecond.
    pub end_ms: u64,
}

impl SegmentSpan {
    /// Spans laid end to end from segment durations (in milliseconds), starting at 0.
    pub fn from_durations(durations_ms: &[u64]) -> Vec<SegmentSpan> {
        let mut start = 0u64;
        durations_ms
            .iter()
            .map(|&duration| {
                let span = SegmentSpan { start_ms: start, end_ms: start.saturating_add(duration) };
                start = span.end_ms;
                span
            })
            .collect()
    }

    /// Duration in seconds, for the playlist's EXTINF.
    pub fn seconds(&self) -> f64 {
        self.end_ms.saturating_sub(self.start_ms) as f64 / 1000.0
    }

    /// Whether the cue is shown during this span. A zero-length cue belongs to the span holding its start.
    pub fn overlaps(&self, cue: &Cue) -> bool {
        if cue.start_ms == cue.end_ms {
            self.start_ms <= cue.start_ms && cue.start_ms < self.end_ms
        } else {
            cue.start_ms < self.end_ms && cue.end_ms > self.start_ms
        }
    }
}

/// One WebVTT segment: its span and the cues shown in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VttSegment {
    /// The time the segment covers.
    pub span: SegmentSpan,
    /// Every cue overlapping the span, in start order.
    pub cues: Vec<Cue>,
}

impl VttSegment {
    /// The segment as a WebVTT file. `mpegts` is the video's first timestamp in 90 kHz ticks (taken modulo
    /// 2^33, the width of an MPEG-TS timestamp).
    pub fn to_webvtt(&self, mpegts: u64) -> String {
        let mut out = format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{},LOCAL:00:00:00.000\n", mpegts % (1 << 33));
        for cue in &self.cues {
            out.push('\n');
            out.push_str(&format_timestamp(cue.start_ms));
            out.push_str(" --> ");
            out.push_str(&format_timestamp(cue.end_ms));
            if !cue.settings.is_empty() {
                out.push(' ');
                out.push_str(&cue.settings);
            }
            out.push('\n');
            out.push_str(&cue.text);
            out.push('\n');
        }
        out
    }
}

/// Cuts `cues` into one segment per span. Cues entirely outside the spans are dropped (a subtitle after the
/// end of the video cannot be shown).
pub fn segment_webvtt(cues: &[Cue], spans: &[SegmentSpan]) -> Vec<VttSegment> {
    let mut sorted = cues.to_vec();
    sorted.sort_by_key(|cue| (cue.start_ms, cue.end_ms));
    webvtt_segments(&sorted, spans).collect()
}

/// The segments one at a time, for writing as they come: only the cues on screen in the current span are
/// held, never the whole output. `cues` must be sorted by start (as [`super::parse`] returns them).
pub fn webvtt_segments<'a>(cues: &'a [Cue], spans: &'a [SegmentSpan]) -> impl Iterator<Item = VttSegment> + 'a {
    let mut next = 0;
    let mut showing: Vec<&'a Cue> = Vec::new();
    spans.iter().map(move |&span| {
        while let Some(cue) = cues.get(next).filter(|cue| cue.start_ms < span.end_ms) {
            showing.push(cue);
            next += 1;
        }
        // A cue over before this span starts is over for every later one too.
        showing.retain(|cue| cue.end_ms.max(cue.start_ms.saturating_add(1)) > span.start_ms);
        let cues = showing.iter().filter(|cue| span.overlaps(cue)).map(|&cue| cue.clone()).collect();
        VttSegment { span, cues }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cue(start_ms: u64, end_ms: u64, text: &str) -> Cue {
        Cue { start_ms, end_ms, settings: String::new(), text: text.into() }
    }

    #[test]
    fn a_cue_across_a_boundary_is_in_both_segments() {
        let spans = SegmentSpan::from_durations(&[4000, 4000, 1000]);
        let cues = [cue(1000, 2500, "a"), cue(3000, 5000, "spans"), cue(8500, 20_000, "tail")];
        let segments = segment_webvtt(&cues, &spans);
        let texts: Vec<Vec<&str>> = segments.iter().map(|s| s.cues.iter().map(|c| c.text.as_str()).collect()).collect();
        assert_eq!(texts, vec![vec!["a", "spans"], vec!["spans"], vec!["tail"]]);
    }

    #[test]
    fn every_segment_has_the_header_even_when_empty() {
        let segments = segment_webvtt(&[], &SegmentSpan::from_durations(&[4000]));
        assert_eq!(segments[0].to_webvtt(900_000), "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n");
    }

    #[test]
    fn written_segments_parse_back_to_the_same_cues() {
        let spans = SegmentSpan::from_durations(&[4000, 4000]);
        let cues = [cue(1000, 2500, "<i>a</i> &amp; b"), Cue { settings: "line:0".into(), ..cue(3000, 5000, "x\ny") }];
        for segment in segment_webvtt(&cues, &spans) {
            let parsed = super::super::vtt::parse(&segment.to_webvtt(10)).unwrap();
            assert_eq!(parsed.cues, segment.cues);
            assert_eq!(parsed.timestamp_map.map(|m| m.mpegts), Some(10));
        }
    }

    proptest! {
        /// Every instant of every cue is covered by every segment holding that instant, and no segment
        /// holds a cue it does not overlap.
        #[test]
        fn every_cue_instant_is_in_every_overlapping_segment(
            durations in prop::collection::vec(1u64..6000, 1..12),
            raw_cues in prop::collection::vec((0u64..40_000, 0u64..9000), 0..30),
        ) {
            let spans = SegmentSpan::from_durations(&durations);
            let cues: Vec<Cue> = raw_cues.iter().enumerate()
                .map(|(i, &(start, length))| cue(start, start + length, &format!("cue {i}")))
                .collect();
            let segments = segment_webvtt(&cues, &spans);
            prop_assert_eq!(segments.len(), spans.len());
            for c in &cues {
                for segment in &segments {
                    let shown = segment.cues.contains(c);
                    // Sample the cue's instants: its start, its last millisecond and the segment edges.
                    let instants = [c.start_ms, c.end_ms.saturating_sub(1), segment.span.start_ms, segment.span.end_ms.saturating_sub(1)];
                    let covers_an_instant = c.end_ms > c.start_ms && instants.iter().any(|&t| {
                        c.start_ms <= t && t < c.end_ms && segment.span.start_ms <= t && t < segment.span.end_ms
                    });
                    if covers_an_instant {
                        prop_assert!(shown, "cue {:?} missing from segment {:?}", c, segment.span);
                    }
                    if shown {
                        prop_assert!(segment.span.overlaps(c), "cue {:?} wrongly in {:?}", c, segment.span);
                    }
                }
            }
        }
    }
}
