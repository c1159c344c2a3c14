//! The init segment (`ftyp` + `moov`): which tracks there are, their timescales, their codec configuration
//! (`avcC`, `esds`) and the fragment defaults (`trex`).
//!
//! This is what turns a rendition into `CODECS="avc1.640028,mp4a.40.2"`, a RESOLUTION and the timescale that
//! every `tfdt`/`trun` time of the media segments is counted in.

use super::{BoxRef, FourCc, Reader, Truncated, boxes, find_box, find_path, mp4_error};
use crate::error::{PackagerError, Result};

/// An init segment's tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct InitSegment {
    /// The tracks, in file order.
    pub tracks: Vec<TrackInfo>,
}

impl InitSegment {
    /// Parses an init segment.
    pub fn parse(data: &[u8]) -> Result<InitSegment> {
        let moov = find_box(data, 0, b"moov")?
            .ok_or_else(|| PackagerError::UnsupportedInit { reason: "no moov box".into() })?;
        let mut defaults = Vec::new();
        if let Some(mvex) = find_box(moov.payload, moov.payload_offset, b"mvex")? {
            for item in boxes(mvex.payload, mvex.payload_offset) {
                let child = item?;
                if &child.fourcc == b"trex" {
                    defaults.push(parse_trex(&child)?);
                }
            }
        }
        let mut tracks = Vec::new();
        for item in boxes(moov.payload, moov.payload_offset) {
            let trak = item?;
            if &trak.fourcc != b"trak" {
                continue;
            }
            let mut track = parse_trak(&trak)?;
            if let Some(found) = defaults.iter().find(|d| d.track_id == track.track_id) {
                track.defaults = *found;
            }
            tracks.push(track);
        }
        if tracks.is_empty() {
            return Err(PackagerError::UnsupportedInit { reason: "moov has no track".into() });
        }
        Ok(InitSegment { tracks })
    }

    /// The first video track, if any.
    pub fn video(&self) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| matches!(t.media, MediaInfo::Video { .. }))
    }

    /// The first audio track, if any.
    pub fn audio(&self) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| matches!(t.media, MediaInfo::Audio { .. }))
    }

    /// The track HLS cares about in a one-track init segment: video first, else audio, else the first.
    pub fn main_track(&self) -> Option<&TrackInfo> {
        self.video().or_else(|| self.audio()).or_else(|| self.tracks.first())
    }
}

/// One track of an init segment.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackInfo {
    /// The track id that `tfhd` boxes refer to.
    pub track_id: u32,
    /// Ticks per second of every time of this track.
    pub timescale: u32,
    /// What the track carries.
    pub media: MediaInfo,
    /// Fragment defaults from `trex`.
    pub defaults: TrackDefaults,
}

impl TrackInfo {
    /// The RFC 6381 codec string of the track (`avc1.640028`, `mp4a.40.2`), when known.
    pub fn codec(&self) -> Option<String> {
        match &self.media {
            MediaInfo::Video { avc, .. } => Some(avc.codec_string()),
            MediaInfo::Audio { object_type, audio_object_type, .. } => {
                Some(format!("mp4a.{object_type:02x}.{audio_object_type}"))
            }
            MediaInfo::Other { .. } => None,
        }
    }

    /// Whether this is a video track.
    pub fn is_video(&self) -> bool {
        matches!(self.media, MediaInfo::Video { .. })
    }
}

/// Per-track defaults that `tfhd` may leave out (from `trex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackDefaults {
    /// The track these defaults belong to.
    pub track_id: u32,
    /// Default sample duration in ticks.
    pub sample_duration: u32,
    /// Default sample size in bytes.
    pub sample_size: u32,
    /// Default sample flags.
    pub sample_flags: u32,
}

/// What a track carries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaInfo {
    /// H.264 video.
    Video {
        /// Coded width from the sample entry.
        width: u16,
        /// Coded height from the sample entry.
        height: u16,
        /// The decoder configuration.
        avc: AvcConfig,
    },
    /// MPEG-4 audio (AAC).
    Audio {
        /// Channel count from the sample entry.
        channels: u16,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// The esds objectTypeIndication (0x40 for MPEG-4 audio).
        object_type: u8,
        /// The AudioSpecificConfig audio object type (2 for AAC-LC).
        audio_object_type: u8,
    },
    /// Anything else (a text track, HEVC, an encrypted entry): kept so the validator can name it.
    Other {
        /// The `hdlr` handler type.
        handler: String,
        /// The sample entry type.
        sample_entry: String,
    },
}

