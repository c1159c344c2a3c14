//! A small, defensive XML front end for manifests and metadata: decodes UTF-8 (with or without BOM), UTF-16 and
//! declared legacy encodings; refuses DOCTYPE and any non-predefined entity (so no XXE and no billion laughs);
//! bounds depth and element count; and builds a tiny owned tree whose every element knows its line, column and
//! element path, so findings can point at it. quick-xml does the tokenising and namespace resolution.

use std::borrow::Cow;
use std::collections::HashMap;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::error::{LimitKind, ScormError};

/// The namespace `xml:` is bound to.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Bounds on a document's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most elements in one document.
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self { max_depth: 128, max_elements: 500_000 }
    }
}

/// One attribute, its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URI, when the name has a bound prefix (attributes without a prefix have none).
    pub ns: Option<String>,
    /// The prefix as written.
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Normalised, unescaped value.
    pub value: String,
}

/// One element with its attributes, child elements and direct text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI, when bound.
    pub ns: Option<String>,
    /// The prefix as written.
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Attributes, namespace declarations left out.
    pub attrs: Vec<Attr>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Direct text content, concatenated, untrimmed.
    pub text: String,
    /// 1-based line of the start tag.
    pub line: u32,
    /// 1-based column of the start tag, in characters.
    pub column: u32,
    /// Element path from the root, e.g. `/manifest/organizations/organization[@identifier='org1']/item[2]`.
    pub path: String,
}

impl Element {
    /// The qualified name as written.
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }

    /// The value of the attribute with this local name and no prefix.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.prefix.is_none() && a.local == local).map(|a| a.value.as_str())
    }

    /// The value of `xml:base`.
    pub fn xml_base(&self) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.local == "base" && (a.ns.as_deref() == Some(XML_NS) || a.prefix.as_deref() == Some("xml")))
            .map(|a| a.value.as_str())
    }

    /// Child elements with this local name.
    pub fn children_named<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.local == local)
    }

    /// The trimmed text.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim()
    }
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The root element.
    pub root: Element,
    /// The name of the encoding the bytes were read as.
    pub encoding: &'static str,
    /// Every namespace URI an element or attribute of the document is in, in order of first use (also of the
    /// elements a [`parse_with`] hook took out of the tree).
    pub namespaces: Vec<String>,
}

/// Parses `bytes` (the file `file` of a package) into a tree.
pub fn parse(bytes: &[u8], file: &str, limits: XmlLimits) -> Result<Document, ScormError> {
    parse_with(bytes, file, limits, |_, element| Some(element))
}

