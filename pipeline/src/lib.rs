//! `lms-pipeline` owns the contract between the API and the worker fleet: the job messages, the queue that
//! delivers them (in process, or RabbitMQ) and the object storage that holds sources and ladders (a local
//! directory, or S3). Only this crate knows storage paths.
//!
//! Built so far: the transcode job message and object storage with both backends, checked by one contract
//! test suite against a local folder and a real S3 server (Garage). The queue is still to come.

#![deny(missing_docs)]

mod error;
pub mod job;
pub mod storage;

pub use error::PipelineError;
pub use job::TranscodeJob;
pub use storage::{ObjectMeta, Storage, StorageConfig, StorageKey};
