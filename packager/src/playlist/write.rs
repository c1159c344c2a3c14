//! Writing the ladder's playlists from measured tracks.
//!
//! Every number a playlist states comes from [`crate::measure`]: BANDWIDTH is the peak segment bitrate of the
//! video plus the audio group's peak, AVERAGE-BANDWIDTH the same from the totals, CODECS from the init
//! segments, FRAME-RATE from the samples. One TARGETDURATION is shared by every media playlist of the ladder
//! (audio, video, I-frame, subtitles), as the contract asks.

use std::collections::HashSet;

use m3u8_rs::{
    AlternativeMedia, AlternativeMediaType, ByteRange, ClosedCaptionGroupId, Map, MasterPlaylist, MediaPlaylist,
    MediaPlaylistType, MediaSegment, Resolution, VariantStream,
};

use super::required_media_version;
use crate::error::{PackagerError, Result};
use crate::measure::{MeasuredTrack, peak_bitrate};

/// GROUP-ID of the audio renditions.
pub const AUDIO_GROUP: &str = "audio";
/// GROUP-ID of the subtitle renditions.
pub const SUBTITLE_GROUP: &str = "subs";
/// The EXT-X-VERSION of our fMP4 media playlists (EXT-X-MAP outside an I-frames-only playlist needs 6); the
/// master declares it too so the whole ladder speaks one version.
pub const LADDER_VERSION: usize = 6;

/// One video rung.
#[derive(Debug, Clone)]
pub struct VideoVariant<'a> {
    /// URI of its media playlist, relative to the master.
    pub uri: String,
    /// URI of its I-frame playlist, relative to the master, when one is written.
    pub iframe_uri: Option<String>,
    /// The measured video track. Its segment URIs are relative to its media playlist.
    pub track: &'a MeasuredTrack,
}

/// One audio rendition of the audio group.
#[derive(Debug, Clone)]
pub struct AudioRendition<'a> {
    /// URI of its media playlist, relative to the master.
    pub uri: String,
    /// NAME, unique in the group.
    pub name: String,
    /// LANGUAGE (RFC 5646), when known.
    pub language: Option<String>,
    /// DEFAULT=YES; at most one per group (the first one when none is marked).
    pub default: bool,
    /// The measured audio track.
    pub track: &'a MeasuredTrack,
}

/// One subtitle rendition.
#[derive(Debug, Clone)]
pub struct SubtitleRendition {
    /// URI of its playlist, relative to the master.
    pub uri: String,
    /// NAME shown to the learner, unique in the group.
    pub name: String,
    /// LANGUAGE (RFC 5646), required for subtitles.
    pub language: String,
    /// DEFAULT=YES; at most one per group.
    pub default: bool,
    /// Its WebVTT segments: URI (relative to its playlist) and duration in seconds.
    pub segments: Vec<(String, f64)>,
}

/// Everything the master playlist lists.
#[derive(Debug, Clone, Default)]
pub struct MasterSpec<'a> {
    /// The video rungs, in any order (the master lists them by BANDWIDTH, highest first).
    pub video: Vec<VideoVariant<'a>>,
    /// The audio group.
    pub audio: Vec<AudioRendition<'a>>,
    /// The subtitle group.
    pub subtitles: Vec<SubtitleRendition>,
}

/// The master and every media playlist of a ladder, ready to be written.
#[derive(Debug, Clone)]
pub struct LadderPlaylists {
    /// The master playlist.
    pub master: MasterPlaylist,
    /// Every media playlist (video, I-frame, audio, subtitles) with its URI relative to the master.
    pub media: Vec<(String, MediaPlaylist)>,
}