/// [`parse`], handing every element to `take` when it closes, with its open ancestors (the root first): `take`
/// returns it to attach it to its parent as usual, or keeps it (`None`), so the tree never holds it. The manifest
/// model takes each `<resource>` this way (see `manifest::Manifest::parse`): a manifest listing 100,000 files then
/// never has them all as elements at once (~930 bytes each, 93 MB) next to the model built from them.
pub fn parse_with(
    bytes: &[u8],
    file: &str,
    limits: XmlLimits,
    mut take: impl FnMut(&[Element], Element) -> Option<Element>,
) -> Result<Document, ScormError> {
    let (text, encoding) = decode(bytes, file)?;
    let mut reader = NsReader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let err_at = |offset: u64, message: String| {
        let (line, column) = line_column(&text, offset);
        ScormError::ManifestParse { file: file.to_string(), line, column, message }
    };
    let mut locator = Locator::new(&text);
    let mut stack: Vec<Element> = Vec::new();
    // Beside each open element: how many children of each name it has had so far, for the `name[n]` path steps
    // (counting the closed children each time was quadratic in a resource listing thousands of files).
    let mut seen_children: Vec<HashMap<String, usize>> = Vec::new();
    let mut root: Option<Element> = None;
    let mut namespaces: Vec<String> = Vec::new();
    let mut count = 0usize;
    loop {
        let start = reader.buffer_position();
        let event = reader.read_event().map_err(|e| err_at(reader.error_position(), e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                if root.is_some() {
                    return Err(err_at(start, "content after the root element".into()));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(limit(LimitKind::XmlElements, limits.max_elements, count));
                }
                if stack.len() >= limits.max_depth {
                    return Err(limit(LimitKind::XmlDepth, limits.max_depth, stack.len() + 1));
                }
                let (res, local) = reader.resolver().resolve_element(e.name());
                let ns = owned_ns(res);
                let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                let prefix = e.name().prefix().map(|p| String::from_utf8_lossy(p.as_ref()).into_owned());
                let mut attrs = Vec::new();
                for attr in e.attributes().with_checks(true) {
                    let attr = attr.map_err(|err| err_at(start, format!("bad attribute: {err}")))?;
                    let key = attr.key;
                    if key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|err| err_at(start, format!("bad attribute value ({err}); entities are not allowed")))?
                        .into_owned();
                    let (res, alocal) = reader.resolver().resolve_attribute(key);
                    attrs.push(Attr {
                        ns: owned_ns(res),
                        prefix: key.prefix().map(|p| String::from_utf8_lossy(p.as_ref()).into_owned()),
                        local: String::from_utf8_lossy(alocal.as_ref()).into_owned(),
                        value,
                    });
                }
                for ns in ns.iter().chain(attrs.iter().filter_map(|a: &Attr| a.ns.as_ref())) {
                    if !namespaces.contains(ns) {
                        namespaces.push(ns.clone());
                    }
                }
                let (line, column) = locator.locate(start);
                let mut element = Element {
                    ns,
                    prefix,
                    local,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                    line,
                    column,
                    path: String::new(),
                };
                let qname = element.qname();
                let n = seen_children.last_mut().map_or(1, |seen| {
                    let n = seen.entry(qname.clone()).or_default();
                    *n += 1;
                    *n
                });
                element.path = child_path(stack.last(), &element, qname, n);
                if is_empty {
                    if let Some(element) = take(&stack, element) {
                        attach(&mut stack, &mut root, element);
                    }
                } else {
                    stack.push(element);
                    seen_children.push(HashMap::new());
                }
            }
            Event::End(_) => {
                seen_children.pop();
                if let Some(element) = stack.pop().and_then(|element| take(&stack, element)) {
                    attach(&mut stack, &mut root, element);
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| err_at(start, e.to_string()))?;
                push_text(&mut stack, &s).map_err(|m| err_at(start, m))?;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| err_at(start, e.to_string()))?;
                push_text(&mut stack, &s).map_err(|m| err_at(start, m))?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| err_at(start, e.to_string()))?.into_owned();
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(err_at(start, format!("bad character reference &{name};"))),
                    }
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                    s.to_string()
                } else {
                    return Err(err_at(start, format!("undefined entity &{name}; (entities are not allowed)")));
                };
                push_text(&mut stack, &resolved).map_err(|m| err_at(start, m))?;
            }
            Event::DocType(_) => {
                return Err(err_at(
                    start,
                    "DOCTYPE is not allowed: it can declare entities (external entities, entity expansion bombs)"
                        .into(),
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(ScormError::ManifestParse {
            file: file.to_string(),
            line: open.line,
            column: open.column,
            message: format!("element <{}> is never closed", open.qname()),
        });
    }
    match root {
        Some(root) => Ok(Document { root, encoding, namespaces }),
        None => Err(err_at(text.len() as u64, "no root element".into())),
    }
}

fn limit(kind: LimitKind, limit: usize, actual: usize) -> ScormError {
    ScormError::LimitExceeded { kind, limit: limit as u64, actual: actual as u64, name: None }
}

fn owned_ns(res: ResolveResult<'_>) -> Option<String> {
    match res {
        ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    }
}

fn push_text(stack: &mut [Element], s: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(top) => {
            // Bounded by the document size, which the caller has already limited.
            top.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Longest name or identifier, in characters, written into one step of an element path; longer ones are cut
/// and end in `…`.
pub const MAX_PATH_PART: usize = 64;

/// Longest element path, in bytes (plus the 3 of a leading `…`): a longer one keeps only its last steps.
pub const MAX_PATH: usize = 512;

/// The path of `element` (named `qname`, the `n`th child of that name of `parent`).
///
/// Paths are for people reading a finding, and every element holds its own copy (as does every finding), so they
/// are bounded: a path repeats the names and identifiers of all its ancestors, and unbounded, a 600 KB identifier
/// on the root above 19,000 empty elements made 11 GB of paths out of an 840-byte zip.
fn child_path(parent: Option<&Element>, element: &Element, qname: String, n: usize) -> String {
    let name = clip(&qname, MAX_PATH_PART);
    let step = match element.attr("identifier") {
        Some(id) => format!("{name}[@identifier='{}']", clip(id, MAX_PATH_PART)),
        None if n == 1 => name.into_owned(),
        None => format!("{name}[{n}]"),
    };
    let path = format!("{}/{step}", parent.map_or("", |p| p.path.as_str()));
    if path.len() <= MAX_PATH {
        return path;
    }
    // Keep the end, from a step boundary when there is one.
    let mut cut = path.len() - MAX_PATH;
    while !path.is_char_boundary(cut) {
        cut += 1;
    }
    let cut = path[cut..].find('/').map_or(cut, |slash| cut + slash);
    format!("…{}", &path[cut..])
}

/// `s` cut to `max` characters, `…` marking the cut.
fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}…", &s[..end])),
        None => Cow::Borrowed(s),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: u64) -> (u32, u32) {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX))
}

