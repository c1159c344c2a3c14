//! Names inside a package: normalising archive entry names (and refusing hostile ones), and resolving manifest
//! references (`href`, `xml:base`, `adlcp:location`) against the package root. Both the archive reader and the
//! rules use these, so "what a name means" is decided in one place.

use crate::error::UnsafeReason;

/// Normalises a stored entry name: `\` read as `/`, `.` segments and empty segments dropped. Refuses names that
/// are absolute, carry a drive letter, climb with `..`, or hold control characters. The root itself becomes "".
pub fn normalize_entry_name(raw: &str) -> Result<String, UnsafeReason> {
    if raw.is_empty() {
        return Err(UnsafeReason::BadName);
    }
    if raw.chars().any(char::is_control) {
        return Err(UnsafeReason::ControlCharacter);
    }
    let slashed = raw.replace('\\', "/");
    if slashed.starts_with('/') {
        return Err(UnsafeReason::AbsolutePath);
    }
    if has_drive_prefix(&slashed) {
        return Err(UnsafeReason::DrivePath);
    }
    let mut parts = Vec::new();
    for segment in slashed.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(UnsafeReason::ParentSegment),
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// True for `C:` and `C:/…`: a Windows drive, never a URL scheme (schemes are longer than one letter).
pub fn has_drive_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Case folding used to find names that collide on case-insensitive file systems.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// The URL scheme of `s`, lowercased, if it has one (`http`, `https`, `file`, `mailto`…).
pub fn scheme(s: &str) -> Option<String> {
    let (head, _) = s.split_once(':')?;
    let mut chars = head.chars();
    let first = chars.next()?;
    if head.len() < 2 || !first.is_ascii_alphabetic() {
        return None;
    }
    if chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        Some(head.to_ascii_lowercase())
    } else {
        None
    }
}

/// A syntax problem of a manifest reference, as the CTS and the LMSs see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefSyntax {
    /// Empty or only spaces.
    Empty,
    /// Holds `\`: a Windows path, not a URL.
    Backslash,
    /// Starts with `/`: relative to the web server, not to the package.
    LeadingSlash,
    /// A `file:` URL points at the author's disk.
    FileScheme,
    /// A drive letter such as `C:`.
    DrivePath,
    /// Control characters or raw spaces at either end.
    BadCharacters,
    /// Longer than [`MAX_REF_LEN`] bytes: no file system path is, and resolving it under every reference of a
    /// resource would be quadratic.
    TooLong,
}

/// Longest reference or `xml:base`, and longest `xml:base` chain joined, in bytes, that we resolve (Linux's
/// `PATH_MAX`; Windows and the LMSs allow far less). Every `<file>` of a resource is resolved under the same chain,
/// so without a bound a 600 KB `xml:base` over 19,000 `<file>`s cost minutes (a 1.6 KB zip).
pub const MAX_REF_LEN: usize = 4096;

impl RefSyntax {
    /// A short phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Empty => "is empty",
            Self::Backslash => "uses `\\` where URLs use `/`",
            Self::LeadingSlash => "starts with `/`, so it points at the web server root instead of the package",
            Self::FileScheme => "is a `file:` URL that only works on the author's computer",
            Self::DrivePath => "is a drive-letter path",
            Self::BadCharacters => "holds control characters or surrounding spaces",
            Self::TooLong => "is longer than 4096 bytes, more than any file system allows in a path",
        }
    }
}

/// Checks the syntax of one reference; `None` when it is fine.
pub fn ref_syntax(s: &str) -> Option<RefSyntax> {
    if s.len() > MAX_REF_LEN {
        return Some(RefSyntax::TooLong);
    }
    if s.trim().is_empty() {
        return Some(RefSyntax::Empty);
    }
    if s.chars().any(char::is_control) || s.trim() != s {
        return Some(RefSyntax::BadCharacters);
    }
    if has_drive_prefix(s) {
        return Some(RefSyntax::DrivePath);
    }
    if scheme(s).as_deref() == Some("file") {
        return Some(RefSyntax::FileScheme);
    }
    if s.contains('\\') {
        return Some(RefSyntax::Backslash);
    }
    if s.starts_with('/') {
        return Some(RefSyntax::LeadingSlash);
    }
    None
}

/// Joins a chain of `xml:base` values (outermost first) and an href into one URL as written, query kept: what a
/// player would load. An absolute base restarts the chain. `None` when the href, or the chain and the href
/// together, are longer than [`MAX_REF_LEN`]: no player loads that, and every item launching the resource would
/// hold its own copy of the whole chain.
pub fn join_chain(bases: &[&str], href: &str) -> Option<String> {
    if href.len() > MAX_REF_LEN {
        return None;
    }
    if scheme(href).is_some() {
        return Some(href.to_string());
    }
    if bases.iter().map(|b| b.len()).sum::<usize>() + href.len() > MAX_REF_LEN {
        return None;
    }
    let mut joined = String::new();
    for base in bases.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
        joined = if scheme(base).is_some() { base.to_string() } else { join(&joined, base) };
    }
    Some(join(&joined, href))
}

/// Where a reference leads once its `xml:base` chain is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path inside the package, normalised, without query or fragment.
    Inside(String),
    /// An absolute URL (http, https, …): outside the package by design.
    External(String),
    /// `..` climbs above the package root.
    Escapes(String),
    /// Broken syntax (see [`ref_syntax`]); no lookup possible.
    Invalid,
}