impl MasterSpec<'_> {
    /// Builds the master and all media playlists with one shared TARGETDURATION.
    pub fn playlists(&self) -> Result<LadderPlaylists> {
        let master = master_playlist(self)?;
        let mut durations: Vec<f64> = Vec::new();
        for variant in &self.video {
            durations.extend(variant.track.durations());
        }
        for audio in &self.audio {
            durations.extend(audio.track.durations());
        }
        for subtitles in &self.subtitles {
            durations.extend(subtitles.segments.iter().map(|&(_, d)| d));
        }
        let target = target_duration(durations);
        let mut media = Vec::new();
        for variant in &self.video {
            media.push((variant.uri.clone(), media_playlist(variant.track, target)));
            if let Some(iframe_uri) = &variant.iframe_uri {
                media.push((iframe_uri.clone(), iframe_playlist(variant.track, target)));
            }
        }
        for audio in &self.audio {
            media.push((audio.uri.clone(), media_playlist(audio.track, target)));
        }
        for subtitles in &self.subtitles {
            media.push((subtitles.uri.clone(), subtitle_playlist(&subtitles.segments, target)));
        }
        Ok(LadderPlaylists { master, media })
    }
}

fn invalid(reason: impl Into<String>) -> PackagerError {
    PackagerError::InvalidLadder { reason: reason.into() }
}

fn check_group<'n>(kind: &str, names: impl Iterator<Item = (&'n str, bool)>) -> Result<()> {
    let mut seen = HashSet::new();
    let mut defaults = 0;
    for (name, default) in names {
        if name.is_empty() {
            return Err(invalid(format!("a {kind} rendition has an empty NAME")));
        }
        if !seen.insert(name) {
            return Err(invalid(format!("two {kind} renditions are named `{name}`")));
        }
        defaults += usize::from(default);
    }
    if defaults > 1 {
        return Err(invalid(format!("{defaults} {kind} renditions are DEFAULT; at most one may be")));
    }
    Ok(())
}

