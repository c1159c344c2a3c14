//! Measurement of real segments: what the playlists must say is computed here from the bytes an engine
//! produced, never from the engine's settings.
//!
//! Per segment: start time and duration from `tfdt` and the `trun` sample durations (in the `mdhd`
//! timescale), byte size, whether it starts with an IDR (sync-sample flags *and* a NAL unit of type 5 in the
//! first sample), and the position of every keyframe for the I-frame playlists. Per track: the peak segment
//! bitrate (BANDWIDTH), the average (AVERAGE-BANDWIDTH) and the frame rate. The playlist writer and the
//! validator both call this module, so what we write and what we check cannot drift apart.

use crate::error::{PackagerError, Result};
use crate::mp4::fragment::{Sample, parse_fragments};
use crate::mp4::init::{InitSegment, MediaInfo, TrackInfo};

/// What one media segment really contains, for one track.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentMeasure {
    /// Decode time of the first sample, in track ticks.
    pub start: u64,
    /// Sum of the sample durations, in track ticks.
    pub duration: u64,
    /// Size of the segment in bytes (the whole file, or the byte range).
    pub bytes: u64,
    /// Number of samples of the track.
    pub sample_count: u64,
    /// Whether the first sample is a sync sample.
    pub first_sample_sync: bool,
    /// Whether the segment starts with an IDR: for video, the first sample is a sync sample and holds a NAL
    /// unit of type 5; for audio, where every frame is independent, the same as `first_sample_sync`.
    pub starts_with_idr: bool,
    /// Every sync sample of the segment (the GOP starts), for I-frame playlists.
    pub keyframes: Vec<Keyframe>,
}

/// A sync sample and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyframe {
    /// Decode time in track ticks.
    pub time: u64,
    /// Offset of the `moof` that describes it.
    pub moof_offset: u64,
    /// Offset one past the sample's last byte. `moof_offset..end` is the I-frame byte range.
    pub end: u64,
    /// Whether its data holds an IDR NAL unit (type 5), not just a flag saying "sync".
    pub idr: bool,
}

/// Measures one media segment of `track`. `data` is the segment (or its byte range) and `base` its offset in
/// the file.
pub fn measure_segment(track: &TrackInfo, data: &[u8], base: u64) -> Result<SegmentMeasure> {
    let fragments = parse_fragments(data, base, track.track_id, &track.defaults)?;
    let first_fragment = fragments.first().ok_or_else(|| PackagerError::Mp4 {
        fourcc: "moof".into(),
        offset: base,
        reason: format!("no fragment of track {}", track.track_id),
    })?;
    let start = first_fragment.base_decode_time.ok_or_else(|| PackagerError::Mp4 {
        fourcc: "tfdt".into(),
        offset: first_fragment.moof_offset,
        reason: "fragment has no tfdt, so its start time is unknown".into(),
    })?;
    let nal_length_size = match &track.media {
        MediaInfo::Video { avc, .. } => Some(avc.nal_length_size),
        _ => None,
    };
    let mut duration = 0u64;
    let mut sample_count = 0u64;
    let mut keyframes = Vec::new();
    let mut first: Option<Sample> = None;
    for fragment in &fragments {
        // A later fragment's tfdt wins over our running sum: it is the encoder's own clock.
        let mut time = fragment.base_decode_time.unwrap_or(start.saturating_add(duration));
        for sample in &fragment.samples {
            first.get_or_insert(*sample);
            if sample.is_sync() && nal_length_size.is_some() {
                let idr = nal_length_size.is_some_and(|size| sample_has_idr(data, base, sample, size));
                keyframes.push(Keyframe { time, moof_offset: fragment.moof_offset, end: sample.end(), idr });
            }
            time = time.saturating_add(u64::from(sample.duration));
            duration = duration.saturating_add(u64::from(sample.duration));
            sample_count += 1;
        }
    }
    let first_sample_sync = first.is_some_and(|s| s.is_sync());
    let starts_with_idr = match nal_length_size {
        Some(size) => first.is_some_and(|s| s.is_sync() && sample_has_idr(data, base, &s, size)),
        None => first_sample_sync,
    };
    Ok(SegmentMeasure {
        start,
        duration,
        bytes: data.len() as u64,
        sample_count,
        first_sample_sync,
        starts_with_idr,
        keyframes,
    })
}

