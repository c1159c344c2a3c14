//! The ladder spec: which renditions a source gets.
//!
//! A rung is named after the short side of the picture (1080p, 720p, 480p), so a portrait phone clip of
//! 1080×1920 gets the same ladder as a landscape 1920×1080 lecture. The rules:
//! - never upscale: a rung is only offered when the source's short side reaches it;
//! - a source whose short side falls between two standard rungs (say 1918×1078) gets a top rung at its own
//!   size, so it does not lose quality to a 2-pixel downscale to the next standard rung below;
//! - a source below the lowest standard rung gets exactly one rung, at its own size;
//! - the display aspect ratio is kept (sample aspect ratio and rotation applied) and every dimension is even,
//!   as 4:2:0 chroma subsampling requires.

use serde::Serialize;

/// Short sides of the standard rungs, best first.
pub const STANDARD_RUNGS: [u32; 3] = [1080, 720, 480];

/// Length of a media segment in seconds. Four seconds is Apple's recommendation since 2016: short enough for
/// quick starts and switches, long enough that a segment's `moof` overhead and request count stay small.
pub const SEGMENT_SECONDS: f64 = 4.0;

/// Distance between IDR frames in seconds: two GOPs per segment, so an I-frame playlist has an entry every
/// 2 s (smooth scrubbing) and every segment boundary falls on an IDR. No scene-cut keyframes, closed GOPs.
pub const IDR_INTERVAL_SECONDS: f64 = 2.0;

/// AAC-LC stereo at 48 kHz, the audio of every ladder, in bits per second.
pub const AUDIO_BITRATE: u64 = 128_000;

/// How a rung is rate-controlled: capped CRF.
///
/// Lectures are mostly slides and a talking head, which x264 codes at a fraction of the bits camera footage
/// needs; a fixed bitrate would waste bandwidth on slides and starve the odd demo video. Capped CRF gives a
/// constant quality (`crf`) and a VBV cap (`max_bitrate` over `buffer_size`) so the peak a player must
/// sustain is bounded. The caps (1080p 4.5 Mb/s, 720p 2.5 Mb/s, 480p 1.2 Mb/s) sit below Apple's HLS authoring
/// guide ladder for 30 fps camera content (about 6, 3 and 1.1-2 Mb/s at those sizes): lecture peaks are rarely
/// that busy, and learners often watch on weak connections. The buffer is two seconds of the cap, one GOP, so
/// the encoder can spend bits on each IDR without overshooting a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RatePolicy {
    /// x264 constant rate factor: 23 is x264's default and visually clean for slides at these sizes.
    pub crf: u8,
    /// VBV maximum bitrate in bits per second.
    pub max_bitrate: u64,
    /// VBV buffer size in bits.
    pub buffer_size: u64,
}

impl RatePolicy {
    /// The policy of a rung. Standard rungs get the table's numbers; a rung at the source's own size scales
    /// the cap of the next standard rung by its pixel count (so a 1078p rung gets ~99.6 % of 1080p's).
    pub fn for_rung(rung: &Rung) -> RatePolicy {
        // (short side, cap in kb/s): 1080p 4500, 720p 2500, 480p 1200.
        const CAPS: [(u32, u64); 3] = [(1080, 4_500), (720, 2_500), (480, 1_200)];
        let short = rung.width.min(rung.height);
        let (side, cap_kbps) = CAPS.iter().rev().find(|(side, _)| *side >= short).copied().unwrap_or(CAPS[0]);
        let scale = (f64::from(short) / f64::from(side)).powi(2);
        // Round to whole kb/s: encoders take the cap in kb/s.
        let kbps = ((cap_kbps as f64 * scale).round() as u64).max(100);
        RatePolicy { crf: 23, max_bitrate: kbps * 1000, buffer_size: kbps * 2000 }
    }
}

