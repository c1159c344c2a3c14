//! `lms-media serve`: the API, the outbox relay and (by default when embedded) workers, in one process.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use lms_api::{ApiConfig, AppState};
use lms_pipeline::maintenance::{MaintenanceSettings, run_maintenance};
use lms_pipeline::relay::{RelaySettings, run_relay};

use crate::Outcome;
use crate::commands::fleet::{FleetArgs, init_logging, runtime, shutdown_on_signals, spawn_operations};

/// Arguments of `lms-media serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Address to listen on.
    #[arg(long, env = "LMS_MEDIA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// In-process workers; by default one with the in-process queue and none with RabbitMQ (run
    /// `lms-media worker` processes instead).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Where learners' players fetch ladders from (a CDN); this server's `/media` with local storage.
    #[arg(long, env = "LMS_MEDIA_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// The bearer token `/metrics` asks for on the public listener; without it `/metrics` is served only on
    /// `--ops-listen`.
    #[arg(long, env = "LMS_MEDIA_OPS_TOKEN", hide_env_values = true)]
    pub ops_token: Option<String>,
    /// Serve `/metrics`, `/healthz` and `/readyz` on this address too, with no token (keep it private).
    #[arg(long, env = "LMS_MEDIA_OPS_LISTEN")]
    pub ops_listen: Option<SocketAddr>,
    /// Requests one token may make per minute, sustained (0: no limit); answered 429 beyond it.
    #[arg(long, env = "LMS_MEDIA_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,
    /// Requests one token may make at once after a quiet spell.
    #[arg(long, env = "LMS_MEDIA_RATE_LIMIT_BURST", default_value_t = 700)]
    pub rate_limit_burst: u32,
    /// The largest upload accepted, in MiB.
    #[arg(long, env = "LMS_MEDIA_MAX_UPLOAD_MB", default_value_t = 4096)]
    pub max_upload_mb: u64,
    /// Connections open at once (0: the descriptor limit less 128); beyond it the longest-idle one closes.
    #[arg(long, env = "LMS_MEDIA_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,
    /// Seconds a request's headers may take to arrive.
    #[arg(long, env = "LMS_MEDIA_HEADER_TIMEOUT_SECS", default_value_t = 15.0)]
    pub header_timeout_secs: f64,
    /// Seconds a connection may stay open with no request in progress.
    #[arg(long, env = "LMS_MEDIA_IDLE_TIMEOUT_SECS", default_value_t = 75.0)]
    pub idle_timeout_secs: f64,
    /// Hours a replaced lecture's old ladder stays playable (for players that loaded it) before it is removed.
    #[arg(long, env = "LMS_MEDIA_REPLACED_LADDER_GRACE_HOURS", default_value_t = 6.0)]
    pub replaced_ladder_grace_hours: f64,
    /// Seconds a request body (an upload) may go without a byte arriving before it fails.
    #[arg(long, env = "LMS_MEDIA_BODY_STALL_TIMEOUT_SECS", default_value_t = 60.0)]
    pub body_stall_timeout_secs: f64,
}

impl ServeArgs {
    /// The public listener's limits.
    fn server_limits(&self) -> anyhow::Result<lms_api::ServerLimits> {
        let seconds = |name: &str, value: f64| {
            Duration::try_from_secs_f64(value)
                .ok()
                .filter(|duration| !duration.is_zero())
                .with_context(|| format!("--{name} must be a positive number of seconds, not {value}"))
        };
        let defaults = lms_api::ServerLimits::default();
        Ok(lms_api::ServerLimits {
            max_connections: if self.max_connections == 0 { defaults.max_connections } else { self.max_connections },
            header_timeout: seconds("header-timeout-secs", self.header_timeout_secs)?,
            idle_timeout: seconds("idle-timeout-secs", self.idle_timeout_secs)?,
            body_stall_timeout: seconds("body-stall-timeout-secs", self.body_stall_timeout_secs)?,
        })
    }
}

/// Pause between sweeps of the spool.
const SPOOL_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Removes half-received uploads a crash left in the spool, at start and then every hour.
async fn sweep_spool_periodically(
    spool: std::path::PathBuf,
    older_than: Duration,
    metrics: lms_pipeline::metrics::Metrics,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match lms_api::sweep_spool(&spool, older_than).await {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(count, "half-received uploads removed from the spool");
                metrics.swept("spool", count);
            }
            Err(error) => tracing::warn!(%error, "sweep of the spool failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SPOOL_SWEEP_INTERVAL) => {}
        }
    }
}

