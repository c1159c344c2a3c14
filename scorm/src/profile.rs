//! Profiles: `strict` applies the ADL Conformance Test Suite's judgement; `compat` applies what the large LMSs
//! (SCORM Cloud, Moodle, Canvas, Cornerstone) actually accept, downgrading some errors to warnings and saying
//! what each LMS would do differently.

/// Which judgement to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The CTS's rules.
    #[default]
    Strict,
    /// What the large LMSs accept.
    Compat,
}

impl Profile {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Compat => "compat",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Self::Strict),
            "compat" => Ok(Self::Compat),
            other => Err(format!("unknown profile {other:?} (expected strict or compat)")),
        }
    }
}
