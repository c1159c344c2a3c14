//! Findings: what a rule reports, with everything a person needs to act on it (rule id, severity, file, line and
//! column or element path, message, hint) and, under the `compat` profile, what the big LMSs do about it.

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The package is not conformant; LMSs may refuse or mis-run it.
    Error,
    /// Legal but risky, or a conformance nicety most LMSs ignore.
    Warning,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable rule id.
    pub rule: &'static str,
    /// Severity after the profile was applied.
    pub severity: Severity,
    /// File inside the package the finding is about (usually the manifest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Element path in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// What LMSs do about it (the `compat` profile only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lms_note: Option<String>,
}

impl Finding {
    /// `file:line:column`, `file (element)` or just `file`, for people.
    pub fn location(&self) -> String {
        let file = self.file.as_deref().unwrap_or("<package>");
        match (self.line, self.column, &self.element) {
            (Some(l), Some(c), _) => format!("{file}:{l}:{c}"),
            (Some(l), None, _) => format!("{file}:{l}"),
            (None, _, Some(e)) => format!("{file} ({e})"),
            _ => file.to_string(),
        }
    }
}
