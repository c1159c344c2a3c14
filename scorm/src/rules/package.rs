//! Package-level rules: the archive can be read and is safe, it is SCORM at all, the manifest sits at the root and
//! is well-formed XML with a `<manifest>` root.

use super::Rule;
use crate::error::{ScormError, UnsafeReason};
use crate::finding::Severity;
use crate::validate::MANIFEST_NAME;

/// The zip (or folder) can be read.
pub static ARCHIVE_READABLE: Rule = Rule {
    id: "archive-readable",
    severity: Severity::Error,
    summary: "the package is a readable zip archive (or folder) whose entries decompress to their declared sizes",
    compat: None,
    check: |ctx, sink| {
        if let Some(e) = ctx.open_error.filter(|e| !is_unsafe(e)) {
            let entry = match e {
                ScormError::EntryUnreadable { name, .. } | ScormError::EntryNotFound { name } => Some(name.clone()),
                _ => None,
            };
            sink.package(
                entry,
                e.to_string(),
                Some("re-create the zip with a standard tool (zip, 7-Zip, the OS's \"compress\")".into()),
            );
        }
    },
};

fn is_unsafe(e: &ScormError) -> bool {
    matches!(e, ScormError::UnsafeEntry { .. } | ScormError::LimitExceeded { .. } | ScormError::SizeMismatch { .. })
}

/// No hostile entries, no bombs.
pub static ARCHIVE_SAFE: Rule = Rule {
    id: "archive-safe",
    severity: Severity::Error,
    summary: "no `..`, absolute, drive or control-character names, symlinks, duplicates, encryption, or zip-bomb sizes",
    compat: None,
    check: |ctx, sink| {
        let Some(e) = ctx.open_error.filter(|e| is_unsafe(e)) else { return };
        let hint = match e {
            ScormError::UnsafeEntry { reason: UnsafeReason::Encrypted, .. } => {
                "LMSs cannot read encrypted entries: zip without a password"
            }
            ScormError::UnsafeEntry { reason: UnsafeReason::Symlink, .. } => {
                "replace the link with the file it points to"
            }
            ScormError::UnsafeEntry { reason: UnsafeReason::Duplicate | UnsafeReason::DuplicateCaseFolded, .. } => {
                "keep one entry per name; names that differ only by case collide on Windows and macOS"
            }
            ScormError::LimitExceeded { .. } | ScormError::SizeMismatch { .. } => {
                "the archive looks like a zip bomb or is simply too large; re-create it from the course folder"
            }
            _ => "zip the course folder with a standard tool from inside the folder, with relative names",
        };
        let file = match e {
            ScormError::UnsafeEntry { name, .. } | ScormError::SizeMismatch { name, .. } => Some(name.clone()),
            ScormError::LimitExceeded { name, .. } => name.clone(),
            _ => None,
        };
        sink.package(file, format!("refused to read the archive: {e}"), Some(hint.into()));
    },
};

/// The local headers agree with the central directory, and nothing hides between entries.
pub static ARCHIVE_LAYOUT: Rule = Rule {
    id: "archive-layout",
    severity: Severity::Error,
    summary: "every local header matches its central-directory record, and no bytes hide between entries",
    compat: Some((
        Severity::Warning,
        "LMSs that read through the central directory (most) never see what hides between entries",
    )),
    check: |ctx, sink| {
        for problem in &ctx.layout_problems {
            sink.package(
                None,
                problem.clone(),
                Some(
                    "readers that walk the local headers in order (Java's ZipInputStream) would see other files \
                     than this validator: re-create the zip with a standard tool"
                        .into(),
                ),
            );
        }
    },
};

/// The package is SCORM, not cmi5, xAPI or AICC.
pub static NOT_SCORM: Rule = Rule {
    id: "not-scorm",
    severity: Severity::Error,
    summary: "the package is SCORM (says what it is instead: cmi5, xAPI/Tin Can, AICC)",
    compat: None,
    check: |ctx, sink| {
        if let Some((_, what)) = &ctx.other_format {
            sink.package(
                None,
                format!("this is {what}, not a SCORM package (no {MANIFEST_NAME})"),
                Some("import it into an LMS as that format; a SCORM validator cannot judge it".into()),
            );
        }
    },
};

/// `imsmanifest.xml` is at the root of the package.
pub static MANIFEST_AT_ROOT: Rule = Rule {
    id: "manifest-at-root",
    severity: Severity::Error,
    summary: "imsmanifest.xml sits at the root of the package, spelled in lowercase",
    compat: Some((
        Severity::Error,
        "Moodle, Canvas and SCORM Cloud all look for imsmanifest.xml at the zip root only and reject the upload otherwise",
    )),
    check: |ctx, sink| {
        if ctx.package.is_none() || ctx.other_format.is_some() {
            return;
        }
        match ctx.manifest_file.as_deref() {
            Some(MANIFEST_NAME) => {}
            Some(f) if !f.contains('/') => sink.package(
                Some(f.to_string()),
                format!("the manifest is named {f:?}; it must be {MANIFEST_NAME:?}"),
                Some(format!("rename it to {MANIFEST_NAME}: servers on Linux and S3 are case-sensitive")),
            ),
            Some(f) => {
                let folder = &f[..f.rfind('/').unwrap_or(0)];
                sink.package(
                    Some(f.to_string()),
                    format!("{MANIFEST_NAME} is not at the root of the package but in the folder {folder:?}"),
                    Some(format!(
                        "zip the contents of {folder:?} rather than the folder itself (the rest of this report reads the package from that folder)"
                    )),
                );
            }
            None => sink.package(
                None,
                format!("no {MANIFEST_NAME} anywhere in the package"),
                Some("a SCORM package needs imsmanifest.xml at its root; export the course again as SCORM".into()),
            ),
        }
    },
};

