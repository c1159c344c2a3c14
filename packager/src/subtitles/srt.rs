//! The SubRip (`.srt`) reader.
//!
//! Why not the `srtparse` crate the design sketch names: srtparse 0.3 reports errors without a line number
//! (the issue asks for one), fails on the very common two blank lines between cues, and computes times with
//! unchecked arithmetic that overflows (a panic in debug builds) on large hour values, which is exactly what
//! a fuzzer or a hostile upload sends. SRT is a small format, so a careful reader of our own is less code
//! than working around those.
//!
//! Accepted: an optional BOM, CRLF/CR/LF, any number of blank lines between cues, a missing cue number, `.`
//! or `,` before the milliseconds, SubRip position coordinates after the timing (ignored), a cue number
//! followed directly by the next cue without a blank line. Rejected with the line number: a line that is
//! neither a number nor a timing where a cue should start, a bad timestamp, a cue that ends before it starts.

use super::text::clean_cue_text;
use super::{Cue, lines, parse_timing};
use crate::error::{PackagerError, Result};

/// Parses SRT text into cues, in file order. Cues whose text is empty after cleaning are dropped.
pub fn parse(input: &str) -> Result<Vec<Cue>> {
    let lines = lines(input);
    let mut cues = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let (number, line) = lines[index];
        let trimmed = line.trim();
        if trimmed.is_empty() {
            index += 1;
            continue;
        }
        // The cue number is optional: a timing line may start a cue on its own.
        let timing_at = if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            index + 1
        } else if trimmed.contains("-->") {
            index
        } else {
            return Err(PackagerError::SubtitleParse {
                line: number,
                reason: format!("expected a cue number or a timing line, found `{}`", shorten(trimmed)),
            });
        };
        let Some(&(timing_number, timing_line)) = lines.get(timing_at) else {
            return Err(PackagerError::SubtitleParse {
                line: number,
                reason: "the file ends after a cue number".into(),
            });
        };
        let (start_ms, end_ms, _coordinates) =
            parse_timing(timing_line, timing_number)?.ok_or_else(|| PackagerError::SubtitleParse {
                line: timing_number,
                reason: format!(
                    "expected a timing line like `00:00:01,000 --> 00:00:02,000`, found `{}`",
                    shorten(timing_line.trim())
                ),
            })?;
        index = timing_at + 1;
        let mut text_lines = Vec::new();
        while let Some(&(_, text_line)) = lines.get(index) {
            if text_line.trim().is_empty() || starts_next_cue(&lines, index) {
                break;
            }
            text_lines.push(text_line);
            index += 1;
        }
        let text = clean_cue_text(&text_lines.join("\n"));
        if !text.is_empty() {
            cues.push(Cue { start_ms, end_ms, settings: String::new(), text });
        }
    }
    Ok(cues)
}

/// Whether the line at `index` begins a new cue although no blank line came before it: a timing line, or a
/// number followed by a timing line.
fn starts_next_cue(lines: &[(usize, &str)], index: usize) -> bool {
    let is_timing = |i: usize| {
        lines
            .get(i)
            .is_some_and(|&(number, line)| line.contains("-->") && matches!(parse_timing(line, number), Ok(Some(_))))
    };
    let Some(&(_, line)) = lines.get(index) else { return false };
    let trimmed = line.trim();
    is_timing(index) || (!trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) && is_timing(index + 1))
}

/// The start of a long line, for error messages.
pub(crate) fn shorten(line: &str) -> String {
    let mut short: String = line.chars().take(60).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_file() {
        let cues =
            parse("1\n00:00:01,000 --> 00:00:02,500\nHello\nthere\n\n2\n00:00:03,000 --> 00:00:04,000\nBye\n").unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0], Cue { start_ms: 1000, end_ms: 2500, settings: String::new(), text: "Hello\nthere".into() });
        assert_eq!(cues[1].text, "Bye");
    }

    #[test]
    fn tolerates_bom_crlf_extra_blank_lines_and_missing_numbers() {
        let input = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,000\r\n<font color=\"#fff\">Hi</font>\r\n\r\n\r\n\r\n00:00:03.000 --> 00:00:04.000 X1:10 X2:20 Y1:1 Y2:2\r\nNo number\r\n2\r\n00:00:05,000 --> 00:00:06,000\r\nNo blank line before\r\n";
        let cues = parse(input).unwrap();
        let texts: Vec<&str> = cues.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, vec!["Hi", "No number", "No blank line before"]);
        assert_eq!(cues[1].start_ms, 3000);
    }

    #[test]
    fn errors_carry_the_line_number() {
        let cases = [
            ("1\n00:00:01,000 -> 00:00:02,000\nx\n", 2),
            ("1\n00:00:01,000 --> 00:00:0x,000\nx\n", 2),
            ("1\n00:00:03,000 --> 00:00:02,000\nx\n", 2),
            ("1\n00:00:01,000 --> 00:00:02,000\nx\n\nnot a cue\n", 5),
            ("\n\n7", 3),
        ];
        for (input, line) in cases {
            match parse(input) {
                Err(PackagerError::SubtitleParse { line: found, .. }) => assert_eq!(found, line, "{input:?}"),
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_number_line_inside_text_stays_text() {
        let cues = parse("1\n00:00:01,000 --> 00:00:02,000\nThe answer is\n42\n").unwrap();
        assert_eq!(cues[0].text, "The answer is\n42");
    }
}
