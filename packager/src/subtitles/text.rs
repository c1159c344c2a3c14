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
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => match rest.find('>') {
                Some(end) if is_tag(&rest[1..end]) => {
                    push_tag(&mut out, &rest[1..end]);
                    rest = &rest[end + 1..];
                    continue;
                }
                _ => out.push_str("&lt;"),
            },
            '>' => out.push_str("&gt;"),
            '&' => {
                if let Some(entity) = known_entity(rest) {
                    out.push_str(entity);
                    rest = &rest[entity.len()..];
                    continue;
                }
                out.push_str("&amp;");
            }
            '{' if rest.starts_with("{\\") => {
                // An ASS override block such as {\an8}: positioning we cannot express, dropped.
                if let Some(end) = rest.find('}') {
                    rest = &rest[end + 1..];
                    continue;
                }
                out.push('{');
            }
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.lines().map(str::trim_end).filter(|line| !line.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

/// Whether `inner` (between `<` and `>`) looks like a tag: a name of letters, optionally closing, optionally
/// with attributes. `a < b > c` is text, not a tag.
fn is_tag(inner: &str) -> bool {
    let name = inner.strip_prefix('/').unwrap_or(inner);
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
    fn blank_lines_never_survive() {
        assert_eq!(clean_cue_text("a\n\n  \nb"), "a\nb");
        assert_eq!(clean_cue_text("<br><br>"), "");
    }
}
