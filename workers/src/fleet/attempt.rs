//! One attempt of one job: fetch the source, encode, publish.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lms_pipeline::JobRecord;
use lms_pipeline::jobs::Failure;
use lms_pipeline::storage::{Storage, StorageKey};

use super::{Worker, publish};
use crate::engine::CancelFlag;
use crate::transcode::SubtitleInput;

/// What one encode works on: local files only.
#[derive(Debug, Clone)]
pub struct EncodeJob {
    /// The fetched source.
    pub input: PathBuf,
    /// The ladder folder to create.
    pub output: PathBuf,
    /// The fetched subtitle files.
    pub subtitles: Vec<SubtitleInput>,
}

/// Runs one encode, blocking. The binary runs it in a child process with a time limit, so a crash or a hang
/// fails the attempt, not the worker.
pub trait LadderEncoder: Send + Sync + 'static {
    /// Encodes `job`, reporting the fraction done; stops when `cancel` is set. A refused source is a
    /// failure that is not retryable.
    fn encode(&self, job: &EncodeJob, cancel: &CancelFlag, progress: &mut dyn FnMut(f64)) -> Result<(), Failure>;
}

/// The storage prefix of the record's current attempt.
pub(super) fn ladder_prefix(record: &JobRecord) -> String {
    StorageKey::ladder_attempt(&record.tenant_id, &record.id, record.attempt)
        .map(|key| key.path())
        .unwrap_or_else(|_| format!("ladders/{}/{}/{}", record.tenant_id, record.id, record.attempt))
}

/// Removes what an attempt uploaded; a failure only leaves garbage under a prefix nothing points at.
pub(super) async fn discard_prefix(storage: &Storage, prefix: &str) {
    let Ok(key) = StorageKey::from_path(prefix) else { return };
    if let Err(error) = storage.delete_prefix(&key).await {
        tracing::warn!(%error, prefix, "could not remove an abandoned attempt's files");
    }
}

fn retryable(code: &str, message: String) -> Failure {
    Failure { code: code.into(), message, retryable: true }
}

/// A folder of the attempt's own, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn fetch(storage: &Storage, stored: &str, local: &Path) -> Result<(), Failure> {
    let key = StorageKey::from_path(stored).map_err(|error| Failure {
        code: "invalid-job".into(),
        message: error.to_string(),
        retryable: false,
    })?;
    // Streamed to disk: a lecture can be gigabytes.
    match storage.get_to_file(&key, local).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure {
            code: "source-missing".into(),
            message: format!("{stored} is not in storage"),
            retryable: false,
        }),
        Err(error) => Err(retryable("fetch-failed", format!("fetching {stored}: {error}"))),
    }
}

fn file_name_of(stored: &str) -> &str {
    stored.rsplit('/').next().unwrap_or("source")
}

/// Fetches, encodes and publishes the record's attempt. The ladder is complete under its prefix when this
/// returns `Ok`; the caller then points the job at it.
pub(super) async fn run(
    worker: &Worker,
    record: &JobRecord,
    cancel: &CancelFlag,
    progress: &Arc<AtomicU64>,
) -> Result<Option<String>, Failure> {
    let scratch_path =
        worker.settings.work_dir.join(format!("{}-{}-{}", record.id, record.attempt, uuid::Uuid::new_v4().simple()));
    tokio::fs::create_dir_all(&scratch_path)
        .await
        .map_err(|error| retryable("work-dir-failed", format!("creating {}: {error}", scratch_path.display())))?;
    let scratch = Scratch(scratch_path);

    let input = scratch.0.join(file_name_of(&record.source_key));
    fetch(&worker.storage, &record.source_key, &input).await?;
    let mut subtitles = Vec::new();
    for subtitle in &record.subtitles {
        let local = scratch.0.join(format!("sub-{}", file_name_of(&subtitle.source)));
        fetch(&worker.storage, &subtitle.source, &local).await?;
        subtitles.push(SubtitleInput { language: subtitle.language.clone(), path: local });
    }

    let job = EncodeJob { input, output: scratch.0.join("ladder"), subtitles };
    let encoder = worker.encoder.clone();
    let encode_cancel = cancel.clone();
    let encode_progress = progress.clone();
    let encode_job = job.clone();
    let encode_started = std::time::Instant::now();
    let encoded = tokio::task::spawn_blocking(move || {
        encoder.encode(&encode_job, &encode_cancel, &mut |done| {
            encode_progress.store(done.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
        })
    })
    .await
    .map_err(|error| retryable("encode-crashed", format!("the encode task ended abnormally: {error}")))?;
    worker.metrics.encode_seconds.observe(encode_started.elapsed().as_secs_f64());
    encoded?;
    if cancel.is_cancelled() {
        return Err(retryable("cancelled", "the attempt was stopped".into()));
    }

    // What the ladder offers, for the catalog: read back from the playlists that will be published. The
    // ladder was validated already, so a summary that does not read only leaves the catalog without it.
    let summary = match lms_packager::playlist::summarize(&job.output) {
        Ok(summary) => serde_json::to_string(&summary).ok(),
        Err(error) => {
            tracing::warn!(error = %error, "the ladder's summary could not be read; published without one");
            None
        }
    };
    let key_for = |relative: &str| StorageKey::ladder_file(&record.tenant_id, &record.id, record.attempt, relative);
    let files = publish::ladder_files(&job.output)
        .map_err(|error| retryable("publish-failed", format!("listing the ladder: {error}")))?;
    tracing::info!(files = files.body.len() + files.master.len(), "uploading the ladder");
    let uploads = publish::Uploads {
        storage: &worker.storage,
        root: &job.output,
        metrics: &worker.metrics,
        pause: worker.settings.upload_pause,
    };
    uploads.upload(&files.body, &key_for).await?;
    // The master goes last, and only while the attempt is still ours: a fenced worker must not make a
    // complete-looking ladder under its prefix.
    let still_ours = worker
        .store
        .renew(&record.id, record.attempt, &worker.settings.worker_id, worker.settings.lease, 1.0)
        .await
        .map_err(|error| retryable(error.code(), error.to_string()))?;
    if !still_ours || cancel.is_cancelled() {
        return Err(retryable("fenced", "the lease was lost before the master playlist".into()));
    }
    uploads.upload(&files.master, &key_for).await?;
    Ok(summary)
}
