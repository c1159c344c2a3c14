//! `lms-pipeline` owns the contract between the API and the worker fleet: the job messages, the queue that
//! delivers them (in process, or RabbitMQ) and the object storage that holds sources and ladders (a local
//! directory, or S3). Only this crate knows storage paths.
//!
//! Not built yet: this crate holds the place the design gives it, so the workspace has its final shape.

#![deny(missing_docs)]
