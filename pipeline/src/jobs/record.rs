//! What the store knows about a job.

use serde::Serialize;

use crate::job::SubtitleRef;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (a message is on the queue or in the outbox).
    Queued,
    /// A worker holds it under a lease.
    Running,
    /// The ladder is published; `ladder_prefix` points at it.
    Published,
    /// Every attempt failed; kept with the last reason, and can be replayed.
    Dead,
    /// The source was refused (not a video we accept, or hostile); trying again would refuse it again.
    Rejected,
}

impl JobState {
    /// The name stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Published => "published",
            JobState::Dead => "dead",
            JobState::Rejected => "rejected",
        }
    }

    /// Every state, for metrics that report each one even when it is zero.
    pub const ALL: [JobState; 5] =
        [JobState::Queued, JobState::Running, JobState::Published, JobState::Dead, JobState::Rejected];

    pub(crate) fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Whether the job will not change any more without an operator.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Published | JobState::Dead | JobState::Rejected)
    }
}

/// A job to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The job id (a UUID made by the API).
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Storage path of the uploaded source.
    pub source_key: String,
    /// The file name the uploader gave, for display.
    pub source_name: String,
    /// Subtitle files stored with the source.
    pub subtitles: Vec<SubtitleRef>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// The job id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Where it is in its life.
    pub state: JobState,
    /// Attempts started so far (0 before the first claim).
    pub attempt: u32,
    /// Attempts allowed before the job is dead.
    pub max_attempts: u32,
    /// The worker holding the current attempt, while running.
    pub lease_owner: Option<String>,
    /// When that worker's lease runs out (Unix milliseconds, on the database's clock).
    pub lease_until_ms: Option<i64>,
    /// Fraction of the current attempt's encode done, 0 to 1.
    pub progress: f64,
    /// Storage path of the source.
    pub source_key: String,
    /// The uploader's file name.
    pub source_name: String,
    /// Subtitle files.
    pub subtitles: Vec<SubtitleRef>,
    /// Storage prefix of the published ladder (`ladders/{tenant}/{job}/{attempt}`).
    pub ladder_prefix: Option<String>,
    /// The attempt whose ladder is published.
    pub published_attempt: Option<u32>,
    /// Stable code of the last failure.
    pub error_code: Option<String>,
    /// The last failure, in words.
    pub error_message: Option<String>,
    /// Creation time (Unix milliseconds).
    pub created_at_ms: i64,
    /// Last change (Unix milliseconds).
    pub updated_at_ms: i64,
    /// What the published ladder offers (its length and rungs), as JSON from the worker that published it.
    pub ladder_summary: Option<String>,
}
