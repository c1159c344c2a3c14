//! Rules on every reference the manifest makes to a file (resource `href`, `<file href>`, `adlcp:location`): syntax,
//! external URLs, `xml:base` syntax, climbing above the root, existence after the `xml:base` chain (and the
//! case-only near miss), and the reverse: files in the package that the manifest never lists.

use std::collections::HashSet;
use std::rc::Rc;

use super::Rule;
use crate::archive::EntryKind;
use crate::finding::Severity;
use crate::manifest::{Loc, Manifest, Metadata};
use crate::paths::{RefSyntax, Target, ref_syntax, resolve, scheme};
use crate::validate::MANIFEST_NAME;

/// One reference to a file. The `xml:base` chain is shared by all references under one element (a resource's
/// files usually add no base of their own): one allocation per resource instead of one per reference, which
/// mattered for a manifest listing 100,000 files, walked by several rules.
struct Reference<'a> {
    what: &'static str,
    value: &'a str,
    bases: Rc<[&'a str]>,
    loc: &'a Loc,
}

impl Reference<'_> {
    fn target(&self) -> Target {
        resolve(&self.bases, self.value)
    }
}

fn metadata_refs<'a>(md: Option<&'a Metadata>, bases: &Rc<[&'a str]>, out: &mut Vec<Reference<'a>>) {
    for l in md.iter().flat_map(|md| &md.locations) {
        out.push(Reference { what: "adlcp:location", value: &l.value, bases: bases.clone(), loc: &l.loc });
    }
}

fn references(m: &Manifest) -> Vec<Reference<'_>> {
    let mut out = Vec::new();
    let top: Rc<[&str]> = m.base.as_deref().into_iter().collect();
    metadata_refs(m.metadata.as_ref(), &top, &mut out);
    for o in &m.organizations.list {
        metadata_refs(o.metadata.as_ref(), &top, &mut out);
    }
    for i in m.all_items() {
        metadata_refs(i.metadata.as_ref(), &top, &mut out);
    }
    for (chain, r) in m.all_resources() {
        let chain: Rc<[&str]> = chain.into();
        if let Some(href) = &r.href {
            out.push(Reference { what: "resource href", value: href, bases: chain.clone(), loc: &r.loc });
        }
        metadata_refs(r.metadata.as_ref(), &chain, &mut out);
        for f in &r.files {
            let fc = match f.base.as_deref() {
                Some(base) => chain.iter().copied().chain([base]).collect(),
                None => chain.clone(),
            };
            if let Some(href) = &f.href {
                out.push(Reference { what: "file href", value: href, bases: fc.clone(), loc: &f.loc });
            }
            metadata_refs(f.metadata.as_deref(), &fc, &mut out);
        }
    }
    out
}

/// Every `xml:base` with its location.
fn bases(m: &Manifest) -> Vec<(&str, &Loc)> {
    let mut out = Vec::new();
    out.extend(m.base.as_deref().map(|b| (b, &m.loc)));
    out.extend(m.resources.base.as_deref().map(|b| (b, &m.resources.loc)));
    for r in &m.resources.list {
        out.extend(r.base.as_deref().map(|b| (b, &r.loc)));
        for f in &r.files {
            out.extend(f.base.as_deref().map(|b| (b, &f.loc)));
        }
    }
    for s in &m.sub_manifests {
        out.extend(bases(s));
    }
    out
}

/// References are URLs, not Windows or server paths.
pub static HREF_SYNTAX: Rule = Rule {
    id: "href-syntax",
    severity: Severity::Error,
    summary: "references are relative URLs: no `\\`, no leading `/`, no `file:` or drive letters, not empty",
    compat: Some((
        Severity::Error,
        "Moodle and SCORM Cloud serve the package over HTTP: a Windows path or a server-absolute path is a 404",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for r in references(m) {
            if let Some(problem) = ref_syntax(r.value) {
                let hint = match problem {
                    RefSyntax::Backslash => Some(format!("write {:?}", r.value.replace('\\', "/"))),
                    RefSyntax::LeadingSlash => {
                        Some(format!("write {:?}, relative to the package root", r.value.trim_start_matches('/')))
                    }
                    _ => Some("use a path relative to the package root, with `/` between folders".into()),
                };
                sink.at(r.loc, format!("{} {:?} {}", r.what, r.value, problem.describe()), hint);
            }
        }
    },
};

/// External URLs are allowed but fragile.
pub static HREF_EXTERNAL: Rule = Rule {
    id: "href-external",
    severity: Severity::Warning,
    summary: "references to external URLs (http, https…) work only online and break the package's self-containment",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for r in references(m) {
            if ref_syntax(r.value).is_none() && matches!(r.target(), Target::External(_)) {
                sink.at(
                    r.loc,
                    format!("{} {:?} points outside the package", r.what, r.value),
                    Some(
                        "offline players and strict CSPs will not load it; ship the file in the package if you can"
                            .into(),
                    ),
                );
            }
        }
    },
};