/// Builds the master playlist.
pub fn master_playlist(spec: &MasterSpec<'_>) -> Result<MasterPlaylist> {
    if spec.video.is_empty() {
        return Err(invalid("a ladder needs at least one video rung"));
    }
    check_group("audio", spec.audio.iter().map(|a| (a.name.as_str(), a.default)))?;
    check_group("subtitle", spec.subtitles.iter().map(|s| (s.name.as_str(), s.default)))?;
    if let Some(unnamed) = spec.subtitles.iter().find(|s| s.language.trim().is_empty()) {
        return Err(invalid(format!("subtitle rendition `{}` has no LANGUAGE", unnamed.name)));
    }

    let mut alternatives = Vec::new();
    let any_audio_default = spec.audio.iter().any(|a| a.default);
    for (index, audio) in spec.audio.iter().enumerate() {
        if audio.track.info.is_video() {
            return Err(invalid(format!("audio rendition `{}` holds a video track", audio.name)));
        }
        alternatives.push(AlternativeMedia {
            media_type: AlternativeMediaType::Audio,
            uri: Some(audio.uri.clone()),
            group_id: AUDIO_GROUP.to_owned(),
            language: audio.language.clone(),
            name: audio.name.clone(),
            // A group needs a rendition to start with: the first one when none is marked.
            default: audio.default || (!any_audio_default && index == 0),
            autoselect: true,
            channels: match &audio.track.info.media {
                crate::mp4::init::MediaInfo::Audio { channels, .. } => Some(channels.to_string()),
                _ => None,
            },
            ..AlternativeMedia::default()
        });
    }
    for subtitles in &spec.subtitles {
        alternatives.push(AlternativeMedia {
            media_type: AlternativeMediaType::Subtitles,
            uri: Some(subtitles.uri.clone()),
            group_id: SUBTITLE_GROUP.to_owned(),
            language: Some(subtitles.language.clone()),
            name: subtitles.name.clone(),
            default: subtitles.default,
            autoselect: true,
            ..AlternativeMedia::default()
        });
    }

    // The audio group's cost is its most expensive rendition: a player may pick any of them.
    let audio_peak = spec.audio.iter().map(|a| a.track.peak_bitrate()).max().unwrap_or(0);
    let audio_average = spec.audio.iter().map(|a| a.track.average_bitrate()).max().unwrap_or(0);
    let mut audio_codecs: Vec<String> = Vec::new();
    for codec in spec.audio.iter().filter_map(|a| a.track.codec()) {
        if !audio_codecs.contains(&codec) {
            audio_codecs.push(codec);
        }
    }

    let mut variants = Vec::new();
    let mut iframe_variants = Vec::new();
    for video in &spec.video {
        let track = video.track;
        let video_codec = track
            .codec()
            .filter(|_| track.info.is_video())
            .ok_or_else(|| invalid(format!("rung `{}` has no H.264 video track", video.uri)))?;
        let resolution = track.resolution().map(|(width, height)| Resolution { width, height });
        let mut codecs = vec![video_codec.clone()];
        codecs.extend(audio_codecs.iter().cloned());
        variants.push(VariantStream {
            uri: video.uri.clone(),
            bandwidth: track.peak_bitrate() + audio_peak,
            average_bandwidth: Some(track.average_bitrate() + audio_average),
            codecs: Some(codecs.join(",")),
            resolution,
            frame_rate: track.frame_rate(),
            audio: (!spec.audio.is_empty()).then(|| AUDIO_GROUP.to_owned()),
            subtitles: (!spec.subtitles.is_empty()).then(|| SUBTITLE_GROUP.to_owned()),
            closed_captions: Some(ClosedCaptionGroupId::None),
            ..VariantStream::default()
        });
        if let Some(iframe_uri) = &video.iframe_uri {
            let (peak, average) = iframe_bitrates(track);
            iframe_variants.push(VariantStream {
                is_i_frame: true,
                uri: iframe_uri.clone(),
                bandwidth: peak,
                average_bandwidth: Some(average),
                codecs: Some(video_codec),
                resolution,
                ..VariantStream::default()
            });
        }
    }
    // Highest first: the order of the ladder spec, and the first variant is the one a client tries first on
    // a good connection.
    variants.sort_by_key(|v| std::cmp::Reverse(v.bandwidth));
    iframe_variants.sort_by_key(|v| std::cmp::Reverse(v.bandwidth));
    variants.extend(iframe_variants);
    Ok(MasterPlaylist {
        version: Some(LADDER_VERSION),
        independent_segments: true,
        alternatives,
        variants,
        ..MasterPlaylist::default()
    })
}

/// One entry of an I-frame playlist: the keyframe's segment, byte range and duration.
#[derive(Debug, Clone, PartialEq)]
pub struct IFrameEntry {
    /// The segment holding the keyframe.
    pub uri: String,
    /// Offset of the `moof` describing the keyframe.
    pub offset: u64,
    /// Bytes from the `moof` to the end of the keyframe sample.
    pub length: u64,
    /// Time until the next keyframe, in seconds.
    pub seconds: f64,
}

/// The I-frame entries of a video track: one per keyframe (each GOP start), in order.
pub fn iframe_entries(track: &MeasuredTrack) -> Vec<IFrameEntry> {
    let mut keyframes: Vec<(&str, u64, u64, u64)> = Vec::new();
    for segment in &track.segments {
        for keyframe in &segment.measure.keyframes {
            keyframes.push((&segment.uri, keyframe.time, keyframe.moof_offset, keyframe.end));
        }
    }
    let track_end = track.segments.last().map(|s| s.measure.start.saturating_add(s.measure.duration)).unwrap_or(0);
    keyframes
        .iter()
        .enumerate()
        .map(|(index, &(uri, time, moof, end))| {
            let next = keyframes.get(index + 1).map(|k| k.1).unwrap_or(track_end);
            IFrameEntry {
                uri: uri.to_owned(),
                offset: moof,
                length: end.saturating_sub(moof),
                seconds: track.seconds(next.saturating_sub(time)),
            }
        })
        .collect()
}

