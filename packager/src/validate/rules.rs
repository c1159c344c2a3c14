//! The rules of the HLS contract, in one ordered list.
//!
//! Each [`Rule`] has a stable id (never reused: a retired rule keeps its number), a severity, a one-line doc
//! and a check over the [`LoadedLadder`]. The README's rules table and the reports' legend are generated from
//! [`RULES`]; the tests under each check live in `tests` below and in `packager/tests/`. Tolerances are named
//! constants with the reason next to them.

use std::collections::{BTreeMap, HashSet};

use m3u8_rs::{AlternativeMediaType, ClosedCaptionGroupId, VariantStream};

use super::load::{LoadedLadder, LoadedPlaylist, PlaylistRole};
use super::{Finding, Severity};
use crate::ladder::{IDR_INTERVAL_SECONDS, SEGMENT_SECONDS};
use crate::measure::MeasuredTrack;
use crate::playlist::{required_master_version, required_media_version};
use crate::subtitles::{Cue, SegmentSpan};

/// Declared BANDWIDTH and AVERAGE-BANDWIDTH may differ from the measured value by this fraction.
pub const BANDWIDTH_TOLERANCE: f64 = 0.10;
/// Video rungs come from one encode of one source, so their boundaries may differ only by rounding.
pub const VIDEO_BOUNDARY_TOLERANCE: f64 = 0.001;
/// An AAC frame lasts 1024 samples (21.3 ms at 48 kHz): an audio segment cannot end closer to the video
/// boundary than about one frame, so two frames are allowed.
pub const AUDIO_BOUNDARY_TOLERANCE: f64 = 0.045;
/// EXTINF is written from the same timestamps we measure; rounding in the text is the only difference.
pub const EXTINF_TOLERANCE: f64 = 0.005;
/// Playlists of one programme may differ in total length by encoder padding (an AAC frame, a video frame).
pub const LENGTH_TOLERANCE: f64 = 0.1;
/// A 4 s segment at 25 fps may be a frame off when the source frame rate does not divide 4 s evenly.
pub const SEGMENT_LENGTH_TOLERANCE: f64 = 0.05;
/// X-TIMESTAMP-MAP may be off the video's first timestamp by a frame at most (90 kHz ticks, 50 ms).
pub const TIMESTAMP_MAP_TOLERANCE: u64 = 4_500;

/// One rule of the contract.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, `HLS` + three digits.
    pub id: &'static str,
    /// Short kebab-case name.
    pub name: &'static str,
    /// Severity of every finding of the rule.
    pub severity: Severity,
    /// What the rule checks, in one sentence.
    pub summary: &'static str,
    /// The check.
    pub check: fn(&LoadedLadder, &mut Sink<'_>),
}

/// Where a rule's check puts its findings; it fills in the rule id and severity.
#[derive(Debug)]
pub struct Sink<'a> {
    rule: &'static Rule,
    findings: &'a mut Vec<Finding>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(rule: &'static Rule, findings: &'a mut Vec<Finding>) -> Self {
        Sink { rule, findings }
    }

    fn report(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            rule: self.rule.id,
            severity: self.rule.severity,
            location: location.into(),
            message: message.into(),
        });
    }
}