/// Pause between sweeps of replaced ladders.
const LADDER_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Removes the old ladders of replaced lectures once their grace period is over, every ten minutes.
async fn retire_replaced_ladders_periodically(
    db: lms_db::Db,
    storage: lms_pipeline::storage::Storage,
    grace: Duration,
    metrics: lms_pipeline::metrics::Metrics,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match lms_api::catalog::media::retire_superseded_ladders(&db, &storage, grace).await {
            Ok(0) => {}
            Ok(count) => metrics.swept("ladder", count),
            Err(error) => tracing::warn!(%error, "sweep of replaced ladders failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(LADDER_SWEEP_INTERVAL) => {}
        }
    }
}

/// Serves until a signal stops it.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    init_logging();
    runtime()?.block_on(async {
        let limits = args.server_limits()?;
        let fleet = args.fleet.connect().await?;
        let shutdown = shutdown_on_signals();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr().context("reading the listening address")?;
        let embedded_storage = args.fleet.is_embedded_storage();
        let public_base_url = args
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}/media"))
            .trim_end_matches('/')
            .to_owned();
        let config = ApiConfig {
            max_upload_bytes: args.max_upload_mb.saturating_mul(1024 * 1024),
            spool_dir: args.fleet.data_dir().join("spool"),
            public_base_url,
            media_root: embedded_storage.then(|| args.fleet.data_dir().join("storage")),
            ops_token: args.ops_token.clone().filter(|token| !token.is_empty()),
            rate_limit: (args.rate_limit_per_minute > 0).then_some(lms_api::limits::RateLimit {
                per_minute: args.rate_limit_per_minute,
                burst: args.rate_limit_burst.max(1),
            }),
        };
        let operations = match args.ops_listen {
            Some(address) => Some(spawn_operations(address, &fleet, &shutdown).await?.0),
            None => None,
        };
        let state = AppState {
            db: fleet.store.db().clone(),
            store: fleet.store.clone(),
            storage: fleet.storage.clone(),
            queue: fleet.queue.clone(),
            metrics: fleet.metrics.clone(),
            config,
        };
        // Fault injection for the reliability tests: hold the relay back so a job is committed but not yet
        // published when the test kills this process.
        let relay_delay = std::env::var("LMS_MEDIA_FAULT_RELAY_DELAY_MS")
            .ok()
            .and_then(|value| value.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or_default();
        let relay = tokio::spawn({
            let (store, queue, shutdown) = (fleet.store.clone(), fleet.queue.clone(), shutdown.clone());
            async move {
                tokio::time::sleep(relay_delay).await;
                run_relay(store, queue, RelaySettings::default(), shutdown).await;
            }
        });
        let maintenance = tokio::spawn(run_maintenance(
            fleet.store.clone(),
            fleet.queue.clone(),
            fleet.storage.clone(),
            fleet.metrics.clone(),
            MaintenanceSettings::default(),
            shutdown.clone(),
        ));
        let spool_sweeper = tokio::spawn(sweep_spool_periodically(
            args.fleet.data_dir().join("spool"),
            // Twice the stall timeout: a live upload's spool file is written more often than that.
            limits.body_stall_timeout * 2,
            fleet.metrics.clone(),
            shutdown.clone(),
        ));
        let ladder_grace = Duration::try_from_secs_f64(args.replaced_ladder_grace_hours * 3600.0)
            .context("--replaced-ladder-grace-hours must be a number of hours from 0")?;
        let ladder_retirer = tokio::spawn(retire_replaced_ladders_periodically(
            fleet.store.db().clone(),
            fleet.storage.clone(),
            ladder_grace,
            fleet.metrics.clone(),
            shutdown.clone(),
        ));
        let workers = args.workers.unwrap_or(if fleet.queue.is_durable() { 0 } else { 1 });
        let worker = (workers > 0).then(|| {
            let worker = args.fleet.worker(&fleet, workers);
            tokio::spawn(worker.run(shutdown.clone()))
        });
        tracing::info!(%address, workers, max_connections = limits.max_connections, "serving");
        // The line scripts and tests wait for.
        println!("listening on http://{address}");
        let grace = Duration::from_secs_f64(args.fleet.shutdown_grace_seconds.max(0.0)) + Duration::from_secs(5);
        lms_api::serve(listener, lms_api::router(state), shutdown.clone(), grace, limits)
            .await
            .context("serving HTTP")?;
        if let Some(worker) = worker {
            worker.await.context("worker task")?.context("worker")?;
        }
        if let Some(operations) = operations {
            operations.await.context("operations listener task")?.context("operations listener")?;
        }
        spool_sweeper.abort();
        ladder_retirer.abort();
        relay.await.context("relay task")?;
        maintenance.await.context("maintenance task")?;
        Ok(Outcome::Success)
    })
}