fn iframe_bitrates(track: &MeasuredTrack) -> (u64, u64) {
    let entries = iframe_entries(track);
    let pairs: Vec<(u64, f64)> = entries.iter().map(|e| (e.length, e.seconds)).collect();
    let bytes: u64 = entries.iter().map(|e| e.length).sum();
    let seconds: f64 = entries.iter().map(|e| e.seconds).sum();
    let average = if seconds > 0.0 { (bytes as f64 * 8.0 / seconds).round() as u64 } else { 0 };
    (peak_bitrate(&pairs), average)
}

/// The TARGETDURATION for a set of segment durations: the largest duration rounded to the nearest integer
/// (RFC 8216 §4.3.3.1), at least 1.
pub fn target_duration(durations: impl IntoIterator<Item = f64>) -> u64 {
    durations.into_iter().map(|d| d.round().max(0.0) as u64).max().unwrap_or(1).max(1)
}

fn vod_playlist(segments: Vec<MediaSegment>, target: u64, i_frames_only: bool) -> MediaPlaylist {
    let mut playlist = MediaPlaylist {
        target_duration: target,
        segments,
        end_list: true,
        playlist_type: Some(MediaPlaylistType::Vod),
        i_frames_only,
        independent_segments: true,
        ..MediaPlaylist::default()
    };
    playlist.version = Some(required_media_version(&playlist).max(3));
    playlist
}

fn map(uri: &str) -> Option<Map> {
    Some(Map { uri: uri.to_owned(), ..Map::default() })
}

/// The media playlist of a measured track (video or audio): VOD, ENDLIST, EXT-X-MAP, measured EXTINFs.
pub fn media_playlist(track: &MeasuredTrack, target: u64) -> MediaPlaylist {
    let segments = track
        .segments
        .iter()
        .enumerate()
        .map(|(index, segment)| MediaSegment {
            uri: segment.uri.clone(),
            duration: track.seconds(segment.measure.duration) as f32,
            map: if index == 0 { map(&track.init_uri) } else { None },
            ..MediaSegment::default()
        })
        .collect();
    vod_playlist(segments, target, false)
}

/// The I-frame playlist of a measured video track: each GOP's `moof` and IDR sample by byte range, no
/// re-encode.
pub fn iframe_playlist(track: &MeasuredTrack, target: u64) -> MediaPlaylist {
    let segments = iframe_entries(track)
        .into_iter()
        .enumerate()
        .map(|(index, entry)| MediaSegment {
            uri: entry.uri,
            duration: entry.seconds as f32,
            byte_range: Some(ByteRange { length: entry.length, offset: Some(entry.offset) }),
            map: if index == 0 { map(&track.init_uri) } else { None },
            ..MediaSegment::default()
        })
        .collect();
    vod_playlist(segments, target, true)
}

/// The playlist of a subtitle rendition's WebVTT segments.
pub fn subtitle_playlist(segments: &[(String, f64)], target: u64) -> MediaPlaylist {
    let segments = segments
        .iter()
        .map(|(uri, seconds)| MediaSegment { uri: uri.clone(), duration: *seconds as f32, ..MediaSegment::default() })
        .collect();
    vod_playlist(segments, target, false)
}

