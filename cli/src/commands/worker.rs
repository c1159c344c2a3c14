//! `lms-media worker`: consumes transcode jobs and publishes ladders, until SIGTERM.

use crate::Outcome;
use crate::commands::fleet::{FleetArgs, init_logging, runtime, shutdown_on_signals};

/// Arguments of `lms-media worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Jobs encoded at once (each encode already uses every core).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
}

/// Runs the worker until a signal stops it.
pub fn run(args: WorkerArgs) -> anyhow::Result<Outcome> {
    init_logging();
    runtime()?.block_on(async {
        let fleet = args.fleet.connect().await?;
        let worker = args.fleet.worker(&fleet, args.concurrency);
        worker.run(shutdown_on_signals()).await?;
        Ok(Outcome::Success)
    })
}
