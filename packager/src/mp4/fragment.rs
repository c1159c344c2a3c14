//! Media segments: `moof` fragments (`tfhd`, `tfdt`, `trun`) resolved into samples with their decode time,
//! duration, flags and byte position.
//!
//! Sample positions follow ISO/IEC 14496-12 §8.8: a `trun` data offset is relative to the base data offset,
//! which is the `tfhd` base-data-offset when present and otherwise the start of the `moof` (CMAF and FFmpeg
//! set default-base-is-moof). A `trun` without a data offset continues where the previous one ended.

use super::init::TrackDefaults;
use super::{BoxRef, Reader, Truncated, boxes, find_box, mp4_error};
use crate::error::{PackagerError, Result};

/// `sample_is_non_sync_sample` in the sample flags.
const NON_SYNC_FLAG: u32 = 0x0001_0000;

/// One `moof` and the samples it describes for one track.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// Offset of the `moof` box in the file.
    pub moof_offset: u64,
    /// `baseMediaDecodeTime` of the track in this fragment, when a `tfdt` is present.
    pub base_decode_time: Option<u64>,
    /// The track's samples in decode order.
    pub samples: Vec<Sample>,
}

/// One sample of a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Duration in track ticks.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// The ISO sample flags.
    pub flags: u32,
    /// Composition time offset in ticks (may be negative with a version 1 `trun`).
    pub composition_offset: i64,
    /// Offset of the sample's data in the file.
    pub offset: u64,
}

impl Sample {
    /// Whether the flags mark a sync sample (a random access point).
    pub fn is_sync(&self) -> bool {
        self.flags & NON_SYNC_FLAG == 0
    }

    /// Offset one past the sample's last byte.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(u64::from(self.size))
    }
}

/// Reads every fragment of `track_id` in a media segment. `base` is where `data` starts in its file (0 for a
/// whole segment file, the byte-range start for a sub-range).
pub fn parse_fragments(data: &[u8], base: u64, track_id: u32, defaults: &TrackDefaults) -> Result<Vec<Fragment>> {
    let mut fragments = Vec::new();
    let mut budget = MAX_SAMPLES;
    for item in boxes(data, base) {
        let moof = item?;
        if &moof.fourcc != b"moof" {
            continue;
        }
        for child in boxes(moof.payload, moof.payload_offset) {
            let traf = child?;
            if &traf.fourcc != b"traf" {
                continue;
            }
            if let Some(fragment) = parse_traf(&moof, &traf, track_id, defaults, &mut budget)? {
                fragments.push(fragment);
            }
        }
    }
    Ok(fragments)
}

fn parse_traf(
    moof: &BoxRef<'_>,
    traf: &BoxRef<'_>,
    track_id: u32,
    defaults: &TrackDefaults,
    budget: &mut u32,
) -> Result<Option<Fragment>> {
    let tfhd = find_box(traf.payload, traf.payload_offset, b"tfhd")?
        .ok_or_else(|| mp4_error("traf", traf.offset, "traf has no tfhd"))?;
    let err = |_: Truncated| mp4_error("tfhd", tfhd.offset, "payload is truncated");
    let mut r = Reader::new(tfhd.payload, tfhd.payload_offset);
    let (_, flags) = r.full_box_header().map_err(err)?;
    if r.u32().map_err(err)? != track_id {
        return Ok(None);
    }
    let base_data_offset = if flags & 0x01 != 0 { Some(r.u64().map_err(err)?) } else { None };
    if flags & 0x02 != 0 {
        r.skip(4).map_err(err)?;
    }
    let default_duration = if flags & 0x08 != 0 { r.u32().map_err(err)? } else { defaults.sample_duration };
    let default_size = if flags & 0x10 != 0 { r.u32().map_err(err)? } else { defaults.sample_size };
    let default_flags = if flags & 0x20 != 0 { r.u32().map_err(err)? } else { defaults.sample_flags };

    let mut base_decode_time = None;
    let mut samples = Vec::new();
    // Where the next trun's data starts when it carries no data offset.
    let base = base_data_offset.unwrap_or(moof.offset);
    let mut next_data = base;
    for child in boxes(traf.payload, traf.payload_offset) {
        let child = child?;
        match &child.fourcc {
            b"tfdt" => {
                let err = |_: Truncated| mp4_error("tfdt", child.offset, "payload is truncated");
                let mut r = Reader::new(child.payload, child.payload_offset);
                let (version, _) = r.full_box_header().map_err(err)?;
                let time = if version == 1 { r.u64().map_err(err)? } else { u64::from(r.u32().map_err(err)?) };
                base_decode_time = Some(time);
            }
            b"trun" => {
                let trun = TrunDefaults { duration: default_duration, size: default_size, flags: default_flags };
                next_data = parse_trun(&child, base, next_data, &trun, &mut samples, budget)?;
            }
            _ => {}
        }
    }
    Ok(Some(Fragment { moof_offset: moof.offset, base_decode_time, samples }))
}

