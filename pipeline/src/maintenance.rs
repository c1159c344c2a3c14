//! Housekeeping that keeps the database the whole truth: dead letters become dead jobs, and uploads that
//! were abandoned half-way stop costing storage.
//!
//! The broker dead-letters a message whose consumers kept dying before settling it (the delivery limit).
//! Left there, its job would wait as `queued` until the hourly requeue; instead each dead letter is read and
//! its job marked `dead` with that reason, where an operator sees it and can replay it.

use std::time::{Duration, Instant};

use crate::jobs::JobStore;
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
    /// An upload started this long ago and never finished is abandoned.
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

/// Runs housekeeping until `shutdown` fires.
pub async fn run_maintenance(
    store: JobStore,
    queue: Queue,
    storage: Storage,
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
                Ok(count) => tracing::info!(count, "abandoned uploads cleaned up"),
                Err(error) => tracing::warn!(%error, "sweep of abandoned uploads failed"),
            }
            last_upload_sweep = Some(Instant::now());
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.dead_letter_interval) => {}
        }
    }
}
