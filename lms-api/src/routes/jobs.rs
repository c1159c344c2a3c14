//! Jobs: `GET /api/v1/jobs/{id}`, `GET /api/v1/jobs/{id}/events` (server-sent events) and
//! `POST /api/v1/jobs/{id}/replay`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use lms_pipeline::{JobRecord, JobState};
use serde::Serialize;

use crate::tenant::Tenant;
use crate::{ApiError, AppState};

/// How often the event stream looks at the job: progress is renewed with the lease, every few seconds.
const EVENT_POLL: Duration = Duration::from_millis(500);

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs/{id}", get(show))
        .route("/api/v1/jobs/{id}/events", get(events))
        .route("/api/v1/jobs/{id}/replay", post(replay))
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    /// The job id.
    pub id: String,
    /// `queued`, `running`, `published`, `dead` or `rejected`.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LadderView {
    /// The master playlist's URL.
    pub master_url: String,
    /// The storage prefix (fresh for every attempt, so nothing is ever purged from a CDN).
    pub prefix: String,
}

/// A failure, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

async fn find(state: &AppState, tenant: &str, id: &str) -> Result<JobRecord, ApiError> {
    state.store.get(tenant, id).await?.ok_or_else(|| ApiError::NotFound { what: format!("job {id}") })
}

async fn show(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let record = find(&state, &tenant, &id).await?;
    Ok(Json(JobView::new(&record, &state.config.public_base_url)))
}

async fn replay(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let record =
        state.store.replay(&tenant, &id).await?.ok_or_else(|| ApiError::NotFound { what: format!("job {id}") })?;
    Ok(Json(JobView::new(&record, &state.config.public_base_url)))
}

/// Sends the job as a `job` event whenever it changes, and ends after a final state.
async fn events(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let first = find(&state, &tenant, &id).await?;
    let stream = futures_util::stream::unfold(
        (state, tenant, id, Some(first), None::<JobView>, false),
        |(state, tenant, id, pending, last, finished)| async move {
            if finished {
                return None;
            }
            let mut pending = pending;
            loop {
                let record = match pending.take() {
                    Some(record) => record,
                    None => {
                        tokio::time::sleep(EVENT_POLL).await;
                        match state.store.get(&tenant, &id).await {
                            Ok(Some(record)) => record,
                            Ok(None) => return None,
                            Err(error) => {
                                tracing::warn!(%error, "job event stream could not read the job");
                                continue;
                            }
                        }
                    }
                };
                let view = JobView::new(&record, &state.config.public_base_url);
                if last.as_ref() == Some(&view) {
                    continue;
                }
                let event = Event::default().event("job").json_data(&view).unwrap_or_default();
                let finished = record.state.is_final();
                return Some((Ok(event), (state, tenant, id, None, Some(view), finished)));
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
