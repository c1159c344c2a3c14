//! The worker: takes job messages off the queue and turns each into a published ladder.
//!
//! For each delivery: read the message (unreadable ones go to the dead-letter queue), claim the attempt in
//! the job store (a duplicate or out-of-date message is acknowledged and dropped), then, while a lease
//! renewer keeps the claim alive, fetch the source, encode it through the [`LadderEncoder`] (a child
//! process, in the binary), and publish the ladder under the attempt's own prefix, segments first and master
//! last. Only then does the job point at it. The delivery is acknowledged once the store knows the outcome;
//! the store, not the queue, decides what happens next (a retry after a backoff, or a dead job).
//!
//! A worker that loses its lease (it was too slow to renew, or the job was reaped) notices at its next
//! renewal, kills its encode and publishes nothing. On shutdown it stops taking deliveries, lets the jobs in
//! hand finish within a grace period, and hands the rest back without counting them as attempts.

mod attempt;
mod publish;
pub mod sweep;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lms_pipeline::jobs::{Claim, Failure, FailureOutcome};
use lms_pipeline::metrics::Metrics;
use lms_pipeline::queue::Delivery;
use lms_pipeline::storage::Storage;
use lms_pipeline::{JobStore, PipelineError, Queue, TranscodeJob};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use attempt::{EncodeJob, LadderEncoder};

use crate::engine::CancelFlag;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// This worker's name in leases and logs (unique across the fleet).
    pub worker_id: String,
    /// Jobs encoded at once; also the queue's prefetch.
    pub concurrency: usize,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// Where sources are fetched and ladders built (a temporary folder per attempt).
    pub work_dir: PathBuf,
    /// On shutdown, how long the jobs in hand may take to finish before they are handed back.
    pub shutdown_grace: Duration,
    /// A pause before each file upload: zero in service; the fault tests set it to widen the window in which
    /// a worker dies mid-upload.
    pub upload_pause: Duration,
}

impl WorkerSettings {
    /// Defaults for `work_dir`: one job at a time, a 60 s lease, 30 s of grace.
    pub fn new(work_dir: PathBuf) -> Self {
        let host = std::fs::read_to_string("/etc/hostname").map(|name| name.trim().to_owned()).unwrap_or_default();
        let short = uuid::Uuid::new_v4().simple().to_string();
        Self {
            worker_id: format!("{host}-{}-{}", std::process::id(), &short[..8]),
            concurrency: 1,
            lease: Duration::from_secs(60),
            work_dir,
            shutdown_grace: Duration::from_secs(30),
            upload_pause: Duration::ZERO,
        }
    }
}