/// Resolves `href` against the chain of `xml:base` values (outermost first), as RFC 3986 does for relative
/// references: a base that does not end in `/` loses its last segment.
pub fn resolve(bases: &[&str], href: &str) -> Target {
    if ref_syntax(href).is_some_and(|s| s != RefSyntax::LeadingSlash) {
        return Target::Invalid;
    }
    if scheme(href).is_some() {
        return Target::External(href.to_string());
    }
    // Walk back from the innermost base: an absolute URL base makes everything under it external.
    let mut joined = String::new();
    for base in bases {
        // Bounded first, so nothing below scans or copies more than a few KB per reference.
        if base.len() > MAX_REF_LEN || joined.len() + base.len() > MAX_REF_LEN {
            return Target::Invalid;
        }
        let base = base.trim();
        if base.is_empty() {
            continue;
        }
        if scheme(base).is_some() {
            joined = base.to_string();
            continue;
        }
        if ref_syntax(base).is_some() {
            return Target::Invalid;
        }
        joined = join(&joined, base);
    }
    if scheme(&joined).is_some() {
        return Target::External(join(&joined, href));
    }
    if href.starts_with('/') {
        return Target::Invalid;
    }
    let full = join(&joined, href);
    let path = full.split(['?', '#']).next().unwrap_or_default();
    let path = percent_decode(path);
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Target::Escapes(full);
                }
            }
            other => parts.push(other),
        }
    }
    Target::Inside(parts.join("/"))
}

/// RFC 3986 merge of a relative reference onto a base path (no normalisation).
pub fn join(base: &str, rel: &str) -> String {
    if base.is_empty() {
        return rel.to_string();
    }
    match base.rfind('/') {
        Some(i) => format!("{}{}", &base[..=i], rel),
        None => rel.to_string(),
    }
}

/// Decodes `%XX` escapes; leaves malformed ones as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_normalised_or_refused() {
        assert_eq!(normalize_entry_name("a/./b//c.html"), Ok("a/b/c.html".into()));
        assert_eq!(normalize_entry_name("a\\b.html"), Ok("a/b.html".into()));
        assert_eq!(normalize_entry_name("../x"), Err(UnsafeReason::ParentSegment));
        assert_eq!(normalize_entry_name("a\\..\\..\\x"), Err(UnsafeReason::ParentSegment));
        assert_eq!(normalize_entry_name("/etc/passwd"), Err(UnsafeReason::AbsolutePath));
        assert_eq!(normalize_entry_name("\\\\server\\share"), Err(UnsafeReason::AbsolutePath));
        assert_eq!(normalize_entry_name("C:/x"), Err(UnsafeReason::DrivePath));
        assert_eq!(normalize_entry_name("a\0b"), Err(UnsafeReason::ControlCharacter));
        assert_eq!(normalize_entry_name("a\u{1b}b"), Err(UnsafeReason::ControlCharacter));
        assert_eq!(normalize_entry_name(""), Err(UnsafeReason::BadName));
        assert_eq!(normalize_entry_name("./"), Ok(String::new()));
    }

    #[test]
    fn reference_syntax() {
        assert_eq!(ref_syntax("a/b.html"), None);
        assert_eq!(ref_syntax("a\\b.html"), Some(RefSyntax::Backslash));
        assert_eq!(ref_syntax("/a.html"), Some(RefSyntax::LeadingSlash));
        assert_eq!(ref_syntax("file:///c:/a.html"), Some(RefSyntax::FileScheme));
        assert_eq!(ref_syntax("C:\\a.html"), Some(RefSyntax::DrivePath));
        assert_eq!(ref_syntax(" "), Some(RefSyntax::Empty));
        assert_eq!(ref_syntax("https://example.com/x"), None);
    }

    #[test]
    fn resolution_applies_bases_queries_and_escapes() {
        assert_eq!(resolve(&[], "a/b.html?x=1#t"), Target::Inside("a/b.html".into()));
        assert_eq!(resolve(&["course/", "sco1/"], "index.html"), Target::Inside("course/sco1/index.html".into()));
        assert_eq!(resolve(&["course"], "index.html"), Target::Inside("index.html".into()));
        assert_eq!(resolve(&["a/"], "../../x.html"), Target::Escapes("a/../../x.html".into()));
        assert_eq!(resolve(&["a/"], "../x.html"), Target::Inside("x.html".into()));
        assert_eq!(resolve(&[], "my%20page.html"), Target::Inside("my page.html".into()));
        assert!(matches!(resolve(&["http://cdn.example/"], "x.js"), Target::External(_)));
        assert!(matches!(resolve(&[], "https://example.com"), Target::External(_)));
        assert_eq!(resolve(&[], "a\\b.html"), Target::Invalid);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn overlong_references_and_chains_are_invalid_not_resolved() {
        let long = format!("{}/", "b".repeat(MAX_REF_LEN));
        assert_eq!(ref_syntax(&long), Some(RefSyntax::TooLong));
        assert_eq!(ref_syntax(&long[1..]), None);
        assert_eq!(resolve(&[], &long), Target::Invalid);
        assert_eq!(resolve(&[&long], "x.html"), Target::Invalid);
        let half = format!("{}/", "b".repeat(MAX_REF_LEN / 2));
        assert!(matches!(resolve(&[&half], "x.html"), Target::Inside(_)));
        assert_eq!(resolve(&[&half, &half, &half], "x.html"), Target::Invalid, "the chain joined is too long");
        assert_eq!(join_chain(&[&half], "x.html"), Some(format!("{half}x.html")));
        assert_eq!(join_chain(&[&half, &half, &half], "x.html"), None);
        assert_eq!(join_chain(&[], &long), None);
        assert!(RefSyntax::TooLong.describe().contains(&MAX_REF_LEN.to_string()));
    }
}