/// [`line_column`] for offsets that come in increasing order, as element starts do: each call scans only the text
/// since the previous one, so positioning every element of a manifest is one pass over it rather than one pass per
/// element (quadratic: about 36 ms of a 10 MB course's 57 ms validation went there).
#[derive(Debug)]
struct Locator<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    column: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, offset: 0, line: 1, column: 1 }
    }

    fn locate(&mut self, offset: u64) -> (u32, u32) {
        let mut cut = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len());
        while !self.text.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut < self.offset {
            *self = Self::new(self.text);
        }
        let seen = &self.text[self.offset..cut];
        match seen.rfind('\n') {
            Some(last) => {
                self.line += seen.bytes().filter(|&b| b == b'\n').count();
                self.column = seen[last + 1..].chars().count() + 1;
            }
            None => self.column += seen.chars().count(),
        }
        self.offset = cut;
        (u32::try_from(self.line).unwrap_or(u32::MAX), u32::try_from(self.column).unwrap_or(u32::MAX))
    }
}

/// Turns bytes into text: BOM first, then UTF-16 without BOM, then the declared encoding, then UTF-8.
/// Valid UTF-8 is borrowed, not copied: the text of a 5 MB manifest is not held twice.
fn decode<'b>(bytes: &'b [u8], file: &str) -> Result<(Cow<'b, str>, &'static str), ScormError> {
    let (encoding, body): (&'static Encoding, &[u8]) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (UTF_8, rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (UTF_16LE, rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (UTF_16BE, rest)
    } else if bytes.starts_with(b"<\0?\0") {
        (UTF_16LE, bytes)
    } else if bytes.starts_with(b"\0<\0?") {
        (UTF_16BE, bytes)
    } else {
        (declared_encoding(bytes).unwrap_or(UTF_8), bytes)
    };
    match encoding.decode_without_bom_handling_and_without_replacement(body) {
        Some(text) => Ok((text, encoding.name())),
        None => {
            // Point at the first bad byte when the text is meant to be UTF-8.
            let valid = std::str::from_utf8(body).map_or_else(|e| e.valid_up_to(), |_| 0);
            let prefix = std::str::from_utf8(&body[..valid]).unwrap_or_default();
            let (line, column) = line_column(prefix, valid as u64);
            Err(ScormError::ManifestParse {
                file: file.to_string(),
                line,
                column,
                message: format!("bytes are not valid {}", encoding.name()),
            })
        }
    }
}

