//! Subtitles: SRT or WebVTT in, segmented WebVTT out.
//!
//! Both readers produce the same [`Cue`] list (times in milliseconds from the start of the programme, text
//! already cleaned into WebVTT cue text); [`segment`] cuts it into the HLS WebVTT segments. Input is treated
//! as untrusted: a byte-order mark, CRLF or CR line endings and stray HTML-like tags are handled, and
//! anything malformed is a [`crate::PackagerError::SubtitleParse`] with the 1-based line number.

pub mod encoding;
pub mod language;
pub mod segment;
pub mod srt;
pub mod text;
pub mod vtt;

use crate::error::{PackagerError, Result};

pub use segment::{SegmentSpan, VttSegment, segment_webvtt};

/// One subtitle cue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cue {
    /// Start, in milliseconds from the start of the programme.
    pub start_ms: u64,
    /// End (exclusive), in milliseconds; never before `start_ms`.
    pub end_ms: u64,
    /// WebVTT cue settings (`line:0 position:50%`), empty for SRT.
    pub settings: String,
    /// The cue text, valid WebVTT cue text (escaped, only `<i>`, `<b>`, `<u>` kept), lines joined by `\n`.
    pub text: String,
}

/// The subtitle formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleFormat {
    /// SubRip (`.srt`).
    Srt,
    /// WebVTT (`.vtt`).
    WebVtt,
}

impl SubtitleFormat {
    /// Guesses the format from the content: a file starting with `WEBVTT` is WebVTT, anything else SRT.
    pub fn sniff(input: &str) -> SubtitleFormat {
        if input.trim_start_matches('\u{feff}').starts_with("WEBVTT") {
            SubtitleFormat::WebVtt
        } else {
            SubtitleFormat::Srt
        }
    }
}

/// Parses subtitles of either format into cues sorted by start time.
pub fn parse(input: &str, format: SubtitleFormat) -> Result<Vec<Cue>> {
    let mut cues = match format {
        SubtitleFormat::Srt => srt::parse(input)?,
        SubtitleFormat::WebVtt => vtt::parse(input)?.cues,
    };
    // A stable sort keeps the authored order of cues that start together.
    cues.sort_by_key(|cue| cue.start_ms);
    check_limits(&cues)?;
    Ok(cues)
}

/// The most cues one file may hold: a three-hour lecture at a cue every two seconds has 5,400.
pub const MAX_CUES: usize = 20_000;
/// The most cues on screen at one instant. Every cue is repeated in each 4 s segment it spans, so cues that
/// stay up for long multiply the output (113,000 cues over a 5-minute programme made 347 MB of WebVTT).
pub const MAX_CUES_AT_ONCE: usize = 16;

/// Refuses a cue list whose segments would be absurd, saying which limit and where.
fn check_limits(cues: &[Cue]) -> Result<()> {
    let refuse = |reason: String| Err(PackagerError::SubtitleLimit { reason });
    if cues.len() > MAX_CUES {
        return refuse(format!("{} cues; at most {MAX_CUES} are accepted", cues.len()));
    }
    // Sorted by start: the cues still showing when each one starts, ending soonest first.
    let mut showing: std::collections::BinaryHeap<std::cmp::Reverse<u64>> = std::collections::BinaryHeap::new();
    for cue in cues {
        while showing.peek().is_some_and(|std::cmp::Reverse(end)| *end <= cue.start_ms) {
            showing.pop();
        }
        showing.push(std::cmp::Reverse(cue.end_ms.max(cue.start_ms.saturating_add(1))));
        if showing.len() > MAX_CUES_AT_ONCE {
            return refuse(format!(
                "{} cues are on screen at once at {}; at most {MAX_CUES_AT_ONCE} are accepted",
                showing.len(),
                format_timestamp(cue.start_ms)
            ));
        }
    }
    Ok(())
}

/// The lines of the input with BOM removed and CRLF / CR normalised, numbered from 1.
pub(crate) fn lines(input: &str) -> Vec<(usize, &str)> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    // `split` on '\n' then trimming a trailing '\r' handles CRLF; a lone CR (classic Mac) is split too.
    input
        .split('\n')
        .flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'))
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .collect()
}