/// The manifest is well-formed XML.
pub static MANIFEST_WELL_FORMED: Rule = Rule {
    id: "manifest-well-formed",
    severity: Severity::Error,
    summary: "imsmanifest.xml is well-formed XML (no DOCTYPE or entities; UTF-8 or UTF-16), reported with line and column",
    compat: None,
    check: |ctx, sink| match ctx.parse_error {
        Some(ScormError::ManifestParse { file, line, column, message }) => {
            sink.in_file(file, *line, *column, format!("the manifest is not well-formed XML: {message}"), None)
        }
        Some(e) => sink.package(ctx.manifest_file.clone(), format!("the manifest cannot be parsed: {e}"), None),
        None => {}
    },
};

/// The root element is `<manifest>`.
pub static MANIFEST_ROOT: Rule = Rule {
    id: "manifest-root",
    severity: Severity::Error,
    summary: "the root element is <manifest> with an identifier, in an IMS Content Packaging namespace",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        if m.root_name != "manifest" {
            sink.at(&m.loc, format!("the root element is <{}>, not <manifest>", m.root_name), None);
        } else if m.ns.is_none() {
            sink.at_with(
                Severity::Warning,
                &m.loc,
                "<manifest> has no namespace",
                Some("declare xmlns=\"http://www.imsproject.org/xsd/imscp_rootv1p1p2\" (1.2) or \"http://www.imsglobal.org/xsd/imscp_v1p1\" (2004)".into()),
            );
        }
    },
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn manifest_in_a_folder_gets_a_specific_hint() {
        let m = scorm12(
            ONE_ORG,
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"><file href="a.html"/></resource>"#,
        );
        let f = of_rule(&[("course/imsmanifest.xml", &m), ("course/a.html", "")], "manifest-at-root");
        assert_eq!(f.len(), 1);
        assert!(f[0].hint.as_deref().unwrap_or_default().contains("contents of \"course\""), "{f:?}");
        // The rest of the package is read from the folder: a.html is found there.
        assert!(of_rule(&[("course/imsmanifest.xml", &m), ("course/a.html", "")], "file-exists").is_empty());
    }

    #[test]
    fn no_manifest_and_wrong_case() {
        assert_eq!(of_rule(&[("index.html", "")], "manifest-at-root").len(), 1);
        let m = scorm12(ONE_ORG, "");
        let f = of_rule(&[("IMSManifest.xml", &m)], "manifest-at-root");
        assert!(f[0].message.contains("IMSManifest.xml"));
    }

    #[test]
    fn other_formats_are_named() {
        let f = of_rule(&[("cmi5.xml", "<courseStructure/>"), ("index.html", "")], "not-scorm");
        assert!(f[0].message.contains("cmi5"), "{f:?}");
        let f = of_rule(&[("tincan.xml", "<tincan/>")], "not-scorm");
        assert!(f[0].message.contains("xAPI"));
        let f = of_rule(&[("c.crs", ""), ("c.au", ""), ("c.des", ""), ("c.cst", "")], "not-scorm");
        assert!(f[0].message.contains("AICC"));
        assert!(of_rule(&[("cmi5.xml", "")], "manifest-at-root").is_empty());
    }

    #[test]
    fn malformed_xml_has_line_and_column() {
        let f = of_rule(&[("imsmanifest.xml", "<manifest>\n  <organizations>\n</manifest>")], "manifest-well-formed");
        assert_eq!((f[0].line, f[0].column), (Some(3), Some(1)), "{f:?}");
        let f = of_rule(
            &[("imsmanifest.xml", "<!DOCTYPE manifest SYSTEM \"http://x/\"><manifest/>")],
            "manifest-well-formed",
        );
        assert!(f[0].message.contains("DOCTYPE"));
    }

    #[test]
    fn root_must_be_manifest() {
        assert_eq!(of_rule(&[("imsmanifest.xml", "<html/>")], "manifest-root").len(), 1);
    }

    #[test]
    fn unreadable_archive_is_a_finding() {
        let r = crate::validate_package_bytes("x.zip", b"not a zip".to_vec(), &Default::default());
        assert_eq!(r.findings[0].rule, "archive-readable");
        assert_eq!(r.verdict, crate::Verdict::Fail);
    }
}