/// The `encoding="…"` of an XML declaration, when it names something other than UTF-8/16.
fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(200)];
    let head = std::str::from_utf8(head).ok().or_else(|| {
        let cut = head.iter().position(|&b| b == b'>')?;
        std::str::from_utf8(&head[..=cut]).ok()
    })?;
    let decl = head.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let label = rest[1..].split(quote).next()?;
    let encoding = Encoding::for_label(label.as_bytes())?;
    // A document that says UTF-16 but has no BOM and reached us as 8-bit text is really ASCII-compatible.
    if encoding == UTF_16LE || encoding == UTF_16BE { None } else { Some(encoding) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Document, ScormError> {
        parse(s.as_bytes(), "imsmanifest.xml", XmlLimits::default())
    }

    fn position(err: ScormError) -> (u32, u32, String) {
        match err {
            ScormError::ManifestParse { line, column, message, .. } => (line, column, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_locator_agrees_with_line_column() {
        let text = "<a>\n  <b é=\"ü\"/>\r\n\n<c>日本</c>\n<d/>";
        let mut locator = Locator::new(text);
        let offsets: Vec<u64> = (0..=text.len() as u64 + 2).chain([5, 0, 17, 17, 3]).collect();
        for offset in offsets {
            assert_eq!(locator.locate(offset), line_column(text, offset), "offset {offset}");
        }
    }

    #[test]
    fn builds_a_tree_with_namespaces_positions_and_paths() {
        let doc = parse_str(
            "<?xml version=\"1.0\"?>\n<m:manifest xmlns:m=\"urn:m\" xmlns:a=\"urn:a\" identifier=\"x\" xml:base=\"b/\">\n  <m:item a:t=\"v &amp; w\">t&lt;x&#65;</m:item><m:item/>\n</m:manifest>",
        )
        .expect("parse");
        let root = &doc.root;
        assert_eq!((root.local.as_str(), root.ns.as_deref()), ("manifest", Some("urn:m")));
        assert_eq!((root.line, root.column), (2, 1));
        assert_eq!(root.xml_base(), Some("b/"));
        let item = &root.children[0];
        assert_eq!((item.line, item.column), (3, 3));
        assert_eq!(item.attrs[0].ns.as_deref(), Some("urn:a"));
        assert_eq!(item.attrs[0].value, "v & w");
        assert_eq!(item.text, "t<xA");
        assert_eq!(root.children[1].path, "/m:manifest[@identifier='x']/m:item[2]");
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let (line, _, msg) = position(
            parse_str("<?xml version=\"1.0\"?>\n<!DOCTYPE m [<!ENTITY x \"y\">]>\n<m>&x;</m>").expect_err("doctype"),
        );
        assert_eq!(line, 2);
        assert!(msg.contains("DOCTYPE"), "{msg}");
        let (_, _, msg) = position(parse_str("<m>&x;</m>").expect_err("entity"));
        assert!(msg.contains("entity"), "{msg}");
        let (_, _, msg) = position(parse_str("<m a=\"&x;\"/>").expect_err("entity in attribute"));
        assert!(msg.contains("entities"), "{msg}");
    }

    #[test]
    fn mismatched_and_unclosed_tags_have_positions() {
        let (line, column, msg) = position(parse_str("<a>\n <b>\n </a>").expect_err("mismatch"));
        assert_eq!((line, column), (3, 2), "{msg}");
        let (line, _, msg) = position(parse_str("<a>\n<b></b>").expect_err("unclosed"));
        assert_eq!(line, 1, "{msg}");
        assert!(parse_str("<a/><b/>").is_err());
        assert!(parse_str("").is_err());
        assert!(parse_str("<a x='1' x='2'/>").is_err());
    }

    #[test]
    fn element_paths_stay_short_under_long_names_and_identifiers() {
        // Every element's path repeats its ancestors' steps: unbounded, this document's paths took 200 MB.
        let id = "i".repeat(100_000);
        let name = "n".repeat(1_000);
        let text = format!("<m identifier=\"{id}\"><{name}>{}</{name}></m>", "<b/>".repeat(2_000));
        let doc = parse_str(&text).expect("parse");
        let ellipsis = "…".len();
        let child = &doc.root.children[0];
        let clipped = format!("/m[@identifier='{}…']/{}…", "i".repeat(MAX_PATH_PART), "n".repeat(MAX_PATH_PART));
        assert_eq!(child.path, clipped);
        let last = &child.children[1_999];
        assert_eq!(last.path, format!("{clipped}/b[2000]"));
        let deep = "<abcdefghij>".repeat(100) + &"</abcdefghij>".repeat(100);
        let mut e = &parse_str(&deep).expect("deep").root;
        while let Some(c) = e.children.first() {
            e = c;
        }
        assert!(e.path.len() <= MAX_PATH + ellipsis, "{}", e.path.len());
        assert!(e.path.starts_with("…/abcdefghij/") && e.path.ends_with("/abcdefghij"), "{}", e.path);
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("ééé", 3), "ééé");
    }

    #[test]
    fn depth_and_size_limits() {
        let deep = "<a>".repeat(200) + &"</a>".repeat(200);
        assert!(matches!(parse_str(&deep), Err(ScormError::LimitExceeded { kind: LimitKind::XmlDepth, .. })));
        let many = format!("<a>{}</a>", "<b/>".repeat(20));
        let small = XmlLimits { max_depth: 8, max_elements: 10 };
        assert!(matches!(parse(many.as_bytes(), "f", small), Err(ScormError::LimitExceeded { .. })));
    }

    #[test]
    fn bom_utf16_and_legacy_encodings() {
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), b"<m>x</m>"].concat();
        assert_eq!(parse(&with_bom, "f", XmlLimits::default()).expect("bom").root.text, "x");
        for (bom, le) in [(&b"\xFF\xFE"[..], true), (&b"\xFE\xFF"[..], false), (&b""[..], true)] {
            let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><m>é</m>";
            let mut bytes = bom.to_vec();
            for unit in text.encode_utf16() {
                bytes.extend(if le { unit.to_le_bytes() } else { unit.to_be_bytes() });
            }
            let doc = parse(&bytes, "f", XmlLimits::default()).expect("utf-16");
            assert_eq!(doc.root.text, "é");
        }
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><m>\xE9</m>";
        assert_eq!(parse(latin1, "f", XmlLimits::default()).expect("latin1").root.text, "é");
        let (line, _, _) = position(parse(b"<m>\n\xFF</m>", "f", XmlLimits::default()).expect_err("bad utf-8"));
        assert_eq!(line, 2);
    }
}