/// The interesting part of an `avcC` box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// profile_idc (100 = High).
    pub profile: u8,
    /// The constraint-set flags byte.
    pub compatibility: u8,
    /// level_idc (40 = 4.0).
    pub level: u8,
    /// Bytes of the length prefix in front of each NAL unit in samples (1, 2 or 4).
    pub nal_length_size: u8,
}

impl AvcConfig {
    /// `avc1.PPCCLL` as RFC 6381 and the HLS spec want it.
    pub fn codec_string(&self) -> String {
        format!("avc1.{:02x}{:02x}{:02x}", self.profile, self.compatibility, self.level)
    }
}

fn truncated(fourcc: &str, offset: u64) -> impl Fn(Truncated) -> PackagerError + '_ {
    move |_| mp4_error(fourcc, offset, "payload is truncated")
}

fn parse_trex(trex: &BoxRef<'_>) -> Result<TrackDefaults> {
    let err = truncated("trex", trex.offset);
    let mut r = Reader::new(trex.payload, trex.payload_offset);
    r.full_box_header().map_err(&err)?;
    let track_id = r.u32().map_err(&err)?;
    let _description_index = r.u32().map_err(&err)?;
    Ok(TrackDefaults {
        track_id,
        sample_duration: r.u32().map_err(&err)?,
        sample_size: r.u32().map_err(&err)?,
        sample_flags: r.u32().map_err(&err)?,
    })
}

fn required<'a>(found: Option<BoxRef<'a>>, what: &str) -> Result<BoxRef<'a>> {
    found.ok_or_else(|| PackagerError::UnsupportedInit { reason: format!("track has no {what} box") })
}

fn parse_trak(trak: &BoxRef<'_>) -> Result<TrackInfo> {
    let tkhd = required(find_box(trak.payload, trak.payload_offset, b"tkhd")?, "tkhd")?;
    let err = truncated("tkhd", tkhd.offset);
    let mut r = Reader::new(tkhd.payload, tkhd.payload_offset);
    let (version, _) = r.full_box_header().map_err(&err)?;
    r.skip(if version == 1 { 16 } else { 8 }).map_err(&err)?;
    let track_id = r.u32().map_err(&err)?;

    let mdia = required(find_box(trak.payload, trak.payload_offset, b"mdia")?, "mdia")?;
    let mdhd = required(find_box(mdia.payload, mdia.payload_offset, b"mdhd")?, "mdhd")?;
    let err = truncated("mdhd", mdhd.offset);
    let mut r = Reader::new(mdhd.payload, mdhd.payload_offset);
    let (version, _) = r.full_box_header().map_err(&err)?;
    r.skip(if version == 1 { 16 } else { 8 }).map_err(&err)?;
    let timescale = r.u32().map_err(&err)?;
    if timescale == 0 {
        return Err(mp4_error("mdhd", mdhd.offset, "timescale is 0"));
    }

    let hdlr = required(find_box(mdia.payload, mdia.payload_offset, b"hdlr")?, "hdlr")?;
    let err = truncated("hdlr", hdlr.offset);
    let mut r = Reader::new(hdlr.payload, hdlr.payload_offset);
    r.full_box_header().map_err(&err)?;
    r.skip(4).map_err(&err)?;
    let handler = r.fourcc().map_err(&err)?;

    let stsd = required(find_path(mdia.payload, mdia.payload_offset, &[b"minf", b"stbl", b"stsd"])?, "stsd")?;
    let err = truncated("stsd", stsd.offset);
    let mut r = Reader::new(stsd.payload, stsd.payload_offset);
    r.full_box_header().map_err(&err)?;
    let _entry_count = r.u32().map_err(&err)?;
    let entries_offset = r.offset();
    let entry = boxes(r.remaining(), entries_offset)
        .next()
        .transpose()?
        .ok_or_else(|| PackagerError::UnsupportedInit { reason: "stsd has no sample entry".into() })?;
    let media = parse_sample_entry(&entry, handler)?;
    Ok(TrackInfo { track_id, timescale, media, defaults: TrackDefaults { track_id, ..TrackDefaults::default() } })
}