/// Every rule, in the order they run and are documented.
pub static RULES: &[Rule] = &[
    Rule {
        id: "HLS001",
        name: "files-readable",
        severity: Severity::Error,
        summary: "every playlist, init segment, media segment and WebVTT file the master leads to exists and parses",
        check: files_readable,
    },
    Rule {
        id: "HLS002",
        name: "version",
        severity: Severity::Error,
        summary: "the master and every media playlist declare an EXT-X-VERSION at least as high as their features need",
        check: version,
    },
    Rule {
        id: "HLS003",
        name: "independent-segments",
        severity: Severity::Error,
        summary: "the master carries EXT-X-INDEPENDENT-SEGMENTS (every segment starts with an IDR)",
        check: independent_segments,
    },
    Rule {
        id: "HLS004",
        name: "average-bandwidth",
        severity: Severity::Error,
        summary: "every EXT-X-STREAM-INF declares AVERAGE-BANDWIDTH",
        check: average_bandwidth,
    },
    Rule {
        id: "HLS005",
        name: "frame-rate",
        severity: Severity::Error,
        summary: "every video variant declares FRAME-RATE, equal to the measured frame rate",
        check: frame_rate,
    },
    Rule {
        id: "HLS006",
        name: "resolution",
        severity: Severity::Error,
        summary: "every video variant declares RESOLUTION, equal to the coded size of its stream",
        check: resolution,
    },
    Rule {
        id: "HLS007",
        name: "codecs",
        severity: Severity::Error,
        summary: "every variant declares CODECS, equal to the codecs of its stream and its audio group (avc1.PPCCLL, mp4a.40.2)",
        check: codecs,
    },
    Rule {
        id: "HLS008",
        name: "closed-captions-none",
        severity: Severity::Warning,
        summary: "variants without a closed-caption group say CLOSED-CAPTIONS=NONE, so players do not look for CEA-608 captions",
        check: closed_captions,
    },
    Rule {
        id: "HLS009",
        name: "bandwidth-measured",
        severity: Severity::Error,
        summary: "BANDWIDTH and AVERAGE-BANDWIDTH are within 10 % of the values measured from the segments",
        check: bandwidth_measured,
    },
    Rule {
        id: "HLS010",
        name: "ladder-order",
        severity: Severity::Error,
        summary: "a rung with more pixels declares a higher BANDWIDTH than every rung with fewer (no flat or inverted ladder)",
        check: ladder_order,
    },
    Rule {
        id: "HLS011",
        name: "renditions",
        severity: Severity::Error,
        summary: "referenced AUDIO/SUBTITLES groups exist; subtitle renditions have LANGUAGE; NAMEs are unique and at most one DEFAULT per group",
        check: renditions,
    },
    Rule {
        id: "HLS012",
        name: "vod-playlists",
        severity: Severity::Error,
        summary: "every media playlist says EXT-X-PLAYLIST-TYPE:VOD and ends with EXT-X-ENDLIST",
        check: vod_playlists,
    },
    Rule {
        id: "HLS013",
        name: "init-map",
        severity: Severity::Error,
        summary: "audio, video and I-frame playlists of fMP4 segments carry EXT-X-MAP",
        check: init_map,
    },
    Rule {
        id: "HLS014",
        name: "target-duration",
        severity: Severity::Error,
        summary: "every EXTINF rounds to at most TARGETDURATION, and audio, video and subtitle playlists share one TARGETDURATION",
        check: target_duration,
    },
    Rule {
        id: "HLS015",
        name: "extinf-measured",
        severity: Severity::Error,
        summary: "every EXTINF equals the duration measured from the segment's timestamps",
        check: extinf_measured,
    },
    Rule {
        id: "HLS016",
        name: "segment-length",
        severity: Severity::Error,
        summary: "video segments last 4 s; only the last one may be shorter",
        check: segment_length,
    },
    Rule {
        id: "HLS017",
        name: "idr-at-segment-start",
        severity: Severity::Error,
        summary: "every video segment starts with an IDR (sync sample flag and a NAL unit of type 5)",
        check: idr_at_segment_start,
    },
    Rule {
        id: "HLS018",
        name: "keyframe-interval",
        severity: Severity::Warning,
        summary: "keyframes come every 2 s, with no extra (scene-cut) keyframes",
        check: keyframe_interval,
    },
    Rule {
        id: "HLS019",
        name: "aligned-boundaries",
        severity: Severity::Error,
        summary: "every rung has its segments at the same times, and audio segments end at the video boundaries",
        check: aligned_boundaries,
    },
    Rule {
        id: "HLS020",
        name: "same-length",
        severity: Severity::Error,
        summary: "every media playlist (video, audio, subtitles) covers the same total length",
        check: same_length,
    },
    Rule {
        id: "HLS021",
        name: "iframe-playlists",
        severity: Severity::Error,
        summary: "every video rung has an I-frame playlist (EXT-X-I-FRAMES-ONLY) whose byte ranges cover a moof and the IDR of each GOP",
        check: iframe_playlists,
    },
    Rule {
        id: "HLS022",
        name: "webvtt-timestamp-map",
        severity: Severity::Error,
        summary: "every WebVTT segment has an X-TIMESTAMP-MAP whose MPEGTS matches the video's first timestamp",
        check: webvtt_timestamp_map,
    },
    Rule {
        id: "HLS023",
        name: "webvtt-cue-repetition",
        severity: Severity::Error,
        summary: "a cue that spans a segment boundary is repeated in every segment it overlaps",
        check: webvtt_cue_repetition,
    },
];

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

