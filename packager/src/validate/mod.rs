//! The ladder validator: our own `mediastreamvalidator` for the design's HLS output contract.
//!
//! [`validate_path`] loads a ladder ([`load`](mod@load)) and runs every rule of [`rules::RULES`], one
//! ordered list of `(id, severity, short doc, check)`; `lms-media hls rules`, the README table and the
//! report legend all come from it. A rule never fails the run: it adds [`Finding`]s. Only a master that
//! cannot be read is an error. Called by `lms-media hls validate` and by the tests that prove FFmpeg's own
//! muxer breaks the contract.

pub mod load;
pub mod rules;

use std::path::Path;

use serde::Serialize;

use crate::error::Result;

pub use load::{LoadedLadder, load, master_path};
pub use rules::{RULES, Rule};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The ladder breaks the contract: validation fails (exit code 1).
    Error,
    /// Worth fixing, but players cope: reported, validation still passes.
    Warning,
}

impl Severity {
    /// The lowercase name, as in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable id (`HLS004`).
    pub rule: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// Where: a file relative to the master's folder, sometimes with the variant or segment.
    pub location: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// The result of validating one ladder.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// What was validated (the master playlist's path).
    pub target: String,
    /// Every finding, in rule order.
    pub findings: Vec<Finding>,
}

impl Validation {
    /// Whether no finding is an error.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The findings of one rule.
    pub fn of_rule<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.rule == id)
    }

    /// The distinct rule ids that found something, in rule order.
    pub fn rule_ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for finding in &self.findings {
            if !ids.contains(&finding.rule) {
                ids.push(finding.rule);
            }
        }
        ids
    }
}

/// Validates the ladder at `input`: a folder holding `master.m3u8`, or a master playlist.
pub fn validate_path(input: &Path) -> Result<Validation> {
    let master = master_path(input)?;
    let ladder = load(&master)?;
    Ok(validate(&ladder))
}

/// Runs every rule over a loaded ladder.
pub fn validate(ladder: &LoadedLadder) -> Validation {
    let mut findings = Vec::new();
    for rule in RULES {
        let mut sink = rules::Sink::new(rule, &mut findings);
        (rule.check)(ladder, &mut sink);
    }
    Validation { target: ladder.master_path.display().to_string(), findings }
}
