//! The one error type of `lms-api`, and how each becomes an HTTP answer.
//!
//! Every error answers with Canvas's shape, `{"errors": [{"message": "...", "code": "..."}]}`: a sentence
//! for people that says what was wrong and where, and (our addition) a stable code for programs. A bad or
//! missing token answers 401 with `WWW-Authenticate`, as Canvas clients expect; something the caller may not
//! see answers 404 exactly as something that does not exist.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lms_db::DbError;
use lms_pipeline::PipelineError;

/// The longest piece of client input an error message repeats.
const ECHO_LIMIT: usize = 100;
/// The longest error message sent.
const MAX_MESSAGE_CHARS: usize = 2_000;

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
    /// No token, or one that is unknown or expired.
    #[error("Invalid access token.")]
    InvalidToken,
    /// The caller is known, and may see the thing, but may not do this to it.
    #[error("{message}")]
    Forbidden {
        /// What was refused.
        message: String,
    },
    /// No such thing for this caller (or one it may not see: the answer is the same).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The change conflicts with what is stored (a login already taken).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// A field's value is well-formed but refused.
    #[error("{field}: {message}")]
    Unprocessable {
        /// The field, as the client named it (`pseudonym[unique_id]`).
        field: String,
        /// What is wrong with it.
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
    /// The store, storage or queue failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Spooling an upload to local disk failed.
    #[error("spooling the upload failed: {0}")]
    Spool(#[source] std::io::Error),
    /// The request body stopped arriving (`server::ServerLimits::body_stall_timeout`).
    #[error("{message}")]
    BodyStalled {
        /// What was being read, and for how long nothing came.
        message: String,
    },
    /// A task of the server itself failed (a blocking task that panicked).
    #[error("{what} failed")]
    Internal {
        /// What failed.
        what: &'static str,
    },
}

/// `what` not found.
pub(crate) fn not_found(what: impl Into<String>) -> ApiError {
    ApiError::NotFound { what: what.into() }
}

/// Refused: the caller may see the thing but not do this.
pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::Forbidden { message: message.into() }
}

/// A field's value is refused.
pub(crate) fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable { field: field.into(), message: message.into() }
}

/// A piece of client input, cut short for an error message.
pub(crate) fn echo(input: &str) -> String {
    match input.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
    }
}

impl ApiError {
    /// Whether the request itself was at fault (a 4xx), as opposed to the server or its services.
    pub fn is_client_error(&self) -> bool {
        self.status_and_code().0.is_client_error()
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid-token"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Unprocessable { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-field"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
            ApiError::UnsupportedType { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-type"),
            // What this server's configuration does not offer (presigned uploads without S3): the client
            // has to take another way, as the message says, so it is a refusal of the request, not a fault.
            ApiError::Pipeline(error @ PipelineError::Unsupported { .. }) => (StatusCode::BAD_REQUEST, error.code()),
            ApiError::Pipeline(error @ PipelineError::InvalidKey { .. }) => (StatusCode::BAD_REQUEST, error.code()),
            ApiError::Pipeline(error) if error.is_retryable() => (StatusCode::SERVICE_UNAVAILABLE, error.code()),
            ApiError::Pipeline(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.code()),
            ApiError::Database(error) if error.is_retryable() => (StatusCode::SERVICE_UNAVAILABLE, "database-failed"),
            ApiError::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, "database-failed"),
            ApiError::Spool(_) => (StatusCode::INTERNAL_SERVER_ERROR, "spool-failed"),
            ApiError::BodyStalled { .. } => (StatusCode::REQUEST_TIMEOUT, "body-stalled"),
            ApiError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if matches!(status, StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE) {
            // The causes (paths, driver messages) go to the log, not to the client.
            tracing::error!(code, message = %with_causes(&self), "request failed");
            match status {
                StatusCode::SERVICE_UNAVAILABLE => "the service is briefly unavailable: try again".to_owned(),
                _ => "the server failed to answer this request; the failure is logged".to_owned(),
            }
        } else {
            with_causes(&self)
        };
        // A backstop: every message that quotes input cuts it with `echo`, and no answer carries a novel.
        let message = match message.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((end, _)) => format!("{}…", &message[..end]),
            None => message,
        };
        let body = serde_json::json!({ "errors": [{ "message": message, "code": code }] });
        let mut response = (status, Json(body)).into_response();
        if matches!(self, ApiError::InvalidToken) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"canvas-lms\""));
        }
        response
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