// ----- helpers ---------------------------------------------------------------------------------------------

fn variant_location(ladder: &LoadedLadder, variant: &VariantStream) -> String {
    let kind = if variant.is_i_frame { "I-frame variant" } else { "variant" };
    format!("{} ({kind} {})", ladder.master_name(), variant.uri)
}

fn playlist_location(ladder: &LoadedLadder, playlist: &LoadedPlaylist) -> String {
    let base = ladder.master_path.parent().unwrap_or(std::path::Path::new(""));
    playlist.path.strip_prefix(base).unwrap_or(&playlist.path).display().to_string()
}

fn segment_location(ladder: &LoadedLadder, playlist: &LoadedPlaylist, index: usize) -> String {
    let uri = playlist.segments.get(index).map(|s| s.uri.as_str()).unwrap_or("?");
    format!("{} (segment {index}, {uri})", playlist_location(ladder, playlist))
}

/// The (non-I-frame) variants with their index.
fn stream_variants(ladder: &LoadedLadder) -> impl Iterator<Item = (usize, &VariantStream)> {
    ladder.master.variants.iter().enumerate().filter(|(_, v)| !v.is_i_frame)
}

/// Whether a variant is a video variant: its stream is video, or (unloaded) it declares a RESOLUTION.
fn is_video_variant(ladder: &LoadedLadder, index: usize, variant: &VariantStream) -> bool {
    match ladder.variant_playlist(index).and_then(|p| p.track_info.as_ref()) {
        Some(info) => info.is_video(),
        None => variant.resolution.is_some(),
    }
}

/// The measured tracks of the audio group a variant references (other than the variant's own playlist).
/// `None` when one of them could not be measured.
fn audio_group_tracks<'a>(
    ladder: &'a LoadedLadder,
    variant: &VariantStream,
    own: Option<&LoadedPlaylist>,
) -> Option<Vec<&'a MeasuredTrack>> {
    let Some(group) = variant.audio.as_deref() else { return Some(Vec::new()) };
    let mut tracks = Vec::new();
    for (index, media) in ladder.master.alternatives.iter().enumerate() {
        if media.media_type != AlternativeMediaType::Audio || media.group_id != group || media.uri.is_none() {
            continue;
        }
        let playlist = ladder.rendition_playlist(index)?;
        if own.is_some_and(|own| own.path == playlist.path) {
            continue;
        }
        tracks.push(playlist.track.as_ref()?);
    }
    Some(tracks)
}

/// Measured (BANDWIDTH, AVERAGE-BANDWIDTH) of a variant: its stream's peak plus its audio group's peak.
fn measured_bandwidth(ladder: &LoadedLadder, index: usize, variant: &VariantStream) -> Option<(u64, u64)> {
    let own = ladder.variant_playlist(index)?;
    let track = own.track.as_ref()?;
    let audio = audio_group_tracks(ladder, variant, Some(own))?;
    let audio_peak = audio.iter().map(|t| t.peak_bitrate()).max().unwrap_or(0);
    let audio_average = audio.iter().map(|t| t.average_bitrate()).max().unwrap_or(0);
    Some((track.peak_bitrate() + audio_peak, track.average_bitrate() + audio_average))
}

fn within(declared: u64, measured: u64, tolerance: f64) -> bool {
    let (declared, measured) = (declared as f64, measured as f64);
    (declared - measured).abs() <= measured * tolerance
}

/// The media playlists that play along the programme (not I-frame playlists).
fn timeline_playlists(ladder: &LoadedLadder) -> impl Iterator<Item = &LoadedPlaylist> {
    ladder.playlists.iter().filter(|p| p.role != PlaylistRole::IFrames)
}

// ----- the checks ------------------------------------------------------------------------------------------

fn files_readable(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for problem in &ladder.problems {
        sink.report(problem.location.clone(), problem.message.clone());
    }
}

