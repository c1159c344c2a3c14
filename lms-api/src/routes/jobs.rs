//! Jobs: `GET /api/v1/jobs/{id}`, `GET /api/v1/jobs/{id}/events` (server-sent events) and
//! `POST /api/v1/jobs/{id}/replay`, for the account's admins and, for a course's lectures, its staff.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use lms_pipeline::JobRecord;

use crate::auth::Principal;
use crate::policy::{Action, authorized_tenant, may};
use crate::views::jobs::JobView;
use crate::{ApiError, AppState};
use lms_db::Scope;

/// How often the event stream looks at the job: progress is renewed with the lease, every few seconds.
const EVENT_POLL: Duration = Duration::from_millis(500);

/// The caller's tenant when it may follow job `id`: an account admin any job of the account; the staff of a
/// course (teacher, TA, designer) the jobs of that course's lectures. Refused otherwise.
async fn job_tenant(state: &AppState, principal: &Principal, id: &str) -> Result<String, ApiError> {
    let refused = match authorized_tenant(principal, Action::ManageJobs) {
        Ok(tenant) => return Ok(tenant),
        Err(refused) => refused,
    };
    let tenant = principal.tenant();
    let mut tx = state.db.read(Scope::Tenant(&tenant)).await?;
    let course = crate::catalog::media::course_of_job(&mut tx, principal.account_id, id).await?;
    let allowed = match course {
        Some(course) => crate::catalog::course_access(&mut tx, principal, course)
            .await?
            .is_some_and(|(_, access)| may(principal, Action::ManageContent(&access))),
        None => false,
    };
    lms_db::commit(tx).await?;
    if allowed { Ok(tenant) } else { Err(refused) }
}

async fn find(state: &AppState, tenant: &str, id: &str) -> Result<JobRecord, ApiError> {
    state
        .store
        .get(tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound { what: format!("job {}", crate::error::echo(id)) })
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, description = "The job", body = JobView)),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let tenant = job_tenant(&state, &principal, &id).await?;
    let record = find(&state, &tenant, &id).await?;
    Ok(Json(JobView::new(&record, &state.config.public_base_url)))
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/replay",
    tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, description = "The job, queued again", body = JobView)),
)]
pub(crate) async fn replay(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let tenant = job_tenant(&state, &principal, &id).await?;
    let record = state
        .store
        .replay(&tenant, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound { what: format!("job {}", crate::error::echo(&id)) })?;
    Ok(Json(JobView::new(&record, &state.config.public_base_url)))
}

/// Sends the job as a `job` event whenever it changes, and ends after a final state.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}/events",
    tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, description = "Server-sent events: a `job` event (a JobView) at every change, until a final state", body = String, content_type = "text/event-stream")),
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let tenant = job_tenant(&state, &principal, &id).await?;
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
