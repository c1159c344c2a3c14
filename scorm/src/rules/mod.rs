//! The rules: one ordered list, [`RULES`], from which the checks run, `--list-rules`, the README table and the
//! report legends (SARIF, JUnit) are all produced. Each rule is a `static` with a stable id, a default severity,
//! a one-line summary, optionally what the `compat` profile does with it, and a check; its unit tests sit beside
//! it in the same module. Rules never fail: they add findings to a [`Sink`].

mod adlcp;
mod metadata;
mod package;
mod references;
mod resources;
mod structure;

use crate::archive::{Entry, Package};
use crate::error::ScormError;
use crate::finding::{Finding, Severity};
use crate::manifest::{Loc, Manifest};
use crate::profile::Profile;
use crate::standard::{Detection, Standard};

/// One rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, used in reports, SARIF `ruleId` and suppressions.
    pub id: &'static str,
    /// Severity under the `strict` profile.
    pub severity: Severity,
    /// One line saying what it checks.
    pub summary: &'static str,
    /// Under the `compat` profile: the severity, and what the big LMSs do.
    pub compat: Option<(Severity, &'static str)>,
    /// The check.
    pub check: fn(&Context<'_>, &mut Sink<'_>),
}

/// Every rule, in the order they run and are documented.
pub static RULES: &[&Rule] = &[
    &package::ARCHIVE_READABLE,
    &package::ARCHIVE_SAFE,
    &package::ARCHIVE_LAYOUT,
    &package::NOT_SCORM,
    &package::MANIFEST_AT_ROOT,
    &package::MANIFEST_WELL_FORMED,
    &package::MANIFEST_ROOT,
    &metadata::SCHEMA_VALUE,
    &metadata::SCHEMAVERSION_PRESENT,
    &metadata::SCHEMAVERSION_VALUE,
    &metadata::VERSION_MISMATCH,
    &structure::IDENTIFIER_PRESENT,
    &structure::IDENTIFIER_UNIQUE,
    &structure::ORGANIZATION_PRESENT,
    &structure::DEFAULT_ORGANIZATION,
    &structure::ORGANIZATION_TITLE,
    &structure::ITEM_TITLE,
    &structure::IDENTIFIERREF_RESOLVES,
    &structure::ITEM_LEAF_RULES,
    &resources::SCORMTYPE_PRESENT,
    &resources::SCORMTYPE_SPELLING,
    &resources::SCORMTYPE_VALUE,
    &resources::SCO_HREF,
    &resources::DEPENDENCY_RESOLVES,
    &references::HREF_SYNTAX,
    &references::HREF_EXTERNAL,
    &references::XML_BASE_SYNTAX,
    &references::PATH_ESCAPES_ROOT,
    &references::FILE_EXISTS,
    &references::FILE_CASE_MISMATCH,
    &references::FILE_UNLISTED,
    &adlcp::ADLCP_ENUMERATION,
    &adlcp::SPM_LENGTH,
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}

/// Everything a rule may look at. Fields are `None` when an earlier stage failed.
#[derive(Debug, Default)]
pub struct Context<'a> {
    /// The indexed package, if it opened.
    pub package: Option<&'a Package>,
    /// Why it did not open.
    pub open_error: Option<&'a ScormError>,
    /// A non-SCORM format recognised at the root, with a description.
    pub other_format: Option<(Standard, String)>,
    /// The manifest used, as a package path (`imsmanifest.xml`, or `course/imsmanifest.xml` when wrapped).
    pub manifest_file: Option<String>,
    /// Why the manifest could not be parsed.
    pub parse_error: Option<&'a ScormError>,
    /// The manifest.
    pub manifest: Option<&'a Manifest>,
    /// The detected version.
    pub detection: Option<&'a Detection>,
    /// Where the zip's local headers disagree with its central directory (`Package::local_layout_problems`).
    pub layout_problems: Vec<String>,
}

impl<'a> Context<'a> {
    /// The folder the manifest sits in, with a trailing `/` (empty at the root): references resolve against it.
    pub fn root(&self) -> &str {
        match self.manifest_file.as_deref().and_then(|f| f.rfind('/')) {
            Some(i) => self.manifest_file.as_deref().map_or("", |f| &f[..=i]),
            None => "",
        }
    }

    /// The entry at a path relative to the manifest's folder.
    pub fn entry(&self, rel: &str) -> Option<Entry<'a>> {
        self.package?.get(&format!("{}{rel}", self.root()))
    }

    /// The entry matching a path once case is folded.
    pub fn entry_case_insensitive(&self, rel: &str) -> Option<Entry<'a>> {
        self.package?.get_case_insensitive(&format!("{}{rel}", self.root()))
    }

    /// True for SCORM 2004.
    pub fn is_2004(&self) -> bool {
        self.detection.is_some_and(|d| d.standard == Standard::Scorm2004)
    }
}