/// Parses a timestamp: `HH:MM:SS,mmm` (SRT) or `[HH:]MM:SS.mmm` (WebVTT). Both separators are accepted in
/// both formats, as real files mix them.
pub(crate) fn parse_timestamp(raw: &str, line: usize) -> Result<u64> {
    let fail = |reason: String| PackagerError::SubtitleParse { line, reason };
    let raw = raw.trim();
    let (clock, fraction) =
        raw.rsplit_once([',', '.']).ok_or_else(|| fail(format!("timestamp `{raw}` has no milliseconds")))?;
    if fraction.is_empty() || fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(format!("timestamp `{raw}` has bad milliseconds")));
    }
    // ",5" means half a second, not 5 ms.
    let millis: u64 = format!("{fraction:0<3}").parse().map_err(|_| fail(format!("bad timestamp `{raw}`")))?;
    let parts: Vec<&str> = clock.split(':').collect();
    let numbers = parts
        .iter()
        .map(|part| {
            if part.is_empty() || part.len() > 9 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(format!("bad timestamp `{raw}`")));
            }
            part.parse::<u64>().map_err(|_| fail(format!("bad timestamp `{raw}`")))
        })
        .collect::<Result<Vec<u64>>>()?;
    let (hours, minutes, seconds) = match numbers.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => (0, *m, *s),
        _ => return Err(fail(format!("bad timestamp `{raw}`"))),
    };
    if minutes > 59 || seconds > 59 {
        return Err(fail(format!("timestamp `{raw}` has minutes or seconds above 59")));
    }
    Ok(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

/// Formats milliseconds as a WebVTT timestamp, `HH:MM:SS.mmm`.
pub fn format_timestamp(ms: u64) -> String {
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

/// Parses a `start --> end [settings]` line. Returns `None` when the line has no `-->`.
pub(crate) fn parse_timing(line_text: &str, line: usize) -> Result<Option<(u64, u64, String)>> {
    let Some((start, rest)) = line_text.split_once("-->") else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    let (end, settings) = match rest.split_once([' ', '\t']) {
        Some((end, settings)) => (end, settings.trim()),
        None => (rest, ""),
    };
    let start_ms = parse_timestamp(start, line)?;
    let end_ms = parse_timestamp(end, line)?;
    if end_ms < start_ms {
        return Err(PackagerError::SubtitleParse {
            line,
            reason: format!("cue ends ({}) before it starts ({})", end.trim(), start.trim()),
        });
    }
    Ok(Some((start_ms, end_ms, settings.to_owned())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn srt(cues: impl Iterator<Item = (u64, u64)>) -> String {
        cues.enumerate()
            .map(|(n, (start, end))| {
                format!("{}\n{} --> {}\nline {n}\n\n", n + 1, format_timestamp(start), format_timestamp(end))
                    .replace('.', ",")
            })
            .collect()
    }

    #[test]
    fn too_many_cues_on_screen_at_once_are_refused_saying_when() {
        // Sixteen cues that all last the programme are accepted; a seventeenth is not.
        let sixteen = srt((0..16).map(|n| (n * 1000, 300_000)));
        assert_eq!(parse(&sixteen, SubtitleFormat::Srt).unwrap().len(), 16);
        let seventeen = srt((0..17).map(|n| (n * 1000, 300_000)));
        let error = parse(&seventeen, SubtitleFormat::Srt).unwrap_err();
        assert!(matches!(error, PackagerError::SubtitleLimit { .. }), "{error:?}");
        assert!(error.to_string().contains("17 cues are on screen at once at 00:00:16.000"), "{error}");
        // Cues that follow each other never pile up, however many there are (up to the total limit).
        let sequential = srt((0..MAX_CUES as u64).map(|n| (n * 100, n * 100 + 100)));
        assert_eq!(parse(&sequential, SubtitleFormat::Srt).unwrap().len(), MAX_CUES);
        let too_many = srt((0..MAX_CUES as u64 + 1).map(|n| (n * 100, n * 100 + 100)));
        assert!(parse(&too_many, SubtitleFormat::Srt).unwrap_err().to_string().contains("20001 cues"));
    }

    #[test]
    fn timestamps_in_both_notations() {
        assert_eq!(parse_timestamp("00:01:02,345", 1).unwrap(), 62_345);
        assert_eq!(parse_timestamp("01:02.5", 1).unwrap(), 62_500);
        assert_eq!(parse_timestamp("10:00:00.000", 1).unwrap(), 36_000_000);
        for bad in ["", "1:2", "00:60:00,000", "aa:00:00,000", "00:00:00,1234", "99999999999:00:00.000"] {
            assert!(parse_timestamp(bad, 7).is_err(), "{bad} parsed");
        }
        assert_eq!(format_timestamp(3_723_004), "01:02:03.004");
    }

    proptest::proptest! {
        /// Every timestamp we write reads back to the same millisecond.
        #[test]
        fn timestamps_round_trip(ms in 0u64..360_000_000) {
            proptest::prop_assert_eq!(parse_timestamp(&format_timestamp(ms), 1).unwrap(), ms);
        }

        /// SRT written from arbitrary cues parses back to the same cues.
        #[test]
        fn srt_round_trips(cues in proptest::collection::vec((0u64..36_000_000, 0u64..10_000, "[a-zA-Z0-9 ,.!?']{1,40}"), 0..20)) {
            let mut srt = String::new();
            let mut expected = Vec::new();
            for (index, (start, length, text)) in cues.iter().enumerate() {
                let text = text.trim();
                let to_srt = |ms: u64| format_timestamp(ms).replace('.', ",");
                srt.push_str(&format!("{}\r\n{} --> {}\r\n{text}\r\n\r\n", index + 1, to_srt(*start), to_srt(start + length)));
                if !text.is_empty() {
                    expected.push(Cue { start_ms: *start, end_ms: start + length, settings: String::new(), text: text.to_owned() });
                }
            }
            proptest::prop_assert_eq!(srt::parse(&srt).unwrap(), expected);
        }
    }

    #[test]
    fn lines_handle_bom_crlf_and_cr() {
        let numbered = lines("\u{feff}a\r\nb\rc\n");
        assert_eq!(numbered, vec![(1, "a"), (2, "b"), (3, "c"), (4, "")]);
    }
}
