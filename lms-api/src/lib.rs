//! `lms-api` owns the LMS server's HTTP surface (axum). So far: ingestion of lectures and the jobs that turn
//! them into ladders, with the operational endpoints.
//!
//! - `routes::uploads`: `POST /api/v1/uploads` streams a lecture (and its subtitles) to storage, checks its
//!   type from its bytes, and creates the job with its outbox message in one transaction.
//! - `routes::direct_uploads`: presigned S3 uploads straight from the browser, then `complete`, which checks
//!   what arrived and creates the job.
//! - `routes::jobs`: a job's state, attempts, progress and ladder URLs; its progress as server-sent events;
//!   replay of a dead job.
//! - `routes::ops`: `/metrics` (Prometheus), `/healthz`, `/readyz`.
//! - `media`: the ladders themselves, when storage is a local folder (with S3, a CDN serves them).
//!
//! Every route acts for one tenant, named by the `X-Tenant-Id` header, and every query carries it.
//! Requests carry an `X-Request-Id` (made when missing) that every log line of the request names.

#![deny(missing_docs)]

mod error;
mod media;
mod routes;
mod tenant;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use lms_pipeline::metrics::Metrics;
use lms_pipeline::storage::Storage;
use lms_pipeline::{JobStore, Queue};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use routes::ops::{Ops, router as operations_router};

/// How the API behaves.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The largest lecture accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Where uploads are spooled while they stream in and are checked.
    pub spool_dir: PathBuf,
    /// The URL ladders are served from (a CDN in front of the bucket, or this server's `/media`), without a
    /// trailing slash; a job's ladder is at `{public_base_url}/{prefix}/master.m3u8`.
    pub public_base_url: String,
    /// With local storage, the folder `/media` serves.
    pub media_root: Option<PathBuf>,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The job store.
    pub store: JobStore,
    /// Object storage for sources and ladders.
    pub storage: Storage,
    /// The queue, for readiness and depth.
    pub queue: Queue,
    /// Counters.
    pub metrics: Metrics,
    /// Settings.
    pub config: ApiConfig,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let ops = Ops { store: state.store.clone(), queue: state.queue.clone(), metrics: state.metrics.clone() };
    let mut app = Router::new()
        .merge(routes::uploads::routes(&state.config))
        .merge(routes::direct_uploads::routes())
        .merge(routes::jobs::routes());
    if let Some(root) = &state.config.media_root {
        app = app.merge(media::routes(root.clone()));
    }
    app.with_state(state)
        .merge(routes::ops::router(ops))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serves `app` on `listener` until `shutdown` fires, then lets requests in flight finish (at most `grace`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: tokio_util::sync::CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let stopping = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move { stopping.cancelled().await });
    tokio::select! {
        result = server => result,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => Ok(()),
    }
}
