//! Validation reports: human text for a terminal, JSON for tools, JUnit XML for CI dashboards.
//!
//! The library only renders strings; the CLI decides where they go. The JUnit report has one test case per
//! rule of [`crate::validate::RULES`] (so a dashboard shows which rules ran and passed), a `<failure>` per
//! rule with error findings, and warnings in `<system-out>` so they are visible without failing the build.

use serde::Serialize;

use crate::validate::{Finding, RULES, Severity, Validation};

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Lines for a person.
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML.
    Junit,
}

/// Renders a validation in the given format.
pub fn render(validation: &Validation, format: ReportFormat) -> String {
    match format {
        ReportFormat::Human => human(validation),
        ReportFormat::Json => json(validation),
        ReportFormat::Junit => junit(validation),
    }
}

fn count(validation: &Validation, severity: Severity) -> usize {
    validation.findings.iter().filter(|f| f.severity == severity).count()
}

fn rule_name(id: &str) -> &'static str {
    RULES.iter().find(|rule| rule.id == id).map(|rule| rule.name).unwrap_or("")
}

/// `error[HLS004 average-bandwidth] master.m3u8 (variant a.m3u8): no AVERAGE-BANDWIDTH` lines and a summary.
pub fn human(validation: &Validation) -> String {
    let mut out = String::new();
    for finding in &validation.findings {
        out.push_str(&format!(
            "{}[{} {}] {}: {}\n",
            finding.severity.as_str(),
            finding.rule,
            rule_name(finding.rule),
            finding.location,
            finding.message
        ));
    }
    let (errors, warnings) = (count(validation, Severity::Error), count(validation, Severity::Warning));
    let verdict = if validation.passed() { "valid" } else { "INVALID" };
    out.push_str(&format!(
        "{}: {verdict}, {errors} error{}, {warnings} warning{} ({} rules checked)\n",
        validation.target,
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        RULES.len()
    ));
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    target: &'a str,
    passed: bool,
    errors: usize,
    warnings: usize,
    findings: Vec<JsonFinding<'a>>,
    rules: Vec<JsonRule>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    name: &'static str,
    severity: Severity,
    location: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonRule {
    id: &'static str,
    name: &'static str,
    severity: Severity,
    summary: &'static str,
}

/// The whole validation as one JSON document, with the rule legend.
pub fn json(validation: &Validation) -> String {
    let report = JsonReport {
        target: &validation.target,
        passed: validation.passed(),
        errors: count(validation, Severity::Error),
        warnings: count(validation, Severity::Warning),
        findings: validation
            .findings
            .iter()
            .map(|f: &Finding| JsonFinding {
                rule: f.rule,
                name: rule_name(f.rule),
                severity: f.severity,
                location: &f.location,
                message: &f.message,
            })
            .collect(),
        rules: RULES
            .iter()
            .map(|r| JsonRule { id: r.id, name: r.name, severity: r.severity, summary: r.summary })
            .collect(),
    };
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// Escapes text for XML attributes and content.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test case per rule.
pub fn junit(validation: &Validation) -> String {
    let failed_rules =
        RULES.iter().filter(|rule| validation.of_rule(rule.id).any(|f| f.severity == Severity::Error)).count();
    let target = xml_escape(&validation.target);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"lms-media hls validate\" tests=\"{}\" failures=\"{failed_rules}\">\n",
        RULES.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{target}\" tests=\"{}\" failures=\"{failed_rules}\" errors=\"0\">\n",
        RULES.len()
    ));
    for rule in RULES {
        let findings: Vec<&Finding> = validation.of_rule(rule.id).collect();
        out.push_str(&format!("    <testcase classname=\"hls\" name=\"{} {}\">\n", rule.id, xml_escape(rule.name)));
        let lines = |findings: &[&Finding]| {
            findings
                .iter()
                .map(|f| xml_escape(&format!("{}: {}", f.location, f.message)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let errors: Vec<&Finding> = findings.iter().copied().filter(|f| f.severity == Severity::Error).collect();
        let warnings: Vec<&Finding> = findings.iter().copied().filter(|f| f.severity == Severity::Warning).collect();
        if !errors.is_empty() {
            out.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                rule.id,
                xml_escape(&format!("{} finding(s): {}", errors.len(), rule.summary)),
                lines(&errors)
            ));
        }
        if !warnings.is_empty() {
            out.push_str(&format!("      <system-out>{}</system-out>\n", lines(&warnings)));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The rules as a Markdown table (id, severity, name, what it checks), for `hls rules` and the README.
pub fn rules_table() -> String {
    let mut out = String::from("| id | severity | name | checks |\n|---|---|---|---|\n");
    for rule in RULES {
        out.push_str(&format!("| {} | {} | {} | {} |\n", rule.id, rule.severity.as_str(), rule.name, rule.summary));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Validation {
        Validation {
            target: "out/master.m3u8".into(),
            findings: vec![
                Finding {
                    rule: "HLS004",
                    severity: Severity::Error,
                    location: "master.m3u8 (variant a&b.m3u8)".into(),
                    message: "no AVERAGE-BANDWIDTH".into(),
                },
                Finding {
                    rule: "HLS008",
                    severity: Severity::Warning,
                    location: "master.m3u8".into(),
                    message: "no CLOSED-CAPTIONS=NONE".into(),
                },
            ],
        }
    }

    #[test]
    fn human_lists_findings_and_a_verdict() {
        let text = human(&sample());
        assert!(text.contains("error[HLS004 average-bandwidth] master.m3u8 (variant a&b.m3u8): no AVERAGE-BANDWIDTH"));
        assert!(text.ends_with("out/master.m3u8: INVALID, 1 error, 1 warning (23 rules checked)\n"), "{text}");
    }

    #[test]
    fn json_parses_back() {
        let value: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(value["passed"], false);
        assert_eq!(value["errors"], 1);
        assert_eq!(value["findings"][0]["name"], "average-bandwidth");
        assert_eq!(value["rules"].as_array().unwrap().len(), RULES.len());
    }

    #[test]
    fn readme_lists_every_rule() {
        // The README's table is generated from the rule list; this keeps the two from drifting apart.
        assert!(
            include_str!("../README.md").contains(&rules_table()),
            "packager/README.md is out of date: paste the output of `lms-media hls rules`"
        );
    }

    #[test]
    fn junit_has_a_case_per_rule_and_escapes() {
        let xml = junit(&sample());
        assert_eq!(xml.matches("<testcase ").count(), RULES.len());
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert!(xml.contains("a&amp;b.m3u8"));
        assert!(!xml.contains("a&b"));
        assert!(xml.contains("<system-out>master.m3u8: no CLOSED-CAPTIONS=NONE</system-out>"));
    }
}