fn version(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let master_needs = required_master_version(&ladder.master);
    match ladder.master.version {
        None => sink.report(ladder.master_name(), "the master has no EXT-X-VERSION"),
        Some(declared) if declared < master_needs => sink.report(
            ladder.master_name(),
            format!("EXT-X-VERSION is {declared} but the master's features need {master_needs}"),
        ),
        Some(_) => {}
    }
    for playlist in &ladder.playlists {
        let Some(media) = &playlist.playlist else { continue };
        let needs = required_media_version(media);
        let declared = media.version.unwrap_or(1);
        if declared < needs {
            sink.report(
                playlist_location(ladder, playlist),
                format!("EXT-X-VERSION is {declared} but the playlist's features need {needs}"),
            );
        }
    }
}

fn independent_segments(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    if !ladder.master.independent_segments {
        sink.report(ladder.master_name(), "the master has no EXT-X-INDEPENDENT-SEGMENTS");
    }
}

fn average_bandwidth(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for (_, variant) in stream_variants(ladder) {
        if variant.average_bandwidth.is_none() {
            sink.report(variant_location(ladder, variant), "no AVERAGE-BANDWIDTH");
        }
    }
}

fn frame_rate(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for (index, variant) in stream_variants(ladder) {
        if !is_video_variant(ladder, index, variant) {
            continue;
        }
        let measured =
            ladder.variant_playlist(index).and_then(|p| p.track.as_ref()).and_then(MeasuredTrack::frame_rate);
        match (variant.frame_rate, measured) {
            (None, _) => sink.report(variant_location(ladder, variant), "no FRAME-RATE"),
            (Some(declared), Some(measured)) if (declared - measured).abs() > measured * 0.01 => sink.report(
                variant_location(ladder, variant),
                format!("FRAME-RATE is {declared} but the stream has {measured:.3} frames per second"),
            ),
            _ => {}
        }
    }
}

fn resolution(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for (index, variant) in stream_variants(ladder) {
        if !is_video_variant(ladder, index, variant) {
            continue;
        }
        let measured =
            ladder.variant_playlist(index).and_then(|p| p.track.as_ref()).and_then(MeasuredTrack::resolution);
        match (&variant.resolution, measured) {
            (None, _) => sink.report(variant_location(ladder, variant), "no RESOLUTION"),
            (Some(declared), Some((width, height))) if (declared.width, declared.height) != (width, height) => sink
                .report(
                    variant_location(ladder, variant),
                    format!("RESOLUTION is {declared} but the stream is {width}x{height}"),
                ),
            _ => {}
        }
    }
}

fn codecs(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for (index, variant) in ladder.master.variants.iter().enumerate() {
        let Some(declared) = &variant.codecs else {
            sink.report(variant_location(ladder, variant), "no CODECS");
            continue;
        };
        let declared: HashSet<&str> = declared.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
        // An I-frame playlist shares its rung's segments: find the rung's track by file.
        let own_track = if variant.is_i_frame {
            iframe_rung(ladder, index).and_then(|p| p.track_info.clone())
        } else {
            ladder.variant_playlist(index).and_then(|p| p.track_info.clone())
        };
        let Some(own_track) = own_track else { continue };
        let mut measured: Vec<String> = own_track.codec().into_iter().collect();
        if !variant.is_i_frame {
            let own = ladder.variant_playlist(index);
            let Some(audio) = audio_group_tracks(ladder, variant, own) else { continue };
            measured.extend(audio.iter().filter_map(|t| t.codec()));
        }
        let measured_set: HashSet<&str> = measured.iter().map(String::as_str).collect();
        if declared != measured_set {
            let mut sorted: Vec<&str> = measured_set.into_iter().collect();
            sorted.sort_unstable();
            sink.report(
                variant_location(ladder, variant),
                format!("CODECS does not match the streams, which are `{}`", sorted.join(",")),
            );
        }
    }
}

fn closed_captions(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let has_cc_group =
        ladder.master.alternatives.iter().any(|media| media.media_type == AlternativeMediaType::ClosedCaptions);
    if has_cc_group {
        return;
    }
    for (index, variant) in stream_variants(ladder) {
        if is_video_variant(ladder, index, variant) && variant.closed_captions != Some(ClosedCaptionGroupId::None) {
            sink.report(variant_location(ladder, variant), "no CLOSED-CAPTIONS=NONE");
        }
    }
}