/// Whether the sample's data (length-prefixed NAL units) contains an IDR slice. Data outside `data` counts
/// as "no": a sample we cannot see cannot be proven to be an IDR.
fn sample_has_idr(data: &[u8], base: u64, sample: &Sample, nal_length_size: u8) -> bool {
    let Some(start) = sample.offset.checked_sub(base).and_then(|s| usize::try_from(s).ok()) else {
        return false;
    };
    let Some(bytes) = start.checked_add(sample.size as usize).and_then(|end| data.get(start..end)) else {
        return false;
    };
    let size = usize::from(nal_length_size);
    let mut pos = 0usize;
    while pos + size < bytes.len() {
        let length = bytes[pos..pos + size].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let nal_start = pos + size;
        if length == 0 || nal_start >= bytes.len() {
            return false;
        }
        if bytes[nal_start] & 0x1f == 5 {
            return true;
        }
        pos = match nal_start.checked_add(length) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

/// A media segment with its URI and measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredSegment {
    /// The URI the media playlist uses for it.
    pub uri: String,
    /// What it contains.
    pub measure: SegmentMeasure,
}

/// One rendition's track: its init segment information and its measured segments, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredTrack {
    /// The URI of the init segment (EXT-X-MAP).
    pub init_uri: String,
    /// The track, from the init segment.
    pub info: TrackInfo,
    /// The segments in playback order.
    pub segments: Vec<MeasuredSegment>,
}

impl MeasuredTrack {
    /// Measures a track from its init segment and its media segments `(uri, bytes)`.
    pub fn measure<'a>(
        init_uri: &str,
        init: &[u8],
        segments: impl IntoIterator<Item = (String, &'a [u8])>,
    ) -> Result<MeasuredTrack> {
        let parsed = InitSegment::parse(init)?;
        let info =
            parsed.main_track().cloned().ok_or_else(|| PackagerError::UnsupportedInit { reason: "no track".into() })?;
        let segments = segments
            .into_iter()
            .map(|(uri, data)| Ok(MeasuredSegment { measure: measure_segment(&info, data, 0)?, uri }))
            .collect::<Result<Vec<_>>>()?;
        Ok(MeasuredTrack { init_uri: init_uri.to_owned(), info, segments })
    }

    /// Converts track ticks to seconds.
    pub fn seconds(&self, ticks: u64) -> f64 {
        ticks as f64 / f64::from(self.info.timescale)
    }

    /// Segment durations in seconds.
    pub fn durations(&self) -> Vec<f64> {
        self.segments.iter().map(|s| self.seconds(s.measure.duration)).collect()
    }

    /// Segment start times in seconds.
    pub fn starts(&self) -> Vec<f64> {
        self.segments.iter().map(|s| self.seconds(s.measure.start)).collect()
    }

    /// Total duration in seconds.
    pub fn total_seconds(&self) -> f64 {
        self.segments.iter().map(|s| self.seconds(s.measure.duration)).sum()
    }

    /// Peak segment bitrate in bits per second, see [`peak_bitrate`].
    pub fn peak_bitrate(&self) -> u64 {
        let pairs: Vec<(u64, f64)> =
            self.segments.iter().map(|s| (s.measure.bytes, self.seconds(s.measure.duration))).collect();
        peak_bitrate(&pairs)
    }

    /// Average bitrate in bits per second: all bytes over the whole duration.
    pub fn average_bitrate(&self) -> u64 {
        let bytes: u64 = self.segments.iter().map(|s| s.measure.bytes).sum();
        let seconds = self.total_seconds();
        if seconds <= 0.0 { 0 } else { (bytes as f64 * 8.0 / seconds).round() as u64 }
    }

