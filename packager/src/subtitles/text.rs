//! Cue text cleaning: whatever the input file had, the output is valid WebVTT cue text.
//!
//! SRT files in the wild carry `<font color=…>`, `<br>`, ASS override blocks (`{\an8}`), bare `&` and `<`.
//! WebVTT only knows a few tags and requires `&` and `<` escaped (and a literal `-->` would end nothing but
//! confuses parsers). We keep `<i>`, `<b>` and `<u>` (without attributes), turn `<br>` into a line break,
//! drop every other tag and escape the rest.

/// Cleans one cue's text into WebVTT cue text. Lines are joined with `\n`; blank lines are dropped, since a
/// blank line would end the cue in the output.
pub fn clean_cue_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // Where the next `>` and `}` are, found once and reused until passed: looking again from every `<` would
    // make a cue of many `<` and no `>` quadratic (800,000 of them took 19 s).
    let mut next_close = Lookahead::new(b'>');
    let mut next_brace = Lookahead::new(b'}');
    let mut at = 0;
    while let Some(c) = raw[at..].chars().next() {
        let rest = &raw[at..];
        match c {
            '<' => match next_close.after(raw, at) {
                Some(end) if end - at <= MAX_TAG_BYTES && is_tag(&raw[at + 1..end]) => {
                    push_tag(&mut out, &raw[at + 1..end]);
                    at = end + 1;
                    continue;
                }
                _ => out.push_str("&lt;"),
            },
            '>' => out.push_str("&gt;"),
            '&' => {
                if let Some(entity) = known_entity(rest) {
                    out.push_str(entity);
                    at += entity.len();
                    continue;
                }
                out.push_str("&amp;");
            }
            '{' if rest.starts_with("{\\") => {
                // An ASS override block such as {\an8}: positioning we cannot express, dropped.
                if let Some(end) = next_brace.after(raw, at) {
                    at = end + 1;
                    continue;
                }
                out.push('{');
            }
            _ => out.push(c),
        }
        at += c.len_utf8();
    }
    out.lines().map(str::trim_end).filter(|line| !line.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

/// The longest tag taken as one, attributes included (`<font color="#ffffff" face="Arial">`); a longer
/// stretch between `<` and `>` is text.
const MAX_TAG_BYTES: usize = 256;

/// The next position of one byte at or after a point, remembered until the point passes it, so that a
/// scan over the whole text costs one pass however many times it is asked.
struct Lookahead {
    byte: u8,
    /// `Some(Some(i))`: the byte is at `i`; `Some(None)`: it is nowhere after the last search start.
    found: Option<Option<usize>>,
}

impl Lookahead {
    fn new(byte: u8) -> Self {
        Lookahead { byte, found: None }
    }

    /// The first position after `at` (a `<` or `{` is at `at`) where the byte is.
    fn after(&mut self, text: &str, at: usize) -> Option<usize> {
        match self.found {
            Some(Some(position)) if position > at => return Some(position),
            Some(None) => return None,
            _ => {}
        }
        let found = text.as_bytes()[at + 1..].iter().position(|&b| b == self.byte).map(|offset| at + 1 + offset);
        self.found = Some(found);
        found
    }
}

/// Whether `inner` (between `<` and `>`) looks like a tag: a name of letters, optionally closing, optionally
/// with attributes. `a < b > c` is text, not a tag.
fn is_tag(inner: &str) -> bool {
    let name = inner.strip_prefix('/').unwrap_or(inner);
    // Names are short: look no further than a name could reach.
    let name = name.split([' ', '\t', '.']).next().unwrap_or("");
    let name = name.strip_suffix('/').unwrap_or(name);
    !name.is_empty() && name.len() <= 16 && name.bytes().all(|b| b.is_ascii_alphabetic())
}

fn push_tag(out: &mut String, inner: &str) {
    let closing = inner.starts_with('/');
    let name = inner.trim_start_matches('/').split([' ', '\t', '.', '/']).next().unwrap_or("").to_ascii_lowercase();
    match name.as_str() {
        "i" | "b" | "u" => {
            out.push('<');
            if closing {
                out.push('/');
            }
            out.push_str(&name);
            out.push('>');
        }
        "br" => out.push('\n'),
        // <font>, <span>, <c>, <v>, voice and class tags: dropped, their text kept.
        _ => {}
    }
}

/// The entity at the start of `text` when it is one WebVTT understands (or a numeric one).
fn known_entity(text: &str) -> Option<&str> {
    // Entities are short: looking only at the next few bytes keeps a line full of `&` linear.
    let end = text.bytes().take(12).position(|b| b == b';')?;
    let entity = &text[..=end];
    let body = &entity[1..end];
    let named = ["amp", "lt", "gt", "nbsp", "lrm", "rlm", "quot", "apos"];
    let numeric = body
        .strip_prefix("#x")
        .map(|hex| !hex.is_empty() && hex.len() <= 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .or_else(|| {
            body.strip_prefix('#')
                .map(|dec| !dec.is_empty() && dec.len() <= 7 && dec.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or(false);
    (named.contains(&body) || numeric).then_some(entity)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_simple_styling_and_drops_the_rest() {
        assert_eq!(clean_cue_text("<i>Hello</i> <font color=\"red\">world</font>"), "<i>Hello</i> world");
        assert_eq!(clean_cue_text("<B>Bold</B>"), "<b>Bold</b>");
        assert_eq!(clean_cue_text("one<br/>two"), "one\ntwo");
        assert_eq!(clean_cue_text("{\\an8}Top"), "Top");
    }

    #[test]
    fn escapes_what_webvtt_reserves() {
        assert_eq!(clean_cue_text("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
        assert_eq!(clean_cue_text("x --> y"), "x --&gt; y");
        assert_eq!(clean_cue_text("&amp; &#39; &nbsp;"), "&amp; &#39; &nbsp;");
        assert_eq!(clean_cue_text("<3 you"), "&lt;3 you");
    }

    #[test]
    fn hostile_runs_of_brackets_clean_in_linear_time() {
        // 800,000 `<` with no `>` took 19 s (release) when every `<` looked for its `>` again; quadratic work
        // here would hold this test for many minutes, which the test runner reports as slow.
        let cleaned = clean_cue_text(&"<".repeat(800_000));
        assert_eq!(cleaned.len(), 800_000 * 4);
        let cleaned = clean_cue_text(&"{\\".repeat(400_000));
        assert!(cleaned.starts_with("{\\{"));
        let mixed = format!("{}<i>end</i>", "<".repeat(100_000));
        assert!(clean_cue_text(&mixed).ends_with("<i>end</i>"));
    }

    #[test]
    fn blank_lines_never_survive() {
        assert_eq!(clean_cue_text("a\n\n  \nb"), "a\nb");
        assert_eq!(clean_cue_text("<br><br>"), "");
    }
}