/// `xml:base` syntax.
pub static XML_BASE_SYNTAX: Rule = Rule {
    id: "xml-base-syntax",
    severity: Severity::Error,
    summary: "xml:base values are relative URLs ending in `/` (no `\\`, no leading `/`, no `file:`)",
    compat: Some((
        Severity::Error,
        "Moodle prepends xml:base to the href as a string: a missing `/` glues folder and file names together",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for (b, loc) in bases(m) {
            if let Some(problem) = ref_syntax(b) {
                sink.at(loc, format!("xml:base {b:?} {}", problem.describe()), None);
            } else if scheme(b).is_none() && !b.ends_with('/') {
                sink.at_with(
                    Severity::Warning,
                    loc,
                    format!("xml:base {b:?} does not end in `/`; URL resolution drops its last segment"),
                    Some(format!("write {:?}", format!("{b}/"))),
                );
            }
        }
    },
};

/// No reference climbs out of the package.
pub static PATH_ESCAPES_ROOT: Rule = Rule {
    id: "path-escapes-root",
    severity: Severity::Error,
    summary: "no reference climbs above the package root with `..`",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for r in references(m) {
            if let Target::Escapes(full) = r.target() {
                sink.at(
                    r.loc,
                    format!("{} {:?} resolves to {full:?}, above the package root", r.what, r.value),
                    Some("keep every file inside the package".into()),
                );
            }
        }
    },
};

/// Referenced files exist.
pub static FILE_EXISTS: Rule = Rule {
    id: "file-exists",
    severity: Severity::Error,
    summary: "every referenced file (resource href, <file href>, adlcp:location) exists in the package after xml:base",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let mut reported = HashSet::new();
        for r in references(m) {
            let Target::Inside(path) = r.target() else { continue };
            if path.is_empty() {
                continue;
            }
            // Found files are not remembered: only the paths reported, so a valid package listing 100,000 files
            // does not build a set of 100,000 paths here.
            let entry = ctx.entry(&path);
            let found = match entry {
                Some(e) => e.kind == EntryKind::File,
                None => ctx.entry_case_insensitive(&path).is_some(), // file-case-mismatch says it
            };
            if found || !reported.insert(path.clone()) {
                continue;
            }
            match entry {
                Some(_) => sink.at(r.loc, format!("{} {:?} names a folder, not a file", r.what, r.value), None),
                None => {
                    let shown = if path == r.value { String::new() } else { format!(" (resolved to {path:?})") };
                    sink.at(
                        r.loc,
                        format!("{} {:?}{shown} is not in the package", r.what, r.value),
                        Some("add the file to the package, or fix the reference".into()),
                    );
                }
            }
        }
    },
};

/// Referenced files exist only in another letter case.
pub static FILE_CASE_MISMATCH: Rule = Rule {
    id: "file-case-mismatch",
    severity: Severity::Warning,
    summary: "a referenced file exists only with different upper/lower case (works on Windows, 404 on Linux and S3)",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let mut reported = HashSet::new();
        for r in references(m) {
            let Target::Inside(path) = r.target() else { continue };
            if path.is_empty() || ctx.entry(&path).is_some() || !reported.insert(path.clone()) {
                continue;
            }
            if let Some(e) = ctx.entry_case_insensitive(&path) {
                let actual = e.name.strip_prefix(ctx.root()).unwrap_or(e.name);
                sink.at(
                    r.loc,
                    format!("{} {:?} matches {actual:?} only when case is ignored", r.what, r.value),
                    Some(format!("write {actual:?}")),
                );
            }
        }
    },
};

