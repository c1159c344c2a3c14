//! `lms-api` owns the LMS server's HTTP surface (axum): who is asking, what they may do, and the resources
//! they reach, in Canvas's REST shape where Canvas has the resource.
//!
//! - `router`: every route, in one place; `openapi`: the OpenAPI 3.1 document the routes' declarations
//!   make, served at `/api/v1/openapi.json`.
//! - `auth`: the [`Principal`] of a request, from its bearer token; `policy`: what a principal may do, as
//!   one function over one table.
//! - `accounts`: accounts (tenants), users, passwords and access tokens: model and store.
//! - `catalog`: courses, enrollments (and their CSV import): model and store.
//! - `canvas`: Canvas's conventions for every route: Rack-bracket parameters, `Link` pagination.
//! - `views`: the JSON sent back, apart from the handlers; `error`: the one error type and its JSON body.
//! - `routes`: the handlers, one module per resource: accounts, users and tokens, uploads (multipart and
//!   presigned), jobs (state, server-sent events, replay), and `ops` (`/metrics` behind a token,
//!   `/healthz`, `/readyz`).
//! - `limits`: per-token rate limits (429); `idempotency`: `Idempotency-Key` on every POST.
//! - `server`: the connection loop (hyper) with the limits a public listener needs: header, idle and
//!   stalled-body timeouts, and a connection cap that evicts the longest-idle connection.
//! - `media`: the ladders themselves, when storage is a local folder (with S3, a CDN serves them).
//!
//! The tenant of every request comes from its token; every query names it, and on PostgreSQL every
//! transaction is scoped to it for row-level security (`lms-db`). Requests carry an `X-Request-Id` (made
//! when missing) that every log line of the request names.

#![deny(missing_docs)]

pub mod accounts;
pub mod auth;
pub mod canvas;
pub mod catalog;
mod error;
mod idempotency;
pub mod limits;
mod media;
mod openapi;
pub mod policy;
mod router;
mod routes;
pub mod server;
pub mod views;

use std::path::PathBuf;

use axum::extract::FromRef;
use lms_db::Db;
use lms_pipeline::metrics::Metrics;
use lms_pipeline::storage::Storage;
use lms_pipeline::{JobStore, Queue};

pub use auth::Principal;
pub use error::ApiError;
pub use router::router;
pub use routes::ops::{Ops, router as operations_router};
pub use routes::uploads::sweep_spool;
pub use server::{ServerLimits, serve};

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
    /// Per-token rate limit of the API; `None` for none.
    pub rate_limit: Option<limits::RateLimit>,
    /// The bearer token `/metrics` asks for on the public listener; without one, `/metrics` is not served
    /// there (serve it on an operations listener instead).
    pub ops_token: Option<String>,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database LMS rows live in (the job store shares it).
    pub db: Db,
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

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}
