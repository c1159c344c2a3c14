//! Validation end to end: open the package, find the manifest (and say where it really is when it is not at the
//! root), recognise non-SCORM formats, parse, detect the version, run every rule, and conclude a verdict. Problems
//! of the package become findings; only an unreachable input is an error.

use std::path::Path;

use crate::archive::{Limits, Package};
use crate::error::ScormError;
use crate::finding::{Finding, Severity};
use crate::manifest::Manifest;
use crate::profile::Profile;
use crate::rules::{self, Context};
use crate::standard::{self, Detection, Standard};
use crate::xml::XmlLimits;

/// The name every SCORM manifest must have.
pub const MANIFEST_NAME: &str = "imsmanifest.xml";

/// How to validate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `strict` or `compat`.
    pub profile: Profile,
    /// Archive limits.
    pub limits: Limits,
    /// XML limits.
    pub xml_limits: XmlLimits,
    /// Count warnings as errors for the verdict.
    pub warnings_as_errors: bool,
}

/// The conclusion about one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No errors (warnings allowed, unless counted as errors).
    Pass,
    /// At least one error.
    Fail,
    /// Another format (cmi5, xAPI, AICC): not a SCORM package.
    NotScorm,
}

impl Verdict {
    /// Lowercase name, as in EXPECTED.tsv.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotScorm => "not-scorm",
        }
    }
}

/// The result of validating one package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The package as named by the caller (a path).
    pub package: String,
    /// The standard.
    pub standard: Standard,
    /// How the SCORM version was decided, when there is a manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    /// A human label for the standard.
    pub standard_label: String,
    /// The profile applied.
    pub profile: Profile,
    /// The verdict.
    pub verdict: Verdict,
    /// The manifest used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_file: Option<String>,
    /// What a player opens first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// Every finding, in rule order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// Validates a zip file or an unpacked folder. Errors only when the path cannot be read at all.
pub fn validate_path(path: &Path, options: &Options) -> Result<Report, ScormError> {
    let opened = Package::open(path, options.limits);
    if let Err(e @ ScormError::Io { .. }) = opened {
        return Err(e);
    }
    Ok(validate_opened(&path.display().to_string(), opened, options))
}

/// Validates a zip held in memory (uploads, tests, fuzzing). Never fails: everything becomes a finding.
pub fn validate_package_bytes(name: &str, bytes: Vec<u8>, options: &Options) -> Report {
    validate_opened(name, Package::from_zip_bytes(bytes, options.limits), options)
}

/// Where the manifest is, if anywhere: exactly at the root, at the root in other letter case, or one or more
/// folders down (the "zipped the folder instead of its contents" mistake). Shallowest first.
pub fn locate_manifest(pkg: &Package) -> Option<String> {
    if pkg.has_file(MANIFEST_NAME) {
        return Some(MANIFEST_NAME.into());
    }
    let mut candidates: Vec<&str> = pkg
        .files()
        .map(|e| e.name)
        .filter(|n| n.rsplit('/').next().is_some_and(|base| base.eq_ignore_ascii_case(MANIFEST_NAME)))
        .collect();
    candidates.sort_by_key(|n| (n.matches('/').count(), n.to_string()));
    candidates.first().map(|s| s.to_string())
}

fn validate_opened(name: &str, opened: Result<Package, ScormError>, options: &Options) -> Report {
    let mut ctx = Context::default();
    let (mut package, open_error) = match opened {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let mut read_error = None;
    let mut parse_error = None;
    let mut manifest = None;
    let mut manifest_file = None;
    let mut other = None;
    if let Some(pkg) = package.as_mut() {
        let located = locate_manifest(pkg);
        other = standard::other_format(pkg);
        // A manifest at the root wins over other formats' files (many tools ship both); a manifest buried in a
        // folder does not, since cmi5 and AICC courses often carry unrelated sub-packages.
        let at_root = located.as_deref().is_some_and(|f| !f.contains('/'));
        if at_root || other.is_none() {
            other = None;
            manifest_file = located;
        }
        if let Some(file) = manifest_file.clone() {
            match pkg.read(&file, options.limits.max_xml_size) {
                Ok(bytes) => match Manifest::parse(&bytes, &file, options.xml_limits) {
                    Ok(m) => manifest = Some(m),
                    Err(e) => parse_error = Some(e),
                },
                Err(e @ ScormError::LimitExceeded { .. }) => parse_error = Some(e),
                Err(e) => read_error = Some(e),
            }
        }
    }
    let detection = manifest.as_ref().map(standard::detect);
    if let Some(pkg) = package.as_mut() {
        ctx.layout_problems = match pkg.local_layout_problems() {
            Ok(problems) => problems,
            Err(error) => vec![format!("the local headers could not be read: {error}")],
        };
    }
    ctx.package = package.as_ref();
    ctx.open_error = open_error.as_ref().or(read_error.as_ref());
    ctx.other_format = other.clone();
    ctx.manifest_file = manifest_file.clone();
    ctx.parse_error = parse_error.as_ref();
    ctx.manifest = manifest.as_ref();
    ctx.detection = detection.as_ref();
    let findings = rules::run(&ctx, options.profile);

    let standard = match (&other, &detection) {
        (Some((s, _)), _) => *s,
        (None, Some(d)) => d.standard,
        (None, None) => Standard::None,
    };
    let failing = |f: &Finding| f.severity == Severity::Error || options.warnings_as_errors;
    let verdict = if other.is_some() {
        Verdict::NotScorm
    } else if findings.iter().any(failing) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    let standard_label = match (&other, &detection) {
        (Some((_, what)), _) => what.clone(),
        (None, Some(d)) => d.label(),
        (None, None) => "unknown".into(),
    };
    let launch = manifest.as_ref().and_then(|m| m.course_launch()).map(|(_, url)| url);
    Report {
        package: name.to_string(),
        standard,
        detection,
        standard_label,
        profile: options.profile,
        verdict,
        manifest_file,
        launch,
        findings,
    }
}
