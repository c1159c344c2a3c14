//! Operations: `/metrics`, `/healthz` (the process answers) and `/readyz` (its database and queue do).
//!
//! `/metrics` tells a stranger how busy the service is and what fails, so on a listener the public reaches
//! it asks for the operators' bearer token ([`Ops::token`]), and is not served at all when none is set. An
//! operations listener of its own (a worker's `--listen`, `serve --ops-listen`) serves it without one.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lms_pipeline::metrics::StateLabel;

use lms_pipeline::metrics::Metrics;
use lms_pipeline::{JobStore, Queue};

/// What the operational endpoints read: any process of the fleet (the API, or a worker) serves them.
#[derive(Debug, Clone)]
pub struct Ops {
    /// The job store, for jobs by state and readiness.
    pub store: JobStore,
    /// The queue, for depth and readiness.
    pub queue: Queue,
    /// This process's counters.
    pub metrics: Metrics,
    /// The bearer token `/metrics` requires; `None` on an operations listener.
    pub token: Option<String>,
}

/// `/metrics`, `/healthz` and `/readyz` for `ops`, on a listener of operators' own.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ops)
}

/// The same on the public listener: `/metrics` only when a token guards it.
pub(crate) fn public_router(ops: Ops) -> Router {
    let router = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz));
    let router = if ops.token.is_some() { router.route("/metrics", get(metrics)) } else { router };
    router.with_state(ops)
}

async fn metrics(State(state): State<Ops>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.token {
        let presented = crate::auth::bearer_token(&headers);
        // Compared in constant time: the token is a password.
        let matches = presented.is_some_and(|presented| {
            presented.len() == token.len()
                && presented.bytes().zip(token.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
        });
        if !matches {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    render_metrics(&state).await.into_response()
}

async fn render_metrics(state: &Ops) -> impl IntoResponse + use<> {
    // System-wide gauges are read at scrape time; a failing source leaves its last value.
    if let Ok(counts) = state.store.count_by_state().await {
        for (job_state, count) in counts {
            let gauge = state.metrics.jobs.get_or_create(&StateLabel { state: job_state.as_str().into() });
            gauge.set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
    if let Ok(depth) = state.queue.depth().await {
        state.metrics.queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    if let Ok(depth) = state.queue.dead_letter_depth().await {
        state.metrics.dead_letters.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    if let Ok(depth) = state.store.outbox_len().await {
        state.metrics.outbox_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Ops>) -> impl IntoResponse {
    let database = state.store.ping().await.is_ok();
    let queue = state.queue.ready().await;
    let status = if database && queue { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::json!({ "database": database, "queue": queue })))
}