fn parse_sample_entry(entry: &BoxRef<'_>, handler: FourCc) -> Result<MediaInfo> {
    let name = entry.name();
    let err = truncated("stsd", entry.offset);
    match &entry.fourcc {
        b"avc1" | b"avc3" => {
            let mut r = Reader::new(entry.payload, entry.payload_offset);
            // SampleEntry (8) + VisualSampleEntry fields before width (16).
            r.skip(24).map_err(&err)?;
            let width = r.u16().map_err(&err)?;
            let height = r.u16().map_err(&err)?;
            // Resolution, reserved, frame count, compressor name, depth, pre-defined: 50 bytes.
            r.skip(50).map_err(&err)?;
            let children_offset = r.offset();
            let avcc = find_box(r.remaining(), children_offset, b"avcC")?
                .ok_or_else(|| PackagerError::UnsupportedInit { reason: format!("{name} sample entry has no avcC") })?;
            let err = truncated("avcC", avcc.offset);
            let mut r = Reader::new(avcc.payload, avcc.payload_offset);
            let _version = r.u8().map_err(&err)?;
            let profile = r.u8().map_err(&err)?;
            let compatibility = r.u8().map_err(&err)?;
            let level = r.u8().map_err(&err)?;
            let nal_length_size = (r.u8().map_err(&err)? & 0b11) + 1;
            if nal_length_size == 3 {
                return Err(mp4_error("avcC", avcc.offset, "NAL length size 3 is not allowed"));
            }
            Ok(MediaInfo::Video { width, height, avc: AvcConfig { profile, compatibility, level, nal_length_size } })
        }
        b"mp4a" => {
            let mut r = Reader::new(entry.payload, entry.payload_offset);
            r.skip(8).map_err(&err)?;
            let sound_version = r.u16().map_err(&err)?;
            r.skip(6).map_err(&err)?;
            let channels = r.u16().map_err(&err)?;
            r.skip(6).map_err(&err)?;
            let sample_rate = r.u32().map_err(&err)? >> 16;
            // QuickTime sound sample descriptions v1/v2 carry extra fields before the child boxes.
            match sound_version {
                1 => r.skip(16).map_err(&err)?,
                2 => r.skip(36).map_err(&err)?,
                _ => {}
            }
            let children_offset = r.offset();
            let esds = find_box(r.remaining(), children_offset, b"esds")?
                .ok_or_else(|| PackagerError::UnsupportedInit { reason: "mp4a sample entry has no esds".into() })?;
            let (object_type, audio_object_type) = parse_esds(&esds)?;
            Ok(MediaInfo::Audio { channels, sample_rate, object_type, audio_object_type })
        }
        _ => Ok(MediaInfo::Other { handler: super::fourcc_name(handler), sample_entry: name }),
    }
}

/// Reads an MPEG-4 descriptor header: tag and size (7 bits per byte, at most 4 bytes).
fn descriptor_header(r: &mut Reader<'_>) -> Result<(u8, usize), Truncated> {
    let tag = r.u8()?;
    let mut size = 0usize;
    for _ in 0..4 {
        let byte = r.u8()?;
        size = (size << 7) | usize::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            break;
        }
    }
    Ok((tag, size))
}

