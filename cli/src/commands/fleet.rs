//! What `serve` and `worker` share: where the jobs, the files and the messages live, from flags and the
//! environment, and the encoder the workers run (an isolated child per encode).
//!
//! With nothing configured everything is embedded under the data folder: SQLite, a local storage folder and
//! the in-process queue. `DATABASE_URL=postgres://…` moves jobs to PostgreSQL, `LMS_MEDIA_AMQP_URL` messages to
//! RabbitMQ, and `LMS_MEDIA_S3_BUCKET` (with `LMS_MEDIA_S3_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`) files to S3.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lms_pipeline::jobs::{Failure, RetryPolicy};
use lms_pipeline::metrics::Metrics;
use lms_pipeline::queue::{MemoryQueue, RabbitQueue, RabbitSettings};
use lms_pipeline::storage::{Storage, StorageConfig};
use lms_pipeline::{JobStore, Queue};
use lms_workers::engine::CancelFlag;
use lms_workers::fleet::{EncodeJob, LadderEncoder, Worker, WorkerSettings};
use tokio_util::sync::CancellationToken;

use crate::isolated::{ChildResult, run_isolated};

/// Where the database is: flags common to `serve`, `worker` and the operators' commands.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Folder for the embedded database, storage and scratch space.
    #[arg(long, env = "LMS_MEDIA_DATA", default_value = "lms-media-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) for jobs and the LMS; SQLite in the data folder
    /// when unset.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The database URL: the one given, or SQLite in the data folder (created if missing).
    pub fn url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating the data folder {}", self.data_dir.display()))?;
                Ok(format!("sqlite://{}?mode=rwc", self.data_dir.join("jobs.db").display()))
            }
        }
    }

    /// Connects, applying the migrations that are missing.
    pub async fn connect(&self) -> anyhow::Result<lms_db::Db> {
        lms_db::Db::connect(&self.url()?).await.context("opening the database")
    }
}

/// Flags common to `serve` and `worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// RabbitMQ (`amqp://user:pass@host:5672/%2f?heartbeat=10`); the in-process queue when unset.
    #[arg(long, env = "LMS_MEDIA_AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<String>,
    /// The RabbitMQ queue name.
    #[arg(long, env = "LMS_MEDIA_AMQP_QUEUE", default_value = "lms.transcode")]
    pub amqp_queue: String,
    /// S3 bucket for sources and ladders; the data folder when unset.
    #[arg(long, env = "LMS_MEDIA_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint for S3-compatible servers (`http://127.0.0.1:3900`); AWS when unset.
    #[arg(long, env = "LMS_MEDIA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Attempts before a job is dead.
    #[arg(long, env = "LMS_MEDIA_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// Wait before the second attempt, doubled for each later one (seconds).
    #[arg(long, env = "LMS_MEDIA_RETRY_BACKOFF", default_value_t = 10.0)]
    pub retry_backoff_seconds: f64,
    /// A worker's claim on a job lasts this long without renewal (seconds); renewed every third of it.
    #[arg(long, env = "LMS_MEDIA_LEASE", default_value_t = 60.0)]
    pub lease_seconds: f64,
    /// On shutdown, how long jobs in hand may take to finish before they are handed back (seconds).
    #[arg(long, default_value_t = 30.0)]
    pub shutdown_grace_seconds: f64,
}