struct TrunDefaults {
    duration: u32,
    size: u32,
    flags: u32,
}

/// Most samples we accept in one segment, over all its `trun` boxes: far above any real segment (4 s of
/// 48 kHz AAC is 188 samples, an hour of 60 fps video in one file 216 000) and low enough that corrupt
/// counts cannot make us allocate gigabytes. A budget over the whole segment, not per box: a `trun` with no
/// per-sample fields is 16 bytes, so a per-box limit would still let a small file ask for terabytes.
const MAX_SAMPLES: u32 = 1 << 20;

fn parse_trun(
    trun: &BoxRef<'_>,
    base: u64,
    next_data: u64,
    defaults: &TrunDefaults,
    samples: &mut Vec<Sample>,
    budget: &mut u32,
) -> Result<u64> {
    let err = |_: Truncated| mp4_error("trun", trun.offset, "payload is truncated");
    let mut r = Reader::new(trun.payload, trun.payload_offset);
    let (version, flags) = r.full_box_header().map_err(err)?;
    let count = r.u32().map_err(err)?;
    if count > *budget {
        return Err(mp4_error("trun", trun.offset, format!("implausible sample count {count}")));
    }
    *budget -= count;
    let mut position = if flags & 0x01 != 0 {
        let data_offset = i64::from(r.i32().map_err(err)?);
        base.checked_add_signed(data_offset)
            .ok_or_else(|| mp4_error("trun", trun.offset, "data offset points before the file"))?
    } else {
        next_data
    };
    let first_flags = if flags & 0x04 != 0 { Some(r.u32().map_err(err)?) } else { None };
    // Each sample carries 4 bytes per flag present: check the payload can hold them before allocating.
    let per_sample = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&bit| flags & bit != 0).count();
    let needed = (count as usize).saturating_mul(per_sample * 4);
    if needed > r.remaining().len() {
        return Err(PackagerError::Mp4 {
            fourcc: "trun".into(),
            offset: trun.offset,
            reason: format!("{count} samples do not fit in the box"),
        });
    }
    samples.reserve(count as usize);
    for index in 0..count {
        let duration = if flags & 0x100 != 0 { r.u32().map_err(err)? } else { defaults.duration };
        let size = if flags & 0x200 != 0 { r.u32().map_err(err)? } else { defaults.size };
        let mut sample_flags = if flags & 0x400 != 0 { r.u32().map_err(err)? } else { defaults.flags };
        if index == 0
            && let Some(first) = first_flags
        {
            sample_flags = first;
        }
        let composition_offset = if flags & 0x800 != 0 {
            let raw = r.u32().map_err(err)?;
            if version == 0 { i64::from(raw) } else { i64::from(raw as i32) }
        } else {
            0
        };
        samples.push(Sample { duration, size, flags: sample_flags, composition_offset, offset: position });
        position = position.saturating_add(u64::from(size));
    }
    Ok(position)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::super::test_boxes::{full_box, make_box};
    use super::*;

    /// A media segment of one fragment: `moof` (mfhd, traf(tfhd, tfdt, trun)) + `mdat`. Each sample is
    /// `(duration, sync, nal_type)`; its data is one 4-byte-length NAL unit of the given type.
    pub fn media_segment(track_id: u32, decode_time: u64, samples: &[(u32, bool, u8)]) -> Vec<u8> {
        let sample_data: Vec<Vec<u8>> = samples
            .iter()
            .map(|&(_, _, nal)| {
                let mut data = 3u32.to_be_bytes().to_vec();
                data.extend_from_slice(&[nal, 0xaa, 0xbb]);
                data
            })
            .collect();
        let build = |data_offset: i32| {
            let mut trun = (samples.len() as u32).to_be_bytes().to_vec();
            trun.extend_from_slice(&data_offset.to_be_bytes());
            for (&(duration, sync, _), data) in samples.iter().zip(&sample_data) {
                trun.extend_from_slice(&duration.to_be_bytes());
                trun.extend_from_slice(&(data.len() as u32).to_be_bytes());
                let flags: u32 = if sync { 0x0200_0000 } else { 0x0101_0000 };
                trun.extend_from_slice(&flags.to_be_bytes());
            }
            let mut traf = full_box(b"tfhd", 0, 0x02_0000, &track_id.to_be_bytes());
            traf.extend_from_slice(&full_box(b"tfdt", 1, 0, &decode_time.to_be_bytes()));
            traf.extend_from_slice(&full_box(b"trun", 0, 0x701, &trun));
            let mut moof = full_box(b"mfhd", 0, 0, &1u32.to_be_bytes());
            moof.extend_from_slice(&make_box(b"traf", &traf));
            make_box(b"moof", &moof)
        };
        let moof_len = build(0).len();
        let mut out = build(moof_len as i32 + 8);
        out.extend_from_slice(&make_box(b"mdat", &sample_data.concat()));
        out
    }

    #[test]
    fn resolves_sample_positions_and_times() {
        let data = media_segment(1, 51_200, &[(512, true, 5), (512, false, 1)]);
        let fragments = parse_fragments(&data, 0, 1, &TrackDefaults::default()).unwrap();
        assert_eq!(fragments.len(), 1);
        let fragment = &fragments[0];
        assert_eq!(fragment.base_decode_time, Some(51_200));
        assert_eq!(fragment.samples.len(), 2);
        assert!(fragment.samples[0].is_sync());
        assert!(!fragment.samples[1].is_sync());
        let first = fragment.samples[0];
        let at = first.offset as usize;
        assert_eq!(&data[at..at + 5], &[0, 0, 0, 3, 5]);
        assert_eq!(fragment.samples[1].offset, first.end());
    }

    #[test]
    fn other_tracks_are_skipped() {
        let data = media_segment(2, 0, &[(1024, true, 0)]);
        assert!(parse_fragments(&data, 0, 1, &TrackDefaults::default()).unwrap().is_empty());
    }

    #[test]
    fn every_truncation_of_a_fragment_is_an_error_or_shorter() {
        let full = media_segment(1, 0, &[(512, true, 5), (512, false, 1)]);
        for len in 0..full.len() {
            // Either an error or a result: never a panic.
            let _ = parse_fragments(&full[..len], 0, 1, &TrackDefaults::default());
        }
    }

    #[test]
    fn a_huge_sample_count_is_refused_without_allocating() {
        let mut trun = u32::MAX.to_be_bytes().to_vec();
        trun.extend_from_slice(&[0; 8]);
        let traf_body = [full_box(b"tfhd", 0, 0, &1u32.to_be_bytes()), full_box(b"trun", 0, 0x300, &trun)].concat();
        let data = make_box(b"moof", &make_box(b"traf", &traf_body));
        assert!(parse_fragments(&data, 0, 1, &TrackDefaults::default()).is_err());
        let mut trun = 1000u32.to_be_bytes().to_vec();
        trun.extend_from_slice(&[0; 8]);
        let traf_body = [full_box(b"tfhd", 0, 0, &1u32.to_be_bytes()), full_box(b"trun", 0, 0x300, &trun)].concat();
        let data = make_box(b"moof", &make_box(b"traf", &traf_body));
        assert!(parse_fragments(&data, 0, 1, &TrackDefaults::default()).is_err());
        // Many small truns, each plausible alone, may not add up to an unbounded allocation.
        let trun = full_box(b"trun", 0, 0, &(1u32 << 19).to_be_bytes());
        let traf_body = [full_box(b"tfhd", 0, 0, &1u32.to_be_bytes()), trun.clone(), trun.clone(), trun].concat();
        let data = make_box(b"moof", &make_box(b"traf", &traf_body));
        assert!(parse_fragments(&data, 0, 1, &TrackDefaults::default()).is_err());
    }
}