fn parse_esds(esds: &BoxRef<'_>) -> Result<(u8, u8)> {
    let err = truncated("esds", esds.offset);
    let fail = |reason: &str| mp4_error("esds", esds.offset, reason);
    let mut r = Reader::new(esds.payload, esds.payload_offset);
    r.full_box_header().map_err(&err)?;
    let (tag, _) = descriptor_header(&mut r).map_err(&err)?;
    if tag != 3 {
        return Err(fail("no ES_Descriptor"));
    }
    r.skip(2).map_err(&err)?;
    let flags = r.u8().map_err(&err)?;
    if flags & 0x80 != 0 {
        r.skip(2).map_err(&err)?;
    }
    if flags & 0x40 != 0 {
        let url_len = r.u8().map_err(&err)?;
        r.skip(usize::from(url_len)).map_err(&err)?;
    }
    if flags & 0x20 != 0 {
        r.skip(2).map_err(&err)?;
    }
    let (tag, _) = descriptor_header(&mut r).map_err(&err)?;
    if tag != 4 {
        return Err(fail("no DecoderConfigDescriptor"));
    }
    let object_type = r.u8().map_err(&err)?;
    r.skip(12).map_err(&err)?;
    let (tag, size) = descriptor_header(&mut r).map_err(&err)?;
    if tag != 5 || size == 0 {
        return Err(fail("no DecoderSpecificInfo"));
    }
    let first = r.u8().map_err(&err)?;
    let mut audio_object_type = first >> 3;
    if audio_object_type == 31 {
        // Escape value: the real type is 32 + the next 6 bits.
        let second = r.u8().map_err(&err)?;
        audio_object_type = 32 + (((first & 0b111) << 3) | (second >> 5));
    }
    Ok((object_type, audio_object_type))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::super::test_boxes::{full_box, make_box};
    use super::*;

    /// A minimal one-track init segment for a video (`avc1`) or audio (`mp4a`) track.
    pub fn init_segment(track_id: u32, timescale: u32, video: bool) -> Vec<u8> {
        let mut tkhd = vec![0u8; 8];
        tkhd.extend_from_slice(&track_id.to_be_bytes());
        tkhd.extend_from_slice(&[0u8; 72]);
        let mut mdhd = vec![0u8; 8];
        mdhd.extend_from_slice(&timescale.to_be_bytes());
        mdhd.extend_from_slice(&[0u8; 8]);
        let mut hdlr = vec![0u8; 4];
        hdlr.extend_from_slice(if video { b"vide" } else { b"soun" });
        hdlr.extend_from_slice(&[0u8; 13]);
        let entry = if video {
            let mut body = vec![0u8; 24];
            body.extend_from_slice(&640u16.to_be_bytes());
            body.extend_from_slice(&360u16.to_be_bytes());
            body.extend_from_slice(&[0u8; 50]);
            body.extend_from_slice(&make_box(b"avcC", &[1, 0x64, 0x00, 0x1e, 0xff, 0xe0, 0]));
            make_box(b"avc1", &body)
        } else {
            let mut body = vec![0u8; 16];
            body.extend_from_slice(&2u16.to_be_bytes());
            body.extend_from_slice(&[0u8; 6]);
            body.extend_from_slice(&(48_000u32 << 16).to_be_bytes());
            // ES_Descriptor > DecoderConfigDescriptor (0x40) > DecoderSpecificInfo (AAC-LC, 48 kHz, stereo).
            let esds = [3, 25, 0, 1, 0, 4, 17, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2, 0x11, 0x90, 6, 1, 2];
            body.extend_from_slice(&full_box(b"esds", 0, 0, &esds));
            make_box(b"mp4a", &body)
        };
        let mut stsd = 1u32.to_be_bytes().to_vec();
        stsd.extend_from_slice(&entry);
        let stbl = make_box(b"stbl", &full_box(b"stsd", 0, 0, &stsd));
        let minf = make_box(b"minf", &stbl);
        let mut mdia = full_box(b"mdhd", 0, 0, &mdhd);
        mdia.extend_from_slice(&full_box(b"hdlr", 0, 0, &hdlr));
        mdia.extend_from_slice(&minf);
        let mut trak = full_box(b"tkhd", 0, 3, &tkhd);
        trak.extend_from_slice(&make_box(b"mdia", &mdia));
        let mut trex = track_id.to_be_bytes().to_vec();
        trex.extend_from_slice(&1u32.to_be_bytes());
        trex.extend_from_slice(&[0u8; 12]);
        let mut moov = make_box(b"trak", &trak);
        moov.extend_from_slice(&make_box(b"mvex", &full_box(b"trex", 0, 0, &trex)));
        let mut out = make_box(b"ftyp", b"iso6\0\0\0\0");
        out.extend_from_slice(&make_box(b"moov", &moov));
        out
    }

    #[test]
    fn reads_video_codec_and_size() {
        let init = InitSegment::parse(&init_segment(1, 12_800, true)).unwrap();
        let video = init.video().unwrap();
        assert_eq!(video.timescale, 12_800);
        assert_eq!(video.codec().as_deref(), Some("avc1.64001e"));
        match &video.media {
            MediaInfo::Video { width, height, avc } => {
                assert_eq!((*width, *height), (640, 360));
                assert_eq!(avc.nal_length_size, 4);
            }
            other => panic!("not video: {other:?}"),
        }
    }

    #[test]
    fn reads_aac_lc_codec() {
        let init = InitSegment::parse(&init_segment(2, 48_000, false)).unwrap();
        let audio = init.audio().unwrap();
        assert_eq!(audio.codec().as_deref(), Some("mp4a.40.2"));
        assert_eq!(audio.track_id, 2);
    }

    #[test]
    fn every_truncation_of_an_init_segment_is_an_error() {
        let full = init_segment(1, 12_800, true);
        for len in 0..full.len() {
            assert!(InitSegment::parse(&full[..len]).is_err(), "length {len} parsed");
        }
    }
}