fn bandwidth_measured(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for (index, variant) in stream_variants(ladder) {
        let Some((peak, average)) = measured_bandwidth(ladder, index, variant) else { continue };
        if !within(variant.bandwidth, peak, BANDWIDTH_TOLERANCE) {
            sink.report(
                variant_location(ladder, variant),
                format!(
                    "BANDWIDTH is {} but the measured peak segment bitrate is {peak} ({:+.0} %)",
                    variant.bandwidth,
                    (variant.bandwidth as f64 / peak.max(1) as f64 - 1.0) * 100.0
                ),
            );
        }
        if let Some(declared) = variant.average_bandwidth
            && !within(declared, average, BANDWIDTH_TOLERANCE)
        {
            sink.report(
                variant_location(ladder, variant),
                format!("AVERAGE-BANDWIDTH is {declared} but the measured average is {average}"),
            );
        }
    }
}

fn ladder_order(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let rungs: Vec<(&VariantStream, u64)> =
        stream_variants(ladder).filter_map(|(_, v)| v.resolution.map(|r| (v, r.width * r.height))).collect();
    for (bigger, pixels) in &rungs {
        for (smaller, smaller_pixels) in &rungs {
            if pixels > smaller_pixels && bigger.bandwidth <= smaller.bandwidth {
                sink.report(
                    variant_location(ladder, bigger),
                    format!(
                        "declares BANDWIDTH {} but the smaller rung {} declares {}",
                        bigger.bandwidth, smaller.uri, smaller.bandwidth
                    ),
                );
            }
        }
    }
}

fn renditions(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let master = ladder.master_name();
    let mut groups: BTreeMap<(String, String), Vec<&m3u8_rs::AlternativeMedia>> = BTreeMap::new();
    for media in &ladder.master.alternatives {
        groups.entry((media.media_type.to_string(), media.group_id.clone())).or_default().push(media);
        if media.media_type == AlternativeMediaType::Subtitles && media.language.as_deref().is_none_or(str::is_empty) {
            sink.report(format!("{master} (rendition {})", media.name), "subtitle rendition has no LANGUAGE");
        }
    }
    for ((kind, group), members) in &groups {
        let defaults = members.iter().filter(|m| m.default).count();
        if defaults > 1 {
            sink.report(master.clone(), format!("{kind} group `{group}` has {defaults} DEFAULT=YES renditions"));
        }
        let mut names = HashSet::new();
        for member in members {
            if !names.insert(member.name.as_str()) {
                sink.report(
                    master.clone(),
                    format!("{kind} group `{group}` has two renditions named `{}`", member.name),
                );
            }
        }
    }
    for (_, variant) in stream_variants(ladder) {
        for (kind, group) in [("AUDIO", &variant.audio), ("SUBTITLES", &variant.subtitles)] {
            if let Some(group) = group
                && !groups.contains_key(&(kind.to_owned(), group.clone()))
            {
                sink.report(variant_location(ladder, variant), format!("{kind} group `{group}` is not defined"));
            }
        }
    }
}

fn vod_playlists(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for playlist in &ladder.playlists {
        let Some(media) = &playlist.playlist else { continue };
        if media.playlist_type != Some(m3u8_rs::MediaPlaylistType::Vod) {
            sink.report(playlist_location(ladder, playlist), "no EXT-X-PLAYLIST-TYPE:VOD");
        }
        if !media.end_list {
            sink.report(playlist_location(ladder, playlist), "no EXT-X-ENDLIST");
        }
    }
}

fn init_map(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for playlist in &ladder.playlists {
        let Some(media) = &playlist.playlist else { continue };
        if playlist.role == PlaylistRole::Subtitles {
            continue;
        }
        match media.segments.first() {
            Some(first) if first.map.is_some() => {}
            Some(_) => sink.report(playlist_location(ladder, playlist), "no EXT-X-MAP before the first segment"),
            None => sink.report(playlist_location(ladder, playlist), "the playlist has no segment"),
        }
    }
}

