//! Which standard a package follows: SCORM 1.2 or 2004 (2nd/3rd/4th edition) from the manifest's namespaces and
//! `schemaversion` (saying when it was only inferred), or another format entirely (cmi5, xAPI/Tin Can, AICC)
//! recognised from the files at the package root.

use crate::archive::Package;
use crate::manifest::{Manifest, NS_ADLCP_12, NS_ADLCP_2004, NS_ADLNAV, NS_ADLSEQ, NS_CP_12, NS_CP_2004, NS_IMSSS};

/// The standard of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standard {
    /// SCORM 1.2.
    Scorm12,
    /// SCORM 2004, any edition.
    Scorm2004,
    /// cmi5 (`cmi5.xml`).
    Cmi5,
    /// xAPI / Tin Can (`tincan.xml`).
    Xapi,
    /// AICC HACP (`.crs`, `.au`, `.des`, `.cst`).
    Aicc,
    /// Nothing we can read.
    None,
}

impl Standard {
    /// The short name used in reports and EXPECTED.tsv.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scorm12 => "scorm12",
            Self::Scorm2004 => "scorm2004",
            Self::Cmi5 => "cmi5",
            Self::Xapi => "xapi",
            Self::Aicc => "aicc",
            Self::None => "none",
        }
    }

    /// True for SCORM 1.2 and 2004.
    pub fn is_scorm(self) -> bool {
        matches!(self, Self::Scorm12 | Self::Scorm2004)
    }
}

/// The SCORM 2004 edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// 2nd edition (`CAM 1.3`).
    Second,
    /// 3rd edition.
    Third,
    /// 4th edition.
    Fourth,
}

/// What we concluded about the standard, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Detection {
    /// The standard.
    pub standard: Standard,
    /// The 2004 edition, when known.
    pub edition: Option<Edition>,
    /// True when `schemaversion` did not say so and we went by namespaces (or by default).
    pub inferred: bool,
    /// How we decided, in words.
    pub basis: String,
    /// What the namespaces alone say, when that differs from `schemaversion`.
    pub namespace_disagrees: Option<Standard>,
}

impl Detection {
    /// A label such as "SCORM 2004 3rd Edition" or "SCORM 1.2 (inferred from namespaces)".
    pub fn label(&self) -> String {
        let base = match (self.standard, self.edition) {
            (Standard::Scorm12, _) => "SCORM 1.2".to_string(),
            (Standard::Scorm2004, Some(Edition::Second)) => "SCORM 2004 2nd Edition".into(),
            (Standard::Scorm2004, Some(Edition::Third)) => "SCORM 2004 3rd Edition".into(),
            (Standard::Scorm2004, Some(Edition::Fourth)) => "SCORM 2004 4th Edition".into(),
            (Standard::Scorm2004, None) => "SCORM 2004 (edition unknown)".into(),
            (Standard::Cmi5, _) => "cmi5".into(),
            (Standard::Xapi, _) => "xAPI (Tin Can)".into(),
            (Standard::Aicc, _) => "AICC".into(),
            (Standard::None, _) => "unknown".into(),
        };
        if self.inferred && self.standard.is_scorm() { format!("{base} ({})", self.basis) } else { base }
    }

    /// A detection for something that is not a manifest at all.
    pub fn other(standard: Standard, basis: &str) -> Self {
        Self { standard, edition: None, inferred: false, basis: basis.into(), namespace_disagrees: None }
    }
}

/// Reads a `schemaversion` value.
pub fn parse_schemaversion(value: &str) -> Option<(Standard, Option<Edition>)> {
    match value.trim() {
        "1.2" => Some((Standard::Scorm12, None)),
        "CAM 1.3" | "1.3" => Some((Standard::Scorm2004, Some(Edition::Second))),
        "2004 3rd Edition" => Some((Standard::Scorm2004, Some(Edition::Third))),
        "2004 4th Edition" => Some((Standard::Scorm2004, Some(Edition::Fourth))),
        _ => None,
    }
}