/// Files in the package that the manifest never mentions.
pub static FILE_UNLISTED: Rule = Rule {
    id: "file-unlisted",
    severity: Severity::Warning,
    summary: "every file of the package is listed by a <file> element (schema files .xsd/.dtd excepted)",
    compat: None,
    check: |ctx, sink| {
        const SHOWN: usize = 20;
        let (Some(m), Some(pkg)) = (ctx.manifest, ctx.package) else { return };
        let root = ctx.root();
        // Which entries some reference names (case ignored), one flag per entry: a set of the folded paths listed
        // cost ~90 bytes per reference, 9 MB for a manifest listing 100,000 files.
        let mut listed = vec![false; pkg.len()];
        for r in references(m) {
            if let Target::Inside(p) = r.target() {
                if let Some(i) = pkg.position_case_insensitive(&format!("{root}{p}")) {
                    listed[i] = true;
                }
            }
        }
        let unlisted: Vec<&str> = pkg
            .entries()
            .zip(&listed)
            .filter(|(e, listed)| e.kind == EntryKind::File && !**listed)
            .filter_map(|(e, _)| e.name.strip_prefix(root))
            .filter(|n| *n != MANIFEST_NAME)
            .filter(|n| {
                let lower = n.to_ascii_lowercase();
                !(lower.ends_with(".xsd") || lower.ends_with(".dtd"))
            })
            .collect();
        for n in unlisted.iter().take(SHOWN) {
            sink.package(
                Some(format!("{root}{n}")),
                format!("{n:?} is in the package but not listed in the manifest"),
                Some("list it in a <file> of the resource that uses it, or remove it".into()),
            );
        }
        if unlisted.len() > SHOWN {
            sink.package(None, format!("and {} more files not listed in the manifest", unlisted.len() - SHOWN), None);
        }
    },
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    fn res(href: &str, files: &str) -> String {
        format!(r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="{href}">{files}</resource>"#)
    }

    #[test]
    fn href_syntax_and_external() {
        let m = scorm12(ONE_ORG, &res("a\\b.html", ""));
        assert_eq!(of_rule(&[("imsmanifest.xml", &m)], "href-syntax").len(), 1);
        let m = scorm12(ONE_ORG, &res("/a.html", r#"<file href="file:///c:/a.html"/>"#));
        assert_eq!(of_rule(&[("imsmanifest.xml", &m)], "href-syntax").len(), 2);
        let m = scorm12(ONE_ORG, &res("https://cdn.example/a.html", ""));
        let f = of_rule(&[("imsmanifest.xml", &m)], "href-external");
        assert_eq!(f[0].severity, crate::Severity::Warning);
        assert!(of_rule(&[("imsmanifest.xml", &m)], "file-exists").is_empty());
    }

    #[test]
    fn files_exist_after_xml_base() {
        let m = scorm12(
            ONE_ORG,
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" xml:base="sco/" href="a.html"><file href="a.html"/><file href="b.html"/></resource>"#,
        );
        let f = of_rule(&[("imsmanifest.xml", &m), ("sco/a.html", "")], "file-exists");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("sco/b.html"));
    }

    #[test]
    fn case_only_mismatch_is_a_warning_not_missing() {
        let m = scorm12(ONE_ORG, &res("Index.html", r#"<file href="Index.html"/>"#));
        let files = [("imsmanifest.xml", m.as_str()), ("index.html", "")];
        assert!(of_rule(&files, "file-exists").is_empty());
        let f = of_rule(&files, "file-case-mismatch");
        assert_eq!(f.len(), 1);
        assert!(f[0].hint.as_deref().unwrap_or_default().contains("index.html"));
    }

    #[test]
    fn escaping_references_and_bad_bases() {
        let m = scorm12(ONE_ORG, &res("../../etc/passwd", ""));
        assert_eq!(of_rule(&[("imsmanifest.xml", &m)], "path-escapes-root").len(), 1);
        let m = scorm12(
            ONE_ORG,
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" xml:base="C:\course" href="a.html"/>"#,
        );
        assert_eq!(of_rule(&[("imsmanifest.xml", &m)], "xml-base-syntax").len(), 1);
        let m = scorm12(
            ONE_ORG,
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" xml:base="sco" href="a.html"/>"#,
        );
        assert_eq!(of_rule(&[("imsmanifest.xml", &m)], "xml-base-syntax")[0].severity, crate::Severity::Warning);
    }

    #[test]
    fn unlisted_files_are_warnings_and_schemas_are_exempt() {
        let m = scorm12(ONE_ORG, &res("a.html", r#"<file href="a.html"/>"#));
        let f = of_rule(
            &[("imsmanifest.xml", &m), ("a.html", ""), ("extra.js", ""), ("adlcp_rootv1p2.xsd", "")],
            "file-unlisted",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].file.as_deref(), Some("extra.js"));
    }
}
