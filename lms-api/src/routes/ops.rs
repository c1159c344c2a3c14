//! Operations: `/metrics`, `/healthz` (the process answers) and `/readyz` (its database and queue do).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
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
}

/// `/metrics`, `/healthz` and `/readyz` for `ops`.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ops)
}

async fn metrics(State(state): State<Ops>) -> impl IntoResponse {
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