/// What the namespaces say: adlcp is decisive, then the 2004-only extensions, then the CP namespace.
fn from_namespaces(m: &Manifest) -> Option<Standard> {
    let has = |ns: &str| m.namespaces.iter().any(|n| n == ns);
    if has(NS_ADLCP_2004) || has(NS_ADLSEQ) || has(NS_ADLNAV) || has(NS_IMSSS) {
        Some(Standard::Scorm2004)
    } else if has(NS_ADLCP_12) || m.ns.as_deref() == Some(NS_CP_12) {
        Some(Standard::Scorm12)
    } else if m.ns.as_deref() == Some(NS_CP_2004) {
        Some(Standard::Scorm2004)
    } else {
        None
    }
}

/// Decides the SCORM version of a parsed manifest.
pub fn detect(m: &Manifest) -> Detection {
    let by_ns = from_namespaces(m);
    let sv = m.metadata.as_ref().and_then(|md| md.schemaversion.as_ref()).and_then(|t| parse_schemaversion(&t.value));
    match (sv, by_ns) {
        (Some((standard, edition)), ns) => Detection {
            standard,
            edition,
            inferred: false,
            basis: "schemaversion".into(),
            namespace_disagrees: ns.filter(|&n| n != standard),
        },
        (None, Some(standard)) => Detection {
            standard,
            edition: None,
            inferred: true,
            basis: "inferred from namespaces".into(),
            namespace_disagrees: None,
        },
        (None, None) => Detection {
            standard: Standard::Scorm12,
            edition: None,
            inferred: true,
            basis: "no SCORM namespace or schemaversion; assumed 1.2 as most LMSs do".into(),
            namespace_disagrees: None,
        },
    }
}

/// Recognises a non-SCORM package from its root files: cmi5, xAPI, AICC.
pub fn other_format(pkg: &Package) -> Option<(Standard, String)> {
    let root_files: Vec<&str> = pkg.files().map(|e| e.name).filter(|n| !n.contains('/')).collect();
    let has = |name: &str| root_files.iter().any(|f| f.eq_ignore_ascii_case(name));
    if has("cmi5.xml") {
        return Some((Standard::Cmi5, "a cmi5 course (cmi5.xml course structure)".into()));
    }
    if has("tincan.xml") {
        return Some((Standard::Xapi, "an xAPI / Tin Can package (tincan.xml)".into()));
    }
    let aicc: Vec<&str> = root_files
        .iter()
        .copied()
        .filter(|f| [".crs", ".au", ".des", ".cst"].iter().any(|ext| f.to_ascii_lowercase().ends_with(ext)))
        .collect();
    if aicc.iter().any(|f| f.to_ascii_lowercase().ends_with(".crs")) || aicc.len() >= 2 {
        return Some((Standard::Aicc, format!("an AICC course ({})", aicc.join(", "))));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{XmlLimits, parse};

    fn detect_str(s: &str) -> Detection {
        let doc = parse(s.as_bytes(), "imsmanifest.xml", XmlLimits::default()).expect("parse");
        detect(&Manifest::from_element(&doc.root))
    }

    #[test]
    fn versions_from_schemaversion_and_namespaces() {
        let d = detect_str(&format!(
            "<manifest xmlns='{NS_CP_2004}'><metadata><schemaversion>2004 3rd Edition</schemaversion></metadata></manifest>"
        ));
        assert_eq!((d.standard, d.edition, d.inferred), (Standard::Scorm2004, Some(Edition::Third), false));
        let d =
            detect_str(&format!("<manifest xmlns='{NS_CP_2004}' xmlns:adlcp='http://www.adlnet.org/xsd/adlcp_v1p2'/>"));
        assert_eq!((d.standard, d.inferred), (Standard::Scorm2004, true));
        assert!(d.label().contains("inferred"), "{}", d.label());
        let d = detect_str(&format!(
            "<manifest xmlns='{NS_CP_12}'><metadata><schemaversion>CAM 1.3</schemaversion></metadata></manifest>"
        ));
        assert_eq!((d.standard, d.namespace_disagrees), (Standard::Scorm2004, Some(Standard::Scorm12)));
        let d = detect_str("<manifest/>");
        assert_eq!((d.standard, d.inferred), (Standard::Scorm12, true));
    }
}
