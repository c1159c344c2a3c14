//! Counters the worker and the API share, in Prometheus' text format (prometheus-client).
//!
//! Gauges that describe the system rather than this process (jobs by state, queue depth) are set from the
//! job store and the queue at scrape time by whoever serves `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A job state, as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// `queued`, `running`, `published`, `dead`, `rejected`.
    pub state: String,
}

/// An outcome of an attempt, as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `published`, `retrying`, `dead`, `rejected`, `fenced`, `released`.
    pub outcome: String,
}

/// What a clean-up sweep removed, as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SweptLabel {
    /// `spool` (half-received uploads), `source` (uploaded files no job owns), `work` (encode folders of
    /// attempts that ended), `upload` (unfinished multipart uploads and temporary files in storage).
    pub kind: String,
}

/// The metrics of one process.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Jobs in each state (set at scrape time).
    pub jobs: Family<StateLabel, Gauge>,
    /// Messages waiting on the queue (set at scrape time).
    pub queue_depth: Gauge,
    /// Messages in the dead-letter queue (set at scrape time).
    pub dead_letters: Gauge,
    /// Messages waiting in the outbox (set at scrape time).
    pub outbox_depth: Gauge,
    /// Wall time of each encode.
    pub encode_seconds: Histogram,
    /// Bytes uploaded to storage: sources by the API, ladders by workers.
    pub upload_bytes: Counter,
    /// Attempts ended, by outcome.
    pub attempts: Family<OutcomeLabel, Counter>,
    /// Attempts that failed and were scheduled again.
    pub retries: Counter,
    /// What clean-up sweeps removed, by kind.
    pub swept: Family<SweptLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The metrics of the API process: its own counters and the system-wide gauges.
    pub fn new() -> Self {
        Self::build(true)
    }

    /// The metrics of a worker process: its own counters only, so that summing the fleet's scrapes does not
    /// multiply the system-wide gauges.
    pub fn for_worker() -> Self {
        Self::build(false)
    }

    fn build(system_gauges: bool) -> Self {
        let mut registry = Registry::with_prefix("lms_media");
        let jobs = Family::<StateLabel, Gauge>::default();
        let queue_depth = Gauge::default();
        let dead_letters = Gauge::default();
        let outbox_depth = Gauge::default();
        if system_gauges {
            registry.register("jobs", "Jobs in each state", jobs.clone());
            registry.register("queue_depth", "Job messages waiting on the queue", queue_depth.clone());
            registry.register("dead_letters", "Job messages in the dead-letter queue", dead_letters.clone());
            registry.register("outbox_depth", "Job messages waiting in the outbox", outbox_depth.clone());
        }
        let encode_seconds = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        registry.register(
            "encode_seconds",
            "Wall time of each encode (the child process, not fetch or upload)",
            encode_seconds.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register("upload_bytes", "Bytes written to object storage", upload_bytes.clone());
        let attempts = Family::<OutcomeLabel, Counter>::default();
        registry.register("attempts", "Attempts ended, by outcome", attempts.clone());
        let retries = Counter::default();
        registry.register("retries", "Failed attempts scheduled again", retries.clone());
        let swept = Family::<SweptLabel, Counter>::default();
        registry.register("swept", "Leftovers of crashes removed by clean-up sweeps, by kind", swept.clone());
        Self {
            registry: Arc::new(registry),
            jobs,
            queue_depth,
            dead_letters,
            outbox_depth,
            encode_seconds,
            upload_bytes,
            attempts,
            retries,
            swept,
        }
    }

    /// Counts `count` leftovers of `kind` removed by a sweep.
    pub fn swept(&self, kind: &str, count: usize) {
        self.swept.get_or_create(&SweptLabel { kind: kind.to_owned() }).inc_by(count as u64);
    }

    /// Counts an attempt's outcome.
    pub fn attempt_ended(&self, outcome: &str) {
        self.attempts.get_or_create(&OutcomeLabel { outcome: outcome.to_owned() }).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
