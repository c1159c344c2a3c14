//! The one error type of `lms-pipeline`.

use std::path::PathBuf;

/// What went wrong in the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A storage key part is empty, too long or has characters keys may not hold.
    #[error("invalid storage key part {part:?}: {reason}")]
    InvalidKey {
        /// The offending part.
        part: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A job message could not be read.
    #[error("invalid job message: {reason}")]
    InvalidJob {
        /// What is wrong with it.
        reason: String,
    },
    /// The storage configuration cannot work.
    #[error("invalid storage configuration: {reason}")]
    Config {
        /// What is wrong with it.
        reason: String,
    },
    /// The storage backend cannot do the operation at all (presigned uploads on a local folder).
    #[error("unsupported storage operation: {reason}")]
    Unsupported {
        /// What is missing.
        reason: &'static str,
    },
    /// A local storage operation failed.
    #[error("local storage failed at {path}")]
    Local {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An S3 request failed.
    #[error("S3 {operation} of {key} failed")]
    S3 {
        /// The operation (`PutObject`).
        operation: &'static str,
        /// The object key or prefix.
        key: String,
        /// Whether the failure was transient (timeout, connection, 5xx, throttling) rather than a refusal.
        transient: bool,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A database statement failed.
    #[error(transparent)]
    Database(#[from] lms_db::DbError),
    /// The message queue failed.
    #[error("queue {operation} failed: {reason}")]
    Queue {
        /// What was being done (`publish`, `consume`, `connect`).
        operation: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl PipelineError {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::InvalidKey { .. } => "invalid-key",
            PipelineError::InvalidJob { .. } => "invalid-job",
            PipelineError::Config { .. } => "invalid-config",
            PipelineError::Unsupported { .. } => "unsupported",
            PipelineError::Local { .. } => "local-storage-failed",
            PipelineError::S3 { .. } => "s3-failed",
            PipelineError::Database(_) => "database-failed",
            PipelineError::Queue { .. } => "queue-failed",
        }
    }

    /// Whether trying the same operation again may succeed: a transient storage fault, not a refusal
    /// (wrong credentials, a missing bucket) that would fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            PipelineError::S3 { transient, .. } => *transient,
            PipelineError::Local { .. } | PipelineError::Database(_) | PipelineError::Queue { .. } => true,
            _ => false,
        }
    }
}