fn target_duration(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let mut targets: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for playlist in &ladder.playlists {
        let Some(media) = &playlist.playlist else { continue };
        for (index, segment) in playlist.segments.iter().enumerate() {
            if segment.extinf.round() as u64 > media.target_duration {
                sink.report(
                    segment_location(ladder, playlist, index),
                    format!("EXTINF {} is longer than TARGETDURATION {}", segment.extinf, media.target_duration),
                );
            }
        }
        if playlist.role != PlaylistRole::IFrames {
            targets.entry(media.target_duration).or_default().push(playlist_location(ladder, playlist));
        }
    }
    if targets.len() > 1 {
        let listed: Vec<String> =
            targets.iter().map(|(target, playlists)| format!("{target} in {}", playlists.join(", "))).collect();
        sink.report(ladder.master_name(), format!("media playlists disagree on TARGETDURATION: {}", listed.join("; ")));
    }
}

fn extinf_measured(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for playlist in timeline_playlists(ladder) {
        let Some(track) = &playlist.track else { continue };
        for (index, (segment, measured)) in playlist.segments.iter().zip(&track.segments).enumerate() {
            let seconds = track.seconds(measured.measure.duration);
            if (segment.extinf - seconds).abs() > EXTINF_TOLERANCE {
                sink.report(
                    segment_location(ladder, playlist, index),
                    format!("EXTINF says {} s but the segment lasts {seconds:.6} s", segment.extinf),
                );
            }
        }
    }
}

fn segment_length(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for playlist in ladder.video_playlists() {
        let Some(track) = &playlist.track else { continue };
        let durations = track.durations();
        let last = durations.len().saturating_sub(1);
        for (index, &seconds) in durations.iter().enumerate() {
            let too_long = seconds > SEGMENT_SECONDS + SEGMENT_LENGTH_TOLERANCE;
            let too_short = index != last && seconds < SEGMENT_SECONDS - SEGMENT_LENGTH_TOLERANCE;
            if too_long || too_short {
                sink.report(
                    segment_location(ladder, playlist, index),
                    format!("segment lasts {seconds:.3} s, the contract says {SEGMENT_SECONDS} s"),
                );
            }
        }
    }
}

fn idr_at_segment_start(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for playlist in ladder.video_playlists() {
        for (index, segment) in playlist.segments.iter().enumerate() {
            let Some(measure) = &segment.measure else { continue };
            if !measure.starts_with_idr {
                let why = if measure.first_sample_sync {
                    "its first sample is flagged sync but holds no IDR NAL unit"
                } else {
                    "its first sample is not a sync sample"
                };
                sink.report(
                    segment_location(ladder, playlist, index),
                    format!("segment does not start with an IDR: {why}"),
                );
            }
        }
    }
}

fn keyframe_interval(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    for playlist in ladder.video_playlists() {
        let Some(track) = &playlist.track else { continue };
        let frame = track.frame_rate().filter(|&fps| fps > 0.0).map(|fps| 1.0 / fps).unwrap_or(0.05);
        let times: Vec<f64> =
            track.segments.iter().flat_map(|s| s.measure.keyframes.iter().map(|k| track.seconds(k.time))).collect();
        let mut reported = 0;
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            if (gap - IDR_INTERVAL_SECONDS).abs() > frame / 2.0 && reported < 5 {
                reported += 1;
                sink.report(
                    playlist_location(ladder, playlist),
                    format!(
                        "keyframes at {:.3} s and {:.3} s are {gap:.3} s apart, not {IDR_INTERVAL_SECONDS} s",
                        pair[0], pair[1]
                    ),
                );
            }
        }
    }
}

fn aligned_boundaries(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let Some(reference) = ladder.reference_video() else { return };
    let reference_starts = reference.starts();
    let reference_end =
        reference.starts().last().copied().unwrap_or(0.0) + reference.durations().last().copied().unwrap_or(0.0);
    for playlist in ladder.video_playlists() {
        let Some(track) = &playlist.track else { continue };
        let starts = track.starts();
        if starts.len() != reference_starts.len() {
            sink.report(
                playlist_location(ladder, playlist),
                format!("{} segments, but the first rung has {}", starts.len(), reference_starts.len()),
            );
            continue;
        }
        if let Some((index, (a, b))) = starts
            .iter()
            .zip(&reference_starts)
            .enumerate()
            .find(|(_, (a, b))| (*a - *b).abs() > VIDEO_BOUNDARY_TOLERANCE)
        {
            sink.report(
                segment_location(ladder, playlist, index),
                format!("segment starts at {a:.3} s, but at {b:.3} s in the first rung"),
            );
        }
    }
    for playlist in ladder
        .playlists
        .iter()
        .filter(|p| p.role == PlaylistRole::Audio || (p.role == PlaylistRole::Variant && !p.is_video()))
    {
        let Some(track) = &playlist.track else { continue };
        for (index, start) in track.starts().into_iter().enumerate() {
            // Every audio segment must start at a video boundary (or at the very end, for a last sliver).
            let nearest = reference_starts
                .iter()
                .chain(std::iter::once(&reference_end))
                .map(|b| (start - b).abs())
                .fold(f64::INFINITY, f64::min);
            if nearest > AUDIO_BOUNDARY_TOLERANCE {
                sink.report(
                    segment_location(ladder, playlist, index),
                    format!(
                        "audio segment starts at {start:.3} s, {nearest:.3} s away from any video segment boundary"
                    ),
                );
            }
        }
    }
}