/// A source picture as the ladder sees it: the coded size, the sample aspect ratio and the display rotation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceGeometry {
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Sample (pixel) aspect ratio as numerator/denominator; `(1, 1)` for square pixels. A zero in either part
    /// is read as square pixels, as FFmpeg reports "unknown" that way.
    pub sample_aspect: (u32, u32),
    /// Clockwise display rotation in degrees, as a player applies it (0, 90, 180 or 270).
    pub rotation: u32,
}

impl SourceGeometry {
    /// A square-pixel, unrotated source of the given size.
    pub fn square(width: u32, height: u32) -> Self {
        Self { width, height, sample_aspect: (1, 1), rotation: 0 }
    }

    /// The size a player shows: the sample aspect ratio stretches the width, a quarter turn swaps the sides.
    pub fn display_size(&self) -> (f64, f64) {
        let (num, den) = self.sample_aspect;
        let sar = if num == 0 || den == 0 { 1.0 } else { f64::from(num) / f64::from(den) };
        let width = f64::from(self.width) * sar;
        let height = f64::from(self.height);
        if self.rotation % 180 == 90 { (height, width) } else { (width, height) }
    }
}

/// One rendition of the ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rung {
    /// The rung's name, its short side followed by `p` (`1080p`).
    pub name: String,
    /// Output width in pixels, even, as displayed (rotation already applied).
    pub width: u32,
    /// Output height in pixels, even, as displayed.
    pub height: u32,
}

/// The renditions a source gets, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ladder {
    /// The rungs, highest first; never empty for a source with a picture.
    pub rungs: Vec<Rung>,
}

impl Ladder {
    /// The standard ladder for a source: every standard rung it reaches, plus its own size on top when it
    /// falls between rungs or below the lowest one.
    pub fn for_source(source: &SourceGeometry) -> Ladder {
        Self::with_rungs(source, &STANDARD_RUNGS)
    }

    /// The ladder for a source from a chosen list of short sides (for `--rungs 1080,720`). Rungs above the
    /// source are dropped; when none is left, the source's own size is the one rung.
    pub fn with_rungs(source: &SourceGeometry, short_sides: &[u32]) -> Ladder {
        let (display_w, display_h) = source.display_size();
        let short = display_w.min(display_h);
        if short < 2.0 {
            return Ladder { rungs: Vec::new() };
        }
        let source_short = round_down_to_even(short);
        let mut sides: Vec<u32> = short_sides.iter().copied().filter(|&side| side <= source_short).collect();
        sides.sort_unstable_by(|a, b| b.cmp(a));
        sides.dedup();
        let largest_requested = short_sides.iter().copied().max().unwrap_or(0);
        // The source's own size becomes the top rung when it sits between two requested rungs or below them
        // all: dropping straight to the next rung would throw away resolution the source really has.
        if sides.first().is_none_or(|&top| top < source_short && top < largest_requested) {
            sides.insert(0, source_short);
        }
        let rungs = sides.into_iter().map(|side| rung_for(display_w, display_h, side)).collect();
        Ladder { rungs }
    }
}

fn rung_for(display_w: f64, display_h: f64, short_side: u32) -> Rung {
    let scale = f64::from(short_side) / display_w.min(display_h);
    let (width, height) = if display_w <= display_h {
        (short_side, round_to_even(display_h * scale))
    } else {
        (round_to_even(display_w * scale), short_side)
    };
    Rung { name: format!("{short_side}p"), width, height }
}

fn round_down_to_even(value: f64) -> u32 {
    // Truncation is the point: a rung may never be larger than the source.
    let whole = value.floor() as u32;
    whole - whole % 2
}