/// How long a work folder of an attempt that is not running is left before a sweep removes it: the attempt
/// removes its own as it ends, so only a crash leaves one older than this.
const WORK_DIR_GRACE: Duration = Duration::from_secs(600);
/// Pause between sweeps of the work folder.
const WORK_DIR_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Everything a worker needs.
#[derive(Clone)]
pub struct Worker {
    /// The job store.
    pub store: JobStore,
    /// Where sources are and ladders go.
    pub storage: Storage,
    /// Where job messages come from.
    pub queue: Queue,
    /// Runs one encode.
    pub encoder: Arc<dyn LadderEncoder>,
    /// Counters.
    pub metrics: Metrics,
    /// How it runs.
    pub settings: WorkerSettings,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Worker").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Worker {
    /// Consumes jobs until `shutdown` fires, then drains as described in the module documentation.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), PipelineError> {
        let concurrency = self.settings.concurrency.max(1);
        let prefetch = u16::try_from(concurrency).unwrap_or(u16::MAX);
        let mut consumer = self.queue.consume(prefetch).await?;
        // Fires when the grace period is over: the jobs still running are handed back.
        let hand_back = CancellationToken::new();
        let mut running = tokio::task::JoinSet::new();
        tracing::info!(worker_id = %self.settings.worker_id, concurrency, "worker started");
        let sweeper = tokio::spawn(self.clone().sweep_work_dir_periodically(shutdown.clone()));
        loop {
            // Reap finished tasks so the set does not grow.
            while running.try_join_next().is_some() {}
            if running.len() >= concurrency {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = running.join_next() => continue,
                }
            }
            let delivery = tokio::select! {
                () = shutdown.cancelled() => break,
                delivery = consumer.next() => delivery?,
            };
            let worker = self.clone();
            let hand_back = hand_back.clone();
            running.spawn(async move { worker.handle(delivery, hand_back).await });
        }
        sweeper.abort();
        // Prefetched deliveries not started go back to the queue with the consumer.
        drop(consumer);
        tracing::info!(in_hand = running.len(), "worker stopping; letting the jobs in hand finish");
        let drained =
            tokio::time::timeout(self.settings.shutdown_grace, async { while running.join_next().await.is_some() {} })
                .await;
        if drained.is_err() {
            hand_back.cancel();
            // Handing back kills the encodes and records each job; bound that too, so a second stuck step
            // cannot keep the process alive. Jobs still in hand after it are left to their leases.
            let handed_back =
                tokio::time::timeout(HAND_BACK_LIMIT, async { while running.join_next().await.is_some() {} }).await;
            if handed_back.is_err() {
                tracing::warn!(in_hand = running.len(), "jobs not handed back in time; their leases will run out");
                running.abort_all();
            }
        }
        tracing::info!("worker stopped");
        Ok(())
    }

    /// Removes the work folders crashed attempts left, at start and then every hour.
    async fn sweep_work_dir_periodically(self, shutdown: CancellationToken) {
        loop {
            match sweep::sweep_work_dir(&self.store, &self.settings.work_dir, WORK_DIR_GRACE).await {
                Ok(0) => {}
                Ok(count) => self.metrics.swept("work", count),
                Err(error) => tracing::warn!(%error, "sweep of the work folder failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(WORK_DIR_SWEEP_INTERVAL) => {}
            }
        }
    }

    /// One delivery, from message to acknowledgement.
    async fn handle(&self, delivery: Delivery, hand_back: CancellationToken) {
        let message = match TranscodeJob::from_json(&delivery.payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "unreadable job message; dead-lettered");
                delivery.reject().await;
                return;
            }
        };
        let worker_id = &self.settings.worker_id;
        // While the store is unreachable the delivery is kept and the claim tried again: handing it back
        // would count towards the queue's delivery limit and dead-letter healthy jobs during an outage.
        let mut backoff = Duration::from_millis(500);
        let record = loop {
            match self.store.claim(&message, worker_id, self.settings.lease).await {
                Ok(Claim::Granted(record)) => break record,
                Ok(Claim::Stale { reason }) => {
                    tracing::info!(job_id = %message.job_id, %reason, "message dropped");
                    delivery.ack().await;
                    return;
                }
                Err(error) if hand_back.is_cancelled() => {
                    tracing::warn!(job_id = %message.job_id, %error, "could not claim while stopping; message handed back");
                    delivery.requeue().await;
                    return;
                }
                Err(error) => {
                    tracing::warn!(job_id = %message.job_id, %error, retry_in_ms = backoff.as_millis() as u64, "could not claim; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        };
        let span = tracing::info_span!("job", job_id = %record.id, attempt = record.attempt);
        self.run_claimed(*record, delivery, hand_back).instrument(span).await;
    }

    /// The claimed attempt: encode and publish under a renewed lease, record the outcome, acknowledge.
    async fn run_claimed(&self, record: lms_pipeline::JobRecord, delivery: Delivery, hand_back: CancellationToken) {
        let attempt = record.attempt;
        tracing::info!(redelivered = delivery.redelivered, "attempt started");

        let cancel = CancelFlag::default();
        let progress = Arc::new(std::sync::atomic::AtomicU64::new(0f64.to_bits()));
        let renewer = RenewerGuard(Some(self.spawn_renewer(
            &record.id,
            attempt,
            cancel.clone(),
            progress.clone(),
            hand_back.clone(),
        )));
        let result = attempt::run(self, &record, &cancel, &progress).await;
        let fenced = renewer.stop().await;
        let prefix = attempt::ladder_prefix(&record);
        let outcome = match result {
            _ if fenced => Outcome::Fenced,
            Ok(summary) => self.record_published(&record.id, attempt, &prefix, summary.as_deref()).await,
            Err(_) if hand_back.is_cancelled() => Outcome::HandBack,
            Err(failure) => Outcome::Failed(failure),
        };
        self.settle(&record.id, attempt, outcome, &prefix).await;
        delivery.ack().await;
    }

    /// Points the job at the ladder. When the answer is lost (the database failed after committing, perhaps),
    /// the job is read again: if it points at this prefix, the ladder is published and must not be removed.
    async fn record_published(&self, job_id: &str, attempt: u32, prefix: &str, summary: Option<&str>) -> Outcome {
        match self.store.mark_published(job_id, attempt, &self.settings.worker_id, prefix, summary).await {
            Ok(true) => Outcome::Published,
            Ok(false) => Outcome::Fenced,
            Err(error) => match self.store.find(job_id).await {
                Ok(Some(record)) if record.ladder_prefix.as_deref() == Some(prefix) => Outcome::Published,
                Ok(Some(_)) => Outcome::Failed(Failure {
                    code: error.code().into(),
                    message: format!("recording the published ladder: {error}"),
                    retryable: true,
                }),
                // Unknown either way: keep the files rather than risk removing a published ladder.
                _ => Outcome::Uncertain,
            },
        }
    }

    async fn settle(&self, job_id: &str, attempt: u32, outcome: Outcome, prefix: &str) {
        let worker_id = &self.settings.worker_id;
        match outcome {
            Outcome::Published => {
                tracing::info!(prefix, "ladder published");
                self.metrics.attempt_ended("published");
            }
            Outcome::Fenced => {
                tracing::warn!("lost the lease; this attempt's output is discarded");
                self.metrics.attempt_ended("fenced");
                attempt::discard_prefix(&self.storage, prefix).await;
            }
            Outcome::Uncertain => {
                tracing::warn!(
                    prefix,
                    "could not tell whether the ladder was recorded; its files are kept and the lease decides"
                );
                self.metrics.attempt_ended("uncertain");
            }
            Outcome::HandBack => {
                attempt::discard_prefix(&self.storage, prefix).await;
                match self.store.release(job_id, attempt, worker_id).await {
                    Ok(_) => tracing::info!("job handed back for another worker"),
                    Err(error) => tracing::warn!(%error, "could not hand the job back; its lease will run out"),
                }
                self.metrics.attempt_ended("released");
            }
            Outcome::Failed(failure) => {
                attempt::discard_prefix(&self.storage, prefix).await;
                match self.store.fail(job_id, attempt, worker_id, &failure).await {
                    Ok(FailureOutcome::Retrying { at_ms }) => {
                        tracing::warn!(code = %failure.code, reason = %failure.message, retry_at_ms = at_ms, "attempt failed; retrying");
                        self.metrics.retries.inc();
                        self.metrics.attempt_ended("retrying");
                    }
                    Ok(FailureOutcome::Final(state)) => {
                        tracing::error!(code = %failure.code, reason = %failure.message, state = state.as_str(), "job failed for good");
                        self.metrics.attempt_ended(state.as_str());
                    }
                    Ok(FailureOutcome::Fenced) => self.metrics.attempt_ended("fenced"),
                    Err(error) => tracing::warn!(%error, "could not record the failure; the lease will run out"),
                }
            }
        }
    }

    /// Renews the lease every third of its length until aborted; cancels the encode when the lease is lost
    /// or the job must be handed back.
    fn spawn_renewer(
        &self,
        job_id: &str,
        attempt: u32,
        cancel: CancelFlag,
        progress: Arc<std::sync::atomic::AtomicU64>,
        hand_back: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let job_id = job_id.to_owned();
        let worker_id = self.settings.worker_id.clone();
        let lease = self.settings.lease;
        tokio::spawn(async move {
            let period = lease / 3;
            loop {
                tokio::select! {
                    // Handing back stops the encode, but the lease is still renewed until the attempt is
                    // released: a fetch or upload finishing meanwhile must not let it lapse and count.
                    () = hand_back.cancelled(), if !cancel.is_cancelled() => {
                        cancel.cancel();
                        continue;
                    }
                    () = tokio::time::sleep(period) => {}
                }
                let done = f64::from_bits(progress.load(std::sync::atomic::Ordering::Relaxed));
                match store.renew(&job_id, attempt, &worker_id, lease, done).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // The only way the renewer ends by itself.
                        cancel.cancel();
                        return;
                    }
                    Err(error) => tracing::warn!(%error, "could not renew the lease; trying again"),
                }
            }
        })
    }
}

/// Stops the lease renewer when the attempt ends, however it ends (even by a panic).
struct RenewerGuard(Option<tokio::task::JoinHandle<()>>);

impl RenewerGuard {
    /// Stops renewing; tells whether the renewer had found the lease lost (it ends by itself only then).
    async fn stop(mut self) -> bool {
        let Some(handle) = self.0.take() else { return false };
        handle.abort();
        handle.await.is_ok()
    }
}

impl Drop for RenewerGuard {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// After the grace period, how long handing the jobs back may take.
const HAND_BACK_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum Outcome {
    Published,
    Fenced,
    /// The store did not answer whether the job points at this attempt's ladder.
    Uncertain,
    HandBack,
    Failed(Failure),
}
