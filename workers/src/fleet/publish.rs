//! Uploading a ladder folder: every file but the master first, a few at a time, then the master alone.
//!
//! A player finds a ladder through its master playlist, so publishing it last means no player ever sees a
//! playlist that names a file not yet uploaded.

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt;
use lms_pipeline::PipelineError;
use lms_pipeline::jobs::Failure;
use lms_pipeline::metrics::Metrics;
use lms_pipeline::storage::{ObjectMeta, Storage, StorageKey};

/// Uploads at once: S3 latency, not bandwidth, bounds a ladder of many small segments.
const PARALLEL_UPLOADS: usize = 8;

/// The files of a ladder folder, relative to it, split by when they go up.
#[derive(Debug, Default)]
pub(super) struct LadderFiles {
    /// Segments, init segments, media and I-frame playlists, subtitles.
    pub body: Vec<String>,
    /// `master.m3u8`.
    pub master: Vec<String>,
}

pub(super) fn ladder_files(root: &Path) -> std::io::Result<LadderFiles> {
    let mut files = LadderFiles::default();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                folders.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                let relative = relative.to_string_lossy().into_owned();
                if relative == "master.m3u8" { files.master.push(relative) } else { files.body.push(relative) }
            }
        }
    }
    files.body.sort();
    Ok(files)
}

/// Where a ladder's files go, and how.
pub(super) struct Uploads<'a> {
    pub storage: &'a Storage,
    /// The ladder folder.
    pub root: &'a Path,
    pub metrics: &'a Metrics,
    /// Waited before each file (fault tests only).
    pub pause: Duration,
}

impl Uploads<'_> {
    /// Uploads `files` (relative to the root), a few at a time, each under `key_for(file)`.
    pub(super) async fn upload(
        &self,
        files: &[String],
        key_for: &(dyn Fn(&str) -> Result<StorageKey, PipelineError> + Sync),
    ) -> Result<(), Failure> {
        futures_util::stream::iter(files.iter().map(Ok::<_, Failure>))
            .try_for_each_concurrent(PARALLEL_UPLOADS, |relative| async move {
                let failure = |error: &dyn std::fmt::Display| Failure {
                    code: "publish-failed".into(),
                    message: format!("uploading {relative}: {error}"),
                    retryable: true,
                };
                if !self.pause.is_zero() {
                    tokio::time::sleep(self.pause).await;
                }
                let key = key_for(relative).map_err(|error| failure(&error))?;
                let path = self.root.join(relative);
                let meta = ObjectMeta::for_ladder_file(relative);
                self.storage.put_file(&key, &path, &meta).await.map_err(|error| failure(&error))?;
                let size = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
                self.metrics.upload_bytes.inc_by(size);
                Ok(())
            })
            .await
    }
}