fn round_to_even(value: f64) -> u32 {
    let halves = (value / 2.0).round() as u32;
    (halves * 2).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(ladder: &Ladder) -> Vec<(u32, u32)> {
        ladder.rungs.iter().map(|rung| (rung.width, rung.height)).collect()
    }

    #[test]
    fn full_hd_gets_three_rungs() {
        let ladder = Ladder::for_source(&SourceGeometry::square(1920, 1080));
        assert_eq!(sizes(&ladder), vec![(1920, 1080), (1280, 720), (854, 480)]);
        assert_eq!(ladder.rungs[0].name, "1080p");
    }

    #[test]
    fn never_upscales_a_720p_source() {
        let ladder = Ladder::for_source(&SourceGeometry::square(1280, 720));
        assert_eq!(sizes(&ladder), vec![(1280, 720), (854, 480)]);
    }

    #[test]
    fn four_by_three_keeps_its_aspect() {
        let ladder = Ladder::for_source(&SourceGeometry::square(1440, 1080));
        assert_eq!(sizes(&ladder), vec![(1440, 1080), (960, 720), (640, 480)]);
    }

    #[test]
    fn odd_sized_source_keeps_its_own_top_rung() {
        let ladder = Ladder::for_source(&SourceGeometry::square(1918, 1078));
        assert_eq!(sizes(&ladder), vec![(1918, 1078), (1282, 720), (854, 480)]);
        assert_eq!(ladder.rungs[0].name, "1078p");
    }

    #[test]
    fn portrait_rotation_swaps_the_sides() {
        let source = SourceGeometry { width: 1920, height: 1080, sample_aspect: (1, 1), rotation: 90 };
        let ladder = Ladder::for_source(&source);
        assert_eq!(sizes(&ladder), vec![(1080, 1920), (720, 1280), (480, 854)]);
    }

    #[test]
    fn small_source_gets_one_rung_at_its_own_size() {
        let ladder = Ladder::for_source(&SourceGeometry::square(640, 360));
        assert_eq!(sizes(&ladder), vec![(640, 360)]);
        assert_eq!(ladder.rungs[0].name, "360p");
    }

    #[test]
    fn anamorphic_pixels_widen_the_picture() {
        // DV NTSC widescreen: 720×480 stored, 32:27 pixels, shown as 16:9.
        let source = SourceGeometry { width: 720, height: 480, sample_aspect: (32, 27), rotation: 0 };
        assert_eq!(sizes(&Ladder::for_source(&source)), vec![(854, 480)]);
    }

    #[test]
    fn chosen_rungs_above_the_source_are_dropped() {
        let ladder = Ladder::with_rungs(&SourceGeometry::square(1280, 720), &[1080, 480]);
        assert_eq!(sizes(&ladder), vec![(1280, 720), (854, 480)]);
        let ladder = Ladder::with_rungs(&SourceGeometry::square(1920, 1080), &[720]);
        assert_eq!(sizes(&ladder), vec![(1280, 720)]);
    }

    #[test]
    fn rate_policy_caps_follow_the_rung() {
        let ladder = Ladder::for_source(&SourceGeometry::square(1920, 1080));
        let caps: Vec<u64> = ladder.rungs.iter().map(|r| RatePolicy::for_rung(r).max_bitrate).collect();
        assert_eq!(caps, vec![4_500_000, 2_500_000, 1_200_000]);
        let odd = RatePolicy::for_rung(&Rung { name: "1078p".into(), width: 1918, height: 1078 });
        assert!(odd.max_bitrate < 4_500_000 && odd.max_bitrate > 4_400_000);
        assert_eq!(odd.buffer_size, odd.max_bitrate * 2);
        let tiny = RatePolicy::for_rung(&Rung { name: "240p".into(), width: 426, height: 240 });
        assert_eq!(tiny.max_bitrate, 300_000);
    }

    #[test]
    fn every_dimension_is_even() {
        for (w, h) in [(1917, 1077), (333, 201), (4000, 3000), (1080, 1350), (2, 2)] {
            for rung in Ladder::for_source(&SourceGeometry::square(w, h)).rungs {
                assert_eq!(rung.width % 2, 0, "{w}x{h} gave {rung:?}");
                assert_eq!(rung.height % 2, 0, "{w}x{h} gave {rung:?}");
                assert!(rung.width <= w.max(h) && rung.height <= w.max(h), "{w}x{h} upscaled to {rung:?}");
            }
        }
    }
}