/// Any playlist as text.
pub fn to_text(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and m3u8-rs writes only the Strings we gave it, so the bytes are UTF-8.
    let _ = write(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::measure::MeasuredTrack;
    use crate::mp4::fragment::tests::media_segment;
    use crate::mp4::init::tests::init_segment;
    use crate::playlist::{parse_master, parse_media};

    fn gop() -> Vec<(u32, bool, u8)> {
        let mut samples = vec![(512, true, 5)];
        samples.extend(std::iter::repeat_n((512, false, 1), 49));
        samples.push((512, true, 5));
        samples.extend(std::iter::repeat_n((512, false, 1), 49));
        samples
    }

    fn video() -> MeasuredTrack {
        let init = init_segment(1, 12_800, true);
        let segs: Vec<Vec<u8>> = (0..3).map(|i| media_segment(1, i * 51_200, &gop())).collect();
        MeasuredTrack::measure("init.mp4", &init, segs.iter().enumerate().map(|(i, s)| (format!("{i}.m4s"), &s[..])))
            .unwrap()
    }

    fn audio() -> MeasuredTrack {
        let init = init_segment(2, 48_000, false);
        let segs: Vec<Vec<u8>> = (0..3).map(|i| media_segment(2, i * 192_000, &vec![(1024, true, 0); 187])).collect();
        MeasuredTrack::measure("init.mp4", &init, segs.iter().enumerate().map(|(i, s)| (format!("{i}.m4s"), &s[..])))
            .unwrap()
    }

    #[test]
    fn master_round_trips_through_m3u8_rs() {
        let (video, audio) = (video(), audio());
        let spec = MasterSpec {
            video: vec![VideoVariant {
                uri: "v/index.m3u8".into(),
                iframe_uri: Some("v/iframes.m3u8".into()),
                track: &video,
            }],
            audio: vec![AudioRendition {
                uri: "a/index.m3u8".into(),
                name: "English".into(),
                language: Some("en".into()),
                default: false,
                track: &audio,
            }],
            subtitles: vec![SubtitleRendition {
                uri: "s/en.m3u8".into(),
                name: "English".into(),
                language: "en".into(),
                default: true,
                segments: vec![("0.vtt".into(), 4.0)],
            }],
        };
        let playlists = spec.playlists().unwrap();
        let text = to_text(|w| playlists.master.write_to(w));
        assert!(text.contains("#EXT-X-INDEPENDENT-SEGMENTS"), "{text}");
        assert!(text.contains("CLOSED-CAPTIONS=NONE"), "{text}");
        assert!(text.contains("CODECS=\"avc1.64001e,mp4a.40.2\""), "{text}");
        assert!(text.contains("FRAME-RATE=25"), "{text}");
        let parsed = parse_master(&text, "master.m3u8").unwrap();
        assert_eq!(parsed, playlists.master);
        let variant = &parsed.variants[0];
        assert_eq!(variant.bandwidth, video.peak_bitrate() + audio.peak_bitrate());
        assert!(parsed.alternatives[0].default, "the only audio rendition becomes DEFAULT");
        for (uri, media) in &playlists.media {
            let text = to_text(|w| media.write_to(w));
            assert_eq!(&parse_media(&text, uri).unwrap(), media, "{uri}:\n{text}");
            assert_eq!(media.target_duration, 4);
        }
    }

    #[test]
    fn iframe_playlist_points_at_each_gop() {
        let video = video();
        let playlist = iframe_playlist(&video, 4);
        assert_eq!(playlist.segments.len(), 6);
        assert!(playlist.i_frames_only);
        assert_eq!(playlist.version, Some(5));
        for segment in &playlist.segments {
            assert!((segment.duration - 2.0).abs() < 1e-6);
            assert!(segment.byte_range.as_ref().is_some_and(|r| r.length > 0));
        }
    }

    #[test]
    fn two_defaults_are_refused() {
        let video = video();
        let subtitle = |name: &str| SubtitleRendition {
            uri: format!("{name}.m3u8"),
            name: name.into(),
            language: "en".into(),
            default: true,
            segments: Vec::new(),
        };
        let spec = MasterSpec {
            video: vec![VideoVariant { uri: "v.m3u8".into(), iframe_uri: None, track: &video }],
            audio: Vec::new(),
            subtitles: vec![subtitle("a"), subtitle("b")],
        };
        assert!(matches!(spec.playlists(), Err(PackagerError::InvalidLadder { .. })));
    }
}