fn same_length(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let Some(reference) = ladder.reference_video() else { return };
    let expected = reference.total_seconds();
    for playlist in timeline_playlists(ladder) {
        let total = match &playlist.track {
            Some(track) => track.total_seconds(),
            None if playlist.playlist.is_some() => playlist.extinf_total(),
            None => continue,
        };
        if (total - expected).abs() > LENGTH_TOLERANCE {
            sink.report(
                playlist_location(ladder, playlist),
                format!("lasts {total:.3} s but the video lasts {expected:.3} s"),
            );
        }
    }
}

/// The video rung whose segments an I-frame variant's playlist points into.
fn iframe_rung(ladder: &LoadedLadder, index: usize) -> Option<&LoadedPlaylist> {
    let iframe = ladder.variant_playlist(index)?;
    let first = iframe.segments.first()?;
    ladder.video_playlists().into_iter().find(|rung| rung.segments.iter().any(|s| s.path == first.path))
}

fn iframe_playlists(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let covered: Vec<&LoadedPlaylist> = ladder
        .master
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_i_frame)
        .filter_map(|(index, _)| iframe_rung(ladder, index))
        .collect();
    for rung in ladder.video_playlists() {
        if !covered.iter().any(|c| c.path == rung.path) {
            sink.report(playlist_location(ladder, rung), "no EXT-X-I-FRAME-STREAM-INF points at this rung");
        }
    }
    for (index, variant) in ladder.master.variants.iter().enumerate().filter(|(_, v)| v.is_i_frame) {
        let Some(playlist) = ladder.variant_playlist(index) else { continue };
        let Some(media) = &playlist.playlist else { continue };
        let location = playlist_location(ladder, playlist);
        if !media.i_frames_only {
            sink.report(location.clone(), "no EXT-X-I-FRAMES-ONLY");
        }
        let Some(rung) = iframe_rung(ladder, index) else {
            sink.report(variant_location(ladder, variant), "points at no segment of any video rung");
            continue;
        };
        if rung.track.is_none() {
            // Some of the rung's segments could not be measured (HLS001 says which): nothing to compare with.
            continue;
        }
        let keyframes: Vec<_> = rung
            .segments
            .iter()
            .filter_map(|s| s.measure.as_ref().map(|m| (s, m)))
            .flat_map(|(s, m)| m.keyframes.iter().map(move |k| (s, *k)))
            .collect();
        if keyframes.len() != media.segments.len() {
            sink.report(
                location.clone(),
                format!("{} entries, but the rung has {} keyframes", media.segments.len(), keyframes.len()),
            );
        }
        let mut bad = 0;
        for (entry_index, entry) in media.segments.iter().enumerate() {
            let Some(range) = &entry.byte_range else {
                sink.report(segment_location(ladder, playlist, entry_index), "entry has no EXT-X-BYTERANGE");
                bad += 1;
                continue;
            };
            let offset = range.offset.unwrap_or(0);
            let end = offset.saturating_add(range.length);
            let path = &playlist.segments[entry_index].path;
            let ok = keyframes.iter().any(|(segment, keyframe)| {
                &segment.path == path && keyframe.moof_offset == offset && keyframe.end <= end && keyframe.idr
            });
            if !ok && bad < 5 {
                bad += 1;
                sink.report(
                    segment_location(ladder, playlist, entry_index),
                    format!("byte range {}@{offset} does not cover a moof and an IDR sample", range.length),
                );
            }
        }
    }
}

