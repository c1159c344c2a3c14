//! `lms-media worker`: consumes transcode jobs and publishes ladders, until SIGTERM.

use anyhow::Context;

use crate::Outcome;
use crate::commands::fleet::{FleetArgs, init_logging, runtime, shutdown_on_signals, spawn_operations};

/// Arguments of `lms-media worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Jobs encoded at once (each encode already uses every core).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Serve `/metrics`, `/healthz` and `/readyz` on this address (this worker's encode seconds, uploads and
    /// retries are counted here).
    #[arg(long, env = "LMS_MEDIA_WORKER_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
}

/// Runs the worker until a signal stops it.
pub fn run(args: WorkerArgs) -> anyhow::Result<Outcome> {
    init_logging();
    runtime()?.block_on(async {
        // A worker process on its own with the in-process queue would wait for messages nothing sends.
        anyhow::ensure!(
            args.fleet.amqp_url.is_some(),
            "a worker needs the queue the API publishes to: set LMS_MEDIA_AMQP_URL (or --amqp-url); \
             `lms-media serve` runs embedded workers without one"
        );
        let mut fleet = args.fleet.connect().await?;
        fleet.metrics = lms_pipeline::metrics::Metrics::for_worker();
        let shutdown = shutdown_on_signals();
        let operations = match args.listen {
            Some(address) => {
                let (task, bound) = spawn_operations(address, &fleet, &shutdown).await?;
                println!("listening on http://{bound}");
                Some(task)
            }
            None => None,
        };
        let worker = args.fleet.worker(&fleet, args.concurrency);
        worker.run(shutdown.clone()).await?;
        shutdown.cancel();
        if let Some(operations) = operations {
            operations.await.context("operations server task")?.context("operations server")?;
        }
        Ok(Outcome::Success)
    })
}
