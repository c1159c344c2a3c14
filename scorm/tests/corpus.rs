//! The real-package conformance test: every package of the shared corpus (`../shared/corpus/scorm`, 35 packages
//! gathered from public repositories) is validated and compared with EXPECTED.tsv: standard, verdict, and every
//! kind of error in `must_report` among the findings. When the corpus is present a disagreement fails the test;
//! only a missing corpus folder skips it.

use std::collections::HashMap;
use std::path::Path;

use lms_scorm::{Options, Severity, validate_path};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/scorm");

/// The plain words of EXPECTED.tsv's `must_report`, mapped to our rule ids. One table, so a renamed rule fails
/// here rather than silently passing.
const KINDS: &[(&str, &str)] = &[
    ("missing-file", "file-exists"),
    ("missing-scormtype", "scormtype-present"),
    ("missing-schemaversion", "schemaversion-present"),
    ("manifest-not-well-formed", "manifest-well-formed"),
    ("sco-without-href", "sco-href"),
    ("manifest-not-at-root", "manifest-at-root"),
    ("missing-identifierref-target", "identifierref-resolves"),
    ("duplicate-identifier", "identifier-unique"),
    ("unsafe-archive", "archive-safe"),
];

#[test]
fn corpus_packages_agree_with_expected_tsv() {
    let dir = Path::new(CORPUS);
    if !dir.is_dir() {
        eprintln!("skipping: no corpus at {CORPUS}");
        return;
    }
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("the corpus has EXPECTED.tsv");
    let kinds: HashMap<&str, &str> = KINDS.iter().copied().collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, standard, verdict) =
            (cols[0], cols.get(1).copied().unwrap_or(""), cols.get(2).copied().unwrap_or(""));
        let must: Vec<&str> = cols.get(3).map(|m| m.split(';').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        let report = match validate_path(&dir.join(file), &Options::default()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{file}: could not run: {e}"));
                continue;
            }
        };
        checked += 1;
        let mut problems = Vec::new();
        if report.standard.as_str() != standard {
            problems.push(format!("standard {} (expected {standard})", report.standard.as_str()));
        }
        if report.verdict.as_str() != verdict {
            problems.push(format!("verdict {} (expected {verdict})", report.verdict.as_str()));
        }
        for kind in must {
            match kinds.get(kind) {
                None => problems.push(format!("must_report kind {kind:?} has no rule in the KINDS table")),
                Some(rule) if !report.findings.iter().any(|f| f.rule == *rule && f.severity == Severity::Error) => {
                    problems.push(format!("{kind} ({rule}) not reported"))
                }
                Some(_) => {}
            }
        }
        if file.starts_with("MalformedXml") {
            let f = report.findings.iter().find(|f| f.rule == "manifest-well-formed");
            if f.and_then(|f| f.line) != Some(27) || f.and_then(|f| f.column).is_none() {
                problems.push(format!("well-formedness error not at line 27 with a column: {f:?}"));
            }
        }
        if !problems.is_empty() {
            let errors: Vec<String> = report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| format!("    {} {}: {}", f.rule, f.location(), f.message))
                .collect();
            failures.push(format!("{file}: {}\n{}", problems.join("; "), errors.join("\n")));
        }
    }
    // Packages in the folder without a row: validated for robustness only, and listed so someone adds a row.
    let listed: Vec<&str> = tsv.lines().skip(1).filter_map(|l| l.split('\t').next()).collect();
    for entry in std::fs::read_dir(dir).expect("read corpus").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".zip") && !listed.contains(&name.as_str()) {
            let r = validate_path(&entry.path(), &Options::default()).expect("validates");
            eprintln!(
                "note: {name} has no row in EXPECTED.tsv (we say: {} {})",
                r.standard.as_str(),
                r.verdict.as_str()
            );
        }
    }
    eprintln!("{} of {checked} listed packages agree with EXPECTED.tsv", checked - failures.len());
    assert!(failures.is_empty(), "{} packages disagree with EXPECTED.tsv:\n{}", failures.len(), failures.join("\n"));
}
