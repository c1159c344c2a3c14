//! Housekeeping that keeps the database the whole truth: dead letters become dead jobs, and what crashes
//! leave behind stops costing storage: uploads abandoned half-way, and uploaded sources that no job owns
//! (the server died between storing an upload's files and committing its job, or a presigned upload was
//! never completed).
//!
//! The broker dead-letters a message whose consumers kept dying before settling it (the delivery limit).
//! Left there, its job would wait as `queued` until the hourly requeue; instead each dead letter is read and
//! its job marked `dead` with that reason, where an operator sees it and can replay it.

use std::time::{Duration, Instant};

use crate::jobs::JobStore;
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::storage::Storage;
use crate::{PipelineError, TranscodeJob};

/// How often housekeeping runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaintenanceSettings {
    /// Pause between dead-letter sweeps.
    pub dead_letter_interval: Duration,
    /// Pause between sweeps of abandoned uploads.
    pub upload_sweep_interval: Duration,
    /// An upload started this long ago and never finished is abandoned; so is a source folder written this
    /// long ago whose job does not exist.
    pub abandoned_after: Duration,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            dead_letter_interval: Duration::from_secs(10),
            upload_sweep_interval: Duration::from_secs(3600),
            abandoned_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// Reads every dead letter and buries its job. Returns how many jobs became dead.
pub async fn bury_dead_letters(store: &JobStore, queue: &Queue) -> Result<usize, PipelineError> {
    let mut buried = 0;
    while let Some(letter) = queue.take_dead_letter().await? {
        match TranscodeJob::from_json(&letter.payload) {
            Ok(message) => match store.bury(&message).await {
                Ok(true) => {
                    tracing::error!(job_id = %message.job_id, attempt = message.attempt, "job dead-lettered by the queue");
                    buried += 1;
                }
                Ok(false) => {
                    tracing::info!(job_id = %message.job_id, "dead letter of a job that has moved on; dropped")
                }
                Err(error) => {
                    letter.give_back().await;
                    return Err(error);
                }
            },
            Err(error) => tracing::error!(%error, "unreadable dead letter dropped"),
        }
        letter.done().await;
    }
    Ok(buried)
}

/// Removes the source folders written at least `older_than` ago whose job does not exist. Returns how many.
/// A folder whose job is found, in any state, is kept (a job's sources go with the job).
pub async fn sweep_orphaned_sources(
    store: &JobStore,
    storage: &Storage,
    older_than: Duration,
) -> Result<usize, PipelineError> {
    let mut removed = 0;
    for (tenant, job) in storage.source_folders_older_than(older_than).await? {
        if store.find(&job).await?.is_some() {
            continue;
        }
        let Ok(folder) = crate::storage::StorageKey::source_folder(&tenant, &job) else {
            // Not a folder this system would write: left for a person to look at.
            tracing::warn!(%tenant, %job, "an unexpected folder under sources/ is left alone");
            continue;
        };
        storage.delete_prefix(&folder).await?;
        tracing::info!(%tenant, %job, "uploaded files that no job owns removed");
        removed += 1;
    }
    Ok(removed)
}

/// Runs housekeeping until `shutdown` fires.
pub async fn run_maintenance(
    store: JobStore,
    queue: Queue,
    storage: Storage,
    metrics: Metrics,
    settings: MaintenanceSettings,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut last_upload_sweep: Option<Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = bury_dead_letters(&store, &queue) => {
                if let Err(error) = result {
                    tracing::warn!(%error, "dead-letter sweep failed; trying again");
                }
            }
        }
        if last_upload_sweep.is_none_or(|at| at.elapsed() >= settings.upload_sweep_interval) {
            match storage.abort_abandoned_uploads(settings.abandoned_after).await {
                Ok(0) => {}
                Ok(count) => {
                    tracing::info!(count, "abandoned uploads cleaned up");
                    metrics.swept("upload", count);
                }
                Err(error) => tracing::warn!(%error, "sweep of abandoned uploads failed"),
            }
            match sweep_orphaned_sources(&store, &storage, settings.abandoned_after).await {
                Ok(0) => {}
                Ok(count) => metrics.swept("source", count),
                Err(error) => tracing::warn!(%error, "sweep of sources no job owns failed"),
            }
            last_upload_sweep = Some(Instant::now());
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.dead_letter_interval) => {}
        }
    }
}
