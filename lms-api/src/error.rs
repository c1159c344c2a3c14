//! The one error type of `lms-api`, and how each becomes an HTTP answer.
//!
//! Every error answers with JSON `{"error": {"code": "...", "message": "..."}}`: a stable code for programs
//! and a sentence for people that says what was wrong and where.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lms_pipeline::PipelineError;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed or its content refused.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What was wrong, and where.
        message: String,
    },
    /// The upload is larger than the limit.
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The file is not of a type we take.
    #[error("{message}")]
    UnsupportedType {
        /// What it is, and what is accepted.
        message: String,
    },
    /// No such thing for this tenant.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The store, storage or queue failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Spooling an upload to local disk failed.
    #[error("spooling the upload failed: {0}")]
    Spool(#[source] std::io::Error),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
            ApiError::UnsupportedType { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-type"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
            ApiError::Pipeline(error @ PipelineError::Unsupported { .. }) => {
                (StatusCode::NOT_IMPLEMENTED, error.code())
            }
            ApiError::Pipeline(error @ PipelineError::InvalidKey { .. }) => (StatusCode::BAD_REQUEST, error.code()),
            ApiError::Pipeline(error) if error.is_retryable() => (StatusCode::SERVICE_UNAVAILABLE, error.code()),
            ApiError::Pipeline(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.code()),
            ApiError::Spool(_) => (StatusCode::INTERNAL_SERVER_ERROR, "spool-failed"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = with_causes(&self);
        if status.is_server_error() {
            tracing::error!(code, %message, "request failed");
        }
        (status, Json(serde_json::json!({ "error": { "code": code, "message": message } }))).into_response()
    }
}

/// `error` followed by each of its causes, separated by `: `.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
