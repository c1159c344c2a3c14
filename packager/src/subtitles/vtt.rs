//! The WebVTT reader: for WebVTT input files and for the validator, which reads our (or anyone's) WebVTT
//! segments back, with their `X-TIMESTAMP-MAP` header.
//!
//! It follows the block structure of the W3C WebVTT spec (header, then blocks separated by blank lines;
//! `NOTE`, `STYLE` and `REGION` blocks skipped; an optional cue identifier before the timing line) and
//! reports anything else with its line number instead of guessing.

use super::srt::shorten;
use super::text::clean_cue_text;
use super::{Cue, lines, parse_timestamp, parse_timing};
use crate::error::{PackagerError, Result};

/// A parsed WebVTT file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VttFile {
    /// The `X-TIMESTAMP-MAP` of the header, when present.
    pub timestamp_map: Option<TimestampMap>,
    /// The cues in file order.
    pub cues: Vec<Cue>,
}

/// `X-TIMESTAMP-MAP=MPEGTS:<90 kHz ticks>,LOCAL:<WebVTT time>`: which media time a cue time corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampMap {
    /// The media timestamp, in 90 kHz ticks.
    pub mpegts: u64,
    /// The cue time it corresponds to, in milliseconds.
    pub local_ms: u64,
}

/// Parses a WebVTT file.
pub fn parse(input: &str) -> Result<VttFile> {
    let lines = lines(input);
    let first = lines.first().map(|&(_, line)| line).unwrap_or("");
    let signature_ok = first == "WEBVTT" || first.starts_with("WEBVTT ") || first.starts_with("WEBVTT\t");
    if !signature_ok {
        return Err(PackagerError::SubtitleParse { line: 1, reason: "a WebVTT file must start with `WEBVTT`".into() });
    }
    let mut index = 1;
    let mut timestamp_map = None;
    // Header lines run until the first blank line.
    while let Some(&(number, line)) = lines.get(index) {
        if line.trim().is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("X-TIMESTAMP-MAP=") {
            timestamp_map = Some(parse_timestamp_map(value, number)?);
        } else if line.contains("-->") {
            return Err(PackagerError::SubtitleParse {
                line: number,
                reason: "a cue needs a blank line between it and the WEBVTT header".into(),
            });
        }
        index += 1;
    }
    let mut cues = Vec::new();
    while index < lines.len() {
        let (number, line) = lines[index];
        if line.trim().is_empty() {
            index += 1;
            continue;
        }
        let block_end = (index..lines.len()).find(|&i| lines[i].1.trim().is_empty()).unwrap_or(lines.len());
        let block = &lines[index..block_end];
        index = block_end;
        if is_non_cue_block(line) {
            continue;
        }
        // An optional identifier line comes before the timing line.
        let (timing_position, text_from) = if line.contains("-->") { (0, 1) } else { (1, 2) };
        let Some(&(timing_number, timing_line)) = block.get(timing_position) else {
            return Err(PackagerError::SubtitleParse {
                line: number,
                reason: format!("expected a timing line after `{}`", shorten(line.trim())),
            });
        };
        let (start_ms, end_ms, settings) =
            parse_timing(timing_line, timing_number)?.ok_or_else(|| PackagerError::SubtitleParse {
                line: timing_number,
                reason: format!(
                    "expected a timing line like `00:00:01.000 --> 00:00:02.000`, found `{}`",
                    shorten(timing_line.trim())
                ),
            })?;
        let raw_text: Vec<&str> = block.iter().skip(text_from).map(|&(_, text)| text).collect();
        let text = clean_cue_text(&raw_text.join("\n"));
        if !text.is_empty() {
            cues.push(Cue { start_ms, end_ms, settings, text });
        }
    }
    Ok(VttFile { timestamp_map, cues })
}

fn is_non_cue_block(first_line: &str) -> bool {
    ["NOTE", "STYLE", "REGION"].iter().any(|keyword| {
        first_line == *keyword || first_line.strip_prefix(keyword).is_some_and(|rest| rest.starts_with([' ', '\t']))
    })
}

fn parse_timestamp_map(value: &str, line: usize) -> Result<TimestampMap> {
    let mut mpegts = None;
    let mut local_ms = None;
    for part in value.split(',') {
        let part = part.trim();
        if let Some(ticks) = part.strip_prefix("MPEGTS:") {
            let parsed = ticks.parse::<u64>().map_err(|_| PackagerError::SubtitleParse {
                line,
                reason: format!("X-TIMESTAMP-MAP has a bad MPEGTS value `{ticks}`"),
            })?;
            mpegts = Some(parsed);
        } else if let Some(local) = part.strip_prefix("LOCAL:") {
            local_ms = Some(parse_timestamp(local, line)?);
        }
    }
    match (mpegts, local_ms) {
        (Some(mpegts), Some(local_ms)) => Ok(TimestampMap { mpegts, local_ms }),
        _ => Err(PackagerError::SubtitleParse { line, reason: "X-TIMESTAMP-MAP needs both MPEGTS and LOCAL".into() }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_map_and_cues() {
        let input = "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\nNOTE a comment\nspanning lines\n\nintro\n00:01.000 --> 00:02.000 line:0\n<v Bob>Hi</v>\n\n00:00:03.000 --> 00:00:04.000\nBye\n";
        let file = parse(input).unwrap();
        assert_eq!(file.timestamp_map, Some(TimestampMap { mpegts: 900_000, local_ms: 0 }));
        assert_eq!(file.cues.len(), 2);
        assert_eq!(file.cues[0].settings, "line:0");
        assert_eq!(file.cues[0].text, "Hi");
        assert_eq!(file.cues[1].start_ms, 3000);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let cases = [
            ("WEBVTX\n", 1),
            ("WEBVTT\n\n00:01.000 --> 00:00.500\nx\n", 3),
            ("WEBVTT\n\nid only\n", 3),
            ("WEBVTT\n\nid\nnot timing\n", 4),
            ("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:x,LOCAL:00:00:00.000\n", 2),
        ];
        for (input, line) in cases {
            match parse(input) {
                Err(PackagerError::SubtitleParse { line: found, .. }) => assert_eq!(found, line, "{input:?}"),
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }
}