/// The subtitle playlists, with the media time (in seconds) of cue time 0 for each segment.
fn subtitle_playlists(ladder: &LoadedLadder) -> impl Iterator<Item = &LoadedPlaylist> {
    ladder.playlists.iter().filter(|p| p.role == PlaylistRole::Subtitles)
}

fn video_start_90k(ladder: &LoadedLadder) -> Option<u64> {
    let track = ladder.reference_video()?;
    let first = track.segments.first()?;
    Some((u128::from(first.measure.start) * 90_000 / u128::from(track.info.timescale)) as u64)
}

fn webvtt_timestamp_map(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    let expected = video_start_90k(ladder);
    for playlist in subtitle_playlists(ladder) {
        let mut missing = 0usize;
        for (index, segment) in playlist.segments.iter().enumerate() {
            let Some(file) = &segment.vtt else { continue };
            match (file.timestamp_map, expected) {
                (None, _) => missing += 1,
                (Some(map), Some(expected)) => {
                    let local_90k = map.local_ms * 90;
                    let zero = map.mpegts.wrapping_sub(local_90k) % (1 << 33);
                    if zero.abs_diff(expected % (1 << 33)) > TIMESTAMP_MAP_TOLERANCE {
                        sink.report(
                            segment_location(ladder, playlist, index),
                            format!(
                                "X-TIMESTAMP-MAP puts cue time 0 at MPEGTS {zero}, but the video starts at {expected}"
                            ),
                        );
                    }
                }
                (Some(_), None) => {}
            }
        }
        if missing > 0 {
            sink.report(
                playlist_location(ladder, playlist),
                format!("{missing} of {} WebVTT segments have no X-TIMESTAMP-MAP", playlist.segments.len()),
            );
        }
    }
}

fn webvtt_cue_repetition(ladder: &LoadedLadder, sink: &mut Sink<'_>) {
    // Cue times are read as programme time, which they are when the X-TIMESTAMP-MAP maps LOCAL 0 to the
    // video's start (HLS022 checks that) and, by convention, when there is no map at all.
    for playlist in subtitle_playlists(ladder) {
        let durations: Vec<u64> = playlist.segments.iter().map(|s| (s.extinf * 1000.0).round() as u64).collect();
        let spans = SegmentSpan::from_durations(&durations);
        // Every distinct cue of the rendition, with the segments that hold it.
        let mut holders: BTreeMap<(u64, u64, &str), Vec<usize>> = BTreeMap::new();
        for (index, segment) in playlist.segments.iter().enumerate() {
            let Some(file) = &segment.vtt else { continue };
            for cue in &file.cues {
                holders.entry((cue.start_ms, cue.end_ms, cue.text.as_str())).or_default().push(index);
            }
        }
        let mut reported = 0;
        for ((start_ms, end_ms, text), held_by) in &holders {
            let cue = Cue { start_ms: *start_ms, end_ms: *end_ms, settings: String::new(), text: (*text).to_owned() };
            for (index, span) in spans.iter().enumerate() {
                let readable = playlist.segments[index].vtt.is_some();
                if readable && span.overlaps(&cue) && !held_by.contains(&index) && reported < 20 {
                    reported += 1;
                    sink.report(
                        segment_location(ladder, playlist, index),
                        format!(
                            "cue {} --> {} overlaps this segment but is not repeated in it",
                            crate::subtitles::format_timestamp(*start_ms),
                            crate::subtitles::format_timestamp(*end_ms)
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_ordered_and_documented() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted, "ids must be unique and in order");
        for rule in RULES {
            assert!(rule.id.len() == 6 && rule.id.starts_with("HLS"), "{}", rule.id);
            assert!(!rule.summary.is_empty() && !rule.summary.ends_with('.'), "{}", rule.id);
            assert!(rule.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", rule.id);
        }
        assert!(rule("HLS009").is_some());
    }

    #[test]
    fn tolerance_is_relative_to_the_measurement() {
        assert!(within(110, 100, BANDWIDTH_TOLERANCE));
        assert!(within(90, 100, BANDWIDTH_TOLERANCE));
        assert!(!within(111, 100, BANDWIDTH_TOLERANCE));
        assert!(!within(140_800, 400_000, BANDWIDTH_TOLERANCE));
    }
}
