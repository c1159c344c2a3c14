//! `lms-pipeline` owns the contract between the API and the worker fleet: the job messages, the queue that
//! delivers them (in process, or RabbitMQ) and the object storage that holds sources and ladders (a local
//! directory, or S3). Only this crate knows storage paths.
//!
//! - [`job`]: the message a worker receives (`lms.transcode.v1`).
//! - [`jobs`]: the job store, the source of truth: job rows, the outbox, claims, leases and fencing, retries
//!   and dead jobs, on SQLite or PostgreSQL.
//! - [`queue`]: delivery of messages, in process or through RabbitMQ.
//! - [`maintenance`]: dead letters become dead jobs; abandoned uploads are cleaned up.
//! - [`metrics`]: counters in Prometheus' format.
//! - [`relay`]: moves the outbox onto the queue and requeues the jobs of vanished workers.
//! - [`storage`]: sources and ladders, in a local folder or S3.

#![deny(missing_docs)]

mod error;
pub mod job;
pub mod jobs;
pub mod maintenance;
pub mod metrics;
pub mod queue;
pub mod relay;
pub mod storage;

pub use error::PipelineError;
pub use job::TranscodeJob;
pub use jobs::{JobRecord, JobState, JobStore};
pub use queue::Queue;
pub use storage::{ObjectMeta, Storage, StorageConfig, StorageKey};
