//! Jobs, as the upload and job routes show them (our own shape: Canvas has no transcode jobs).

use lms_pipeline::{JobRecord, JobState};
use serde::Serialize;
use utoipa::ToSchema;

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JobView {
    /// The job id.
    pub id: String,
    /// `queued`, `running`, `published`, `dead` or `rejected`.
    #[schema(value_type = String, example = "queued")]
    pub state: JobState,
    /// Attempts started.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Fraction of the current attempt done.
    pub progress: f64,
    /// The uploader's file name.
    pub source_name: String,
    /// Subtitle languages.
    pub subtitles: Vec<String>,
    /// The published ladder, once there is one.
    pub ladder: Option<LadderView>,
    /// The last failure, if any.
    pub error: Option<ErrorView>,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Last change, Unix milliseconds.
    pub updated_at_ms: i64,
}

/// Where a published ladder is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LadderView {
    /// The master playlist's URL.
    pub master_url: String,
    /// The storage prefix (fresh for every attempt, so nothing is ever purged from a CDN).
    pub prefix: String,
}

/// A failure, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorView {
    /// Stable code.
    pub code: String,
    /// In words.
    pub message: String,
}

impl JobView {
    /// The view of `record`, with URLs under `public_base_url`.
    pub fn new(record: &JobRecord, public_base_url: &str) -> Self {
        Self {
            id: record.id.clone(),
            state: record.state,
            attempts: record.attempt,
            max_attempts: record.max_attempts,
            progress: record.progress,
            source_name: record.source_name.clone(),
            subtitles: record.subtitles.iter().map(|subtitle| subtitle.language.clone()).collect(),
            ladder: record.ladder_prefix.as_ref().filter(|_| record.state == JobState::Published).map(|prefix| {
                LadderView { master_url: format!("{public_base_url}/{prefix}/master.m3u8"), prefix: prefix.clone() }
            }),
            error: record.error_code.as_ref().map(|code| ErrorView {
                code: code.clone(),
                message: record.error_message.clone().unwrap_or_default(),
            }),
            created_at_ms: record.created_at_ms,
            updated_at_ms: record.updated_at_ms,
        }
    }
}