    /// Frames per second of a video track (samples over duration), rounded to 3 decimals; `None` for audio.
    pub fn frame_rate(&self) -> Option<f64> {
        if !self.info.is_video() {
            return None;
        }
        let samples: u64 = self.segments.iter().map(|s| s.measure.sample_count).sum();
        let seconds = self.total_seconds();
        (seconds > 0.0).then(|| (samples as f64 / seconds * 1000.0).round() / 1000.0)
    }

    /// The codec string from the init segment.
    pub fn codec(&self) -> Option<String> {
        self.info.codec()
    }

    /// Coded width and height of a video track.
    pub fn resolution(&self) -> Option<(u64, u64)> {
        match &self.info.media {
            MediaInfo::Video { width, height, .. } => Some((u64::from(*width), u64::from(*height))),
            _ => None,
        }
    }
}

/// The peak segment bitrate of `(bytes, seconds)` segments, in bits per second.
///
/// The last segment is left out when it is shorter than half the longest one (and is not the only one): a
/// 20 ms tail of audio carries a whole `moof` of overhead and would report a "peak" that no player ever
/// needs to sustain. Both the writer and the validator use this function, so they agree on the number.
pub fn peak_bitrate(segments: &[(u64, f64)]) -> u64 {
    let longest = segments.iter().map(|&(_, s)| s).fold(0.0f64, f64::max);
    let counted = match segments.split_last() {
        Some((&(_, last), rest)) if !rest.is_empty() && last < longest / 2.0 => rest,
        _ => segments,
    };
    counted
        .iter()
        .filter(|&&(_, seconds)| seconds > 0.0)
        .map(|&(bytes, seconds)| (bytes as f64 * 8.0 / seconds).round() as u64)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::mp4::fragment::tests::media_segment;
    use crate::mp4::init::tests::init_segment;

    fn gop(first_nal: u8) -> Vec<(u32, bool, u8)> {
        let mut samples = vec![(512, true, first_nal)];
        samples.extend(std::iter::repeat_n((512, false, 1), 99));
        samples
    }

    #[test]
    fn measures_duration_start_and_idr() {
        let init = init_segment(1, 12_800, true);
        let seg0 = media_segment(1, 0, &gop(5));
        let seg1 = media_segment(1, 51_200, &gop(5));
        let track = MeasuredTrack::measure(
            "init.mp4",
            &init,
            [("a.m4s".to_owned(), &seg0[..]), ("b.m4s".to_owned(), &seg1[..])],
        )
        .unwrap();
        assert_eq!(track.durations(), vec![4.0, 4.0]);
        assert_eq!(track.starts(), vec![0.0, 4.0]);
        assert!(track.segments.iter().all(|s| s.measure.starts_with_idr));
        assert_eq!(track.frame_rate(), Some(25.0));
        assert_eq!(track.codec().as_deref(), Some("avc1.64001e"));
        assert_eq!(track.segments[0].measure.keyframes.len(), 1);
        let bits = seg0.len() as u64 * 8 / 4;
        assert_eq!(track.peak_bitrate(), bits);
    }

    #[test]
    fn a_sync_flag_without_an_idr_nal_is_not_an_idr() {
        let track = InitSegment::parse(&init_segment(1, 12_800, true)).unwrap().tracks[0].clone();
        // NAL type 1 (non-IDR slice) flagged as sync: an encoder lying in its flags.
        let measure = measure_segment(&track, &media_segment(1, 0, &gop(1)), 0).unwrap();
        assert!(measure.first_sample_sync);
        assert!(!measure.starts_with_idr);
        let no_sync = [(512, false, 5)];
        assert!(!measure_segment(&track, &media_segment(1, 0, &no_sync), 0).unwrap().starts_with_idr);
    }

    #[test]
    fn short_last_segment_does_not_set_the_peak() {
        assert_eq!(peak_bitrate(&[(1000, 4.0), (1000, 4.0), (100, 0.02)]), 2000);
        assert_eq!(peak_bitrate(&[(100, 0.02)]), 40_000);
        assert_eq!(peak_bitrate(&[]), 0);
    }
}
