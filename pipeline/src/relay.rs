//! The relay: moves the outbox onto the queue, and keeps jobs moving when workers vanish.
//!
//! Each pass publishes the due outbox messages (deleting each row only after the queue confirmed it, so a
//! crash in between publishes it again, never loses it), reaps attempts whose lease ran out, and republishes
//! queued jobs whose message was lost. Running several relays at once is safe: at worst a message is
//! published twice, and the claim turns that into one effect.

use std::time::Duration;

use crate::PipelineError;
use crate::jobs::JobStore;
use crate::queue::Queue;

/// How the relay paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelaySettings {
    /// Pause between passes.
    pub interval: Duration,
    /// A queued job untouched this long, with nothing in the outbox, is published again.
    pub stale_after: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self { interval: Duration::from_millis(500), stale_after: Duration::from_secs(3600) }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayPass {
    /// Outbox messages published and confirmed.
    pub published: usize,
    /// Attempts ended because their lease ran out.
    pub reaped: usize,
    /// Queued jobs whose message was published again.
    pub requeued: usize,
}

/// One pass: publish what is due, reap expired leases, requeue stale jobs.
pub async fn relay_once(store: &JobStore, queue: &Queue, settings: &RelaySettings) -> Result<RelayPass, PipelineError> {
    let mut pass = RelayPass::default();
    // Reaping and requeueing failing must not stop publishing: each part goes on without the others.
    match store.reap_expired_leases().await {
        Ok(reaped) => {
            for (job_id, outcome) in &reaped {
                tracing::warn!(%job_id, ?outcome, "lease ran out; attempt ended");
            }
            pass.reaped = reaped.len();
        }
        Err(error) => tracing::warn!(%error, "reaping expired leases failed"),
    }
    match store.requeue_stale(settings.stale_after).await {
        Ok(requeued) => pass.requeued = requeued,
        Err(error) => tracing::warn!(%error, "requeueing stale jobs failed"),
    }
    loop {
        let due = store.due_outbox(100).await?;
        if due.is_empty() {
            break;
        }
        for message in &due {
            queue.publish(&message.payload).await?;
            store.delete_outbox(&message.id).await?;
            tracing::debug!(job_id = %message.job_id, "job message published");
            pass.published += 1;
        }
    }
    Ok(pass)
}

/// Runs passes until `shutdown` fires. Failures are logged and the pass is tried again after the interval.
pub async fn run_relay(
    store: JobStore,
    queue: Queue,
    settings: RelaySettings,
    shutdown: tokio_util::sync::CancellationToken,
) {
    if !queue.is_durable() {
        // The in-process queue lost its messages with the previous process: publish every queued job again.
        match store.requeue_stale(Duration::ZERO).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "queued jobs published again after a restart"),
            Err(error) => tracing::error!(%error, "could not requeue jobs after a restart"),
        }
    }
    loop {
        // A pass stuck on the broker must not hold up shutdown: the outbox keeps whatever it had not sent.
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = relay_once(&store, &queue, &settings) => {
                if let Err(error) = result {
                    tracing::warn!(%error, "relay pass failed; trying again");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}