/// Where a rule puts its findings.
#[derive(Debug)]
pub struct Sink<'r> {
    rule: &'r Rule,
    file: Option<String>,
    findings: Vec<Finding>,
}

impl Sink<'_> {
    /// A finding at an element of the manifest.
    pub fn at(&mut self, loc: &Loc, message: impl Into<String>, hint: impl Into<Option<String>>) {
        self.push(self.rule.severity, Some(loc), message.into(), hint.into());
    }

    /// A finding at an element, with a severity other than the rule's default.
    pub fn at_with(
        &mut self,
        severity: Severity,
        loc: &Loc,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(severity, Some(loc), message.into(), hint.into());
    }

    /// A finding about the package as a whole, or about one file of it.
    pub fn package(&mut self, file: Option<String>, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let mut f = self.make(self.rule.severity, None, message.into(), hint.into());
        f.file = file;
        self.findings.push(f);
    }

    /// A finding with an explicit position in some file.
    pub fn in_file(
        &mut self,
        file: &str,
        line: u32,
        column: u32,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        let mut f = self.make(self.rule.severity, None, message.into(), hint.into());
        (f.file, f.line, f.column) = (Some(file.to_string()), Some(line), Some(column));
        self.findings.push(f);
    }

    fn push(&mut self, severity: Severity, loc: Option<&Loc>, message: String, hint: Option<String>) {
        let f = self.make(severity, loc, message, hint);
        self.findings.push(f);
    }

    fn make(&self, severity: Severity, loc: Option<&Loc>, message: String, hint: Option<String>) -> Finding {
        Finding {
            rule: self.rule.id,
            severity,
            file: self.file.clone(),
            line: loc.map(|l| l.line).filter(|&l| l > 0),
            column: loc.map(|l| l.column).filter(|&c| c > 0),
            element: loc.map(Loc::path).filter(|p| !p.is_empty()),
            message,
            hint,
            lms_note: None,
        }
    }
}

/// Runs every rule and applies the profile.
pub fn run(ctx: &Context<'_>, profile: Profile) -> Vec<Finding> {
    let mut all = Vec::new();
    for rule in RULES {
        let mut sink = Sink { rule, file: ctx.manifest_file.clone(), findings: Vec::new() };
        (rule.check)(ctx, &mut sink);
        for mut f in sink.findings {
            if let (Profile::Compat, Some((severity, note))) = (profile, rule.compat) {
                f.severity = f.severity.max(severity);
                f.lms_note = Some(note.to_string());
            }
            all.push(f);
        }
    }
    all
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the rule tests: a package made in memory, validated end to end.

    use std::io::Write;

    use crate::finding::Finding;
    use crate::validate::{Options, validate_package_bytes};

    /// A zip of `files` (name, content).
    pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in files {
            if name.ends_with('/') {
                w.add_directory(*name, zip::write::SimpleFileOptions::default()).expect("dir");
            } else {
                w.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
                w.write_all(data.as_bytes()).expect("write");
            }
        }
        w.finish().expect("finish").into_inner()
    }

    /// The findings for a package of these files.
    pub fn findings(files: &[(&str, &str)]) -> Vec<Finding> {
        validate_package_bytes("test.zip", zip_of(files), &Options::default()).findings
    }

    /// The findings of one rule.
    pub fn of_rule(files: &[(&str, &str)], rule: &str) -> Vec<Finding> {
        findings(files).into_iter().filter(|f| f.rule == rule).collect()
    }

    /// A SCORM 1.2 manifest around `orgs` and `resources`.
    pub fn scorm12(orgs: &str, resources: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<manifest identifier="m" version="1" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="o">{orgs}</organizations>
  <resources>{resources}</resources>
</manifest>"#
        )
    }

    /// A SCORM 2004 3rd edition manifest around `orgs` and `resources`.
    pub fn scorm2004(orgs: &str, resources: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<manifest identifier="m" version="1" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 3rd Edition</schemaversion></metadata>
  <organizations default="o">{orgs}</organizations>
  <resources>{resources}</resources>
</manifest>"#
        )
    }

    /// One organization `o` with one item `i` pointing at resource `r`.
    pub const ONE_ORG: &str = r#"<organization identifier="o"><title>T</title><item identifier="i" identifierref="r"><title>I</title></item></organization>"#;
}

#[cfg(test)]
mod docs {
    #[test]
    fn readme_lists_every_rule() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
        for rule in super::RULES {
            assert!(readme.contains(&format!("| `{}` |", rule.id)), "README.md lacks rule {}", rule.id);
        }
    }

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for rule in super::RULES {
            assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
            assert!(rule.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{}", rule.id);
        }
    }
}