/// The parts a server or worker is built from.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub store: JobStore,
    pub storage: Storage,
    pub queue: Queue,
    pub metrics: Metrics,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl FleetArgs {
    pub async fn connect(&self) -> anyhow::Result<Fleet> {
        std::fs::create_dir_all(self.data_dir())
            .with_context(|| format!("creating the data folder {}", self.data_dir().display()))?;
        let policy = RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            first_backoff: Duration::from_secs_f64(self.retry_backoff_seconds.max(0.0)),
            max_backoff: Duration::from_secs(600).max(Duration::from_secs_f64(self.retry_backoff_seconds.max(0.0))),
        };
        let store = JobStore::new(self.database.connect().await?, policy);
        let storage_config = match &self.s3_bucket {
            Some(bucket) => StorageConfig::S3 {
                endpoint: self.s3_endpoint.clone(),
                region: env("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
                bucket: bucket.clone(),
                access_key_id: env("AWS_ACCESS_KEY_ID").context("S3 storage needs AWS_ACCESS_KEY_ID")?,
                secret_access_key: env("AWS_SECRET_ACCESS_KEY").context("S3 storage needs AWS_SECRET_ACCESS_KEY")?,
            },
            None => StorageConfig::Local { root: self.data_dir().join("storage") },
        };
        let storage = storage_config.build().context("setting up storage")?;
        let queue = match &self.amqp_url {
            Some(url) => {
                let settings = RabbitSettings { queue: self.amqp_queue.clone(), ..RabbitSettings::new(url) };
                Queue::Rabbit(RabbitQueue::connect(settings).await.context("connecting to RabbitMQ")?)
            }
            None => Queue::Memory(MemoryQueue::new()),
        };
        Ok(Fleet { store, storage, queue, metrics: Metrics::new() })
    }

    /// The data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.database.data_dir
    }

    pub fn is_embedded_storage(&self) -> bool {
        self.s3_bucket.is_none()
    }

    pub fn worker(&self, fleet: &Fleet, concurrency: usize) -> Worker {
        let mut settings = WorkerSettings::new(self.data_dir().join("work"));
        settings.concurrency = concurrency;
        settings.lease = Duration::from_secs_f64(self.lease_seconds.max(0.3));
        settings.shutdown_grace = Duration::from_secs_f64(self.shutdown_grace_seconds.max(0.0));
        // Fault injection for the reliability tests: slow uploads down to kill a worker in the middle of one.
        if let Some(pause) = env("LMS_MEDIA_FAULT_UPLOAD_PAUSE_MS").and_then(|value| value.parse::<u64>().ok()) {
            settings.upload_pause = Duration::from_millis(pause);
        }
        Worker {
            store: fleet.store.clone(),
            storage: fleet.storage.clone(),
            queue: fleet.queue.clone(),
            encoder: Arc::new(ChildEncoder),
            metrics: fleet.metrics.clone(),
            settings,
        }
    }
}

/// Encodes in a child `lms-media transcode` with the default time limit.
#[derive(Debug)]
struct ChildEncoder;

impl LadderEncoder for ChildEncoder {
    fn encode(&self, job: &EncodeJob, cancel: &CancelFlag, progress: &mut dyn FnMut(f64)) -> Result<(), Failure> {
        let mut args: Vec<std::ffi::OsString> = vec![job.input.clone().into(), "-o".into(), job.output.clone().into()];
        for subtitle in &job.subtitles {
            let mut pair = std::ffi::OsString::from(format!("{}=", subtitle.language));
            pair.push(&subtitle.path);
            args.push("--subs".into());
            args.push(pair);
        }
        let result = run_isolated(&job.output, args, None, Some(cancel.clone()), &mut |event| {
            if event["event"] == "progress" {
                if let (Some(done), Some(total)) = (event["encoded_seconds"].as_f64(), event["total_seconds"].as_f64())
                {
                    if total > 0.0 {
                        progress(done / total);
                    }
                }
            }
        });
        match result {
            Ok(ChildResult::Finished(_)) => Ok(()),
            Ok(ChildResult::Failed { code, message, rejection }) => Err(Failure {
                code: if rejection { "input-rejected".into() } else { code },
                message,
                retryable: !rejection,
            }),
            Err(error) => Err(Failure { code: "encode-failed".into(), message: format!("{error:#}"), retryable: true }),
        }
    }
}

/// The operations listener a worker's `--listen` and serve's `--ops-listen` start: `/metrics`, `/healthz` and
/// `/readyz` with no token, on a private address. Returns the task serving it and the bound address.
pub async fn spawn_operations(
    address: std::net::SocketAddr,
    fleet: &Fleet,
    shutdown: &CancellationToken,
) -> anyhow::Result<(tokio::task::JoinHandle<std::io::Result<()>>, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr().context("reading the address")?;
    let ops = lms_api::Ops {
        store: fleet.store.clone(),
        queue: fleet.queue.clone(),
        metrics: fleet.metrics.clone(),
        token: None,
    };
    let router = lms_api::operations_router(ops);
    let limits = lms_api::ServerLimits::default();
    Ok((tokio::spawn(lms_api::serve(listener, router, shutdown.clone(), Duration::from_secs(1), limits)), bound))
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutdown requested");
        fire.cancel();
    });
    token
}

/// Logs to standard error: readable on a terminal, JSON lines when `LMS_MEDIA_LOG_FORMAT=json`. `RUST_LOG`
/// filters (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,aws=warn,lapin=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if env("LMS_MEDIA_LOG_FORMAT").as_deref() == Some("json") {
        builder.json().with_current_span(true).with_span_list(true).init();
    } else {
        builder.init();
    }
}

/// A tokio runtime for the long-running commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}
