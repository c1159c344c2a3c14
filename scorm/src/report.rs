//! Reports for people and machines: human text, JSON, JUnit XML (for CI test tabs) and SARIF 2.1.0 (for code
//! scanning UIs). All take the same [`Report`]s; the rule legend in SARIF comes from [`crate::rules::RULES`].
//! Rendering returns a string: the library never prints.

use std::fmt::Write as _;

use serde_json::json;

use crate::finding::Severity;
use crate::rules::RULES;
use crate::validate::{Report, Verdict};

/// Output format of `scorm validate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Text for a terminal.
    #[default]
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML: one test case per package.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            "junit" => Ok(Self::Junit),
            "sarif" => Ok(Self::Sarif),
            other => Err(format!("unknown format {other:?} (expected human, json, junit or sarif)")),
        }
    }
}

/// Renders reports in a format.
pub fn render(reports: &[Report], format: Format) -> String {
    match format {
        Format::Human => human(reports),
        Format::Json => serde_json::to_string_pretty(&json!({ "reports": reports })).unwrap_or_default() + "\n",
        Format::Junit => junit(reports),
        Format::Sarif => serde_json::to_string_pretty(&sarif(reports)).unwrap_or_default() + "\n",
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::NotScorm => "NOT SCORM",
    }
}

/// Text for people: one block per package, findings with location, message, hint and LMS note.
pub fn human(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(
            out,
            "{}: {} — {} (profile {}), {} errors, {} warnings",
            r.package,
            verdict_word(r.verdict),
            r.standard_label,
            r.profile.as_str(),
            r.count(Severity::Error),
            r.count(Severity::Warning)
        );
        if let Some(launch) = &r.launch {
            let _ = writeln!(out, "  launch: {launch}");
        }
        for f in &r.findings {
            let _ = writeln!(out, "  {}[{}] {}: {}", f.severity, f.rule, f.location(), f.message);
            if f.line.is_some() {
                if let Some(e) = &f.element {
                    let _ = writeln!(out, "      at: {e}");
                }
            }
            if let Some(h) = &f.hint {
                let _ = writeln!(out, "      hint: {h}");
            }
            if let Some(n) = &f.lms_note {
                let _ = writeln!(out, "      lms: {n}");
            }
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per package, a test case per rule that ran; a failing rule is a `<failure>`.
pub fn junit(reports: &[Report]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lms-media scorm validate\">\n");
    for r in reports {
        let failing = |sev: Severity| sev == Severity::Error;
        let failures =
            RULES.iter().filter(|rule| r.findings.iter().any(|f| f.rule == rule.id && failing(f.severity))).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
            xml_escape(&r.package),
            RULES.len(),
            failures
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"standard\" value=\"{}\"/><property name=\"verdict\" value=\"{}\"/></properties>",
            xml_escape(&r.standard_label),
            r.verdict.as_str()
        );
        for rule in RULES {
            let found: Vec<_> = r.findings.iter().filter(|f| f.rule == rule.id).collect();
            let _ = write!(out, "    <testcase classname=\"{}\" name=\"{}\"", xml_escape(&r.package), rule.id);
            let errors: Vec<_> = found.iter().filter(|f| failing(f.severity)).collect();
            let text = |fs: &[&&crate::Finding]| {
                fs.iter()
                    .map(|f| {
                        format!(
                            "{}: {}{}",
                            f.location(),
                            f.message,
                            f.hint.as_deref().map(|h| format!(" (hint: {h})")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            if let Some(first) = errors.first() {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    rule.id,
                    xml_escape(&first.message),
                    xml_escape(&text(&errors))
                );
            } else if !found.is_empty() {
                let all: Vec<_> = found.iter().collect();
                let _ = writeln!(out, ">\n      <system-out>{}</system-out>\n    </testcase>", xml_escape(&text(&all)));
            } else {
                out.push_str("/>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// SARIF 2.1.0: one run, the full rule list as the driver's rules, one result per finding. Locations are
/// `package/path-inside-package` so a viewer can tell packages apart.
pub fn sarif(reports: &[Report]) -> serde_json::Value {
    let rules: Vec<_> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.summary },
                "defaultConfiguration": { "level": level(r.severity) },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.findings {
            let uri = match &f.file {
                Some(file) => format!("{}/{}", r.package, file),
                None => r.package.clone(),
            };
            let mut physical = json!({ "artifactLocation": { "uri": uri } });
            if let Some(line) = f.line {
                physical["region"] = json!({ "startLine": line, "startColumn": f.column.unwrap_or(1) });
            }
            let mut location = json!({ "physicalLocation": physical });
            if let Some(e) = &f.element {
                location["logicalLocations"] = json!([{ "fullyQualifiedName": e, "kind": "element" }]);
            }
            let mut text = f.message.clone();
            if let Some(h) = &f.hint {
                text.push_str(&format!(" Hint: {h}"));
            }
            results.push(json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|x| x.id == f.rule),
                "level": level(f.severity),
                "message": { "text": text },
                "locations": [location],
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "lms-media scorm validate", "rules": rules } },
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;
    use crate::validate::{Options, validate_package_bytes};

    fn failing_report() -> Report {
        let m = scorm12(
            ONE_ORG,
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a&amp;b.html"/>"#,
        );
        validate_package_bytes("p<1>.zip", zip_of(&[("imsmanifest.xml", &m)]), &Options::default())
    }

    #[test]
    fn human_names_rule_location_and_hint() {
        let text = render(&[failing_report()], Format::Human);
        assert!(text.contains("FAIL"), "{text}");
        assert!(text.contains("error[file-exists] imsmanifest.xml:"), "{text}");
        assert!(text.contains("hint:"), "{text}");
    }

    #[test]
    fn junit_is_well_formed_and_counts_failures() {
        let text = render(&[failing_report()], Format::Junit);
        let doc = crate::xml::parse(text.as_bytes(), "junit.xml", Default::default()).expect("well-formed junit");
        let suite = &doc.root.children[0];
        assert_eq!(suite.attr("name"), Some("p<1>.zip"));
        assert_eq!(suite.attr("failures"), Some("1"));
        assert!(suite.children.iter().any(|c| c.children.iter().any(|f| f.local == "failure")));
    }

    #[test]
    fn sarif_has_rules_and_located_results() {
        let v = sarif(&[failing_report()]);
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["runs"][0]["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(RULES.len()));
        let result = &v["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "file-exists");
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "p<1>.zip/imsmanifest.xml");
        assert!(result["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().is_some());
    }

    #[test]
    fn json_round_trips() {
        let text = render(&[failing_report()], Format::Json);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["reports"][0]["verdict"], "fail");
        assert_eq!(v["reports"][0]["standard"], "scorm12");
    }
}
