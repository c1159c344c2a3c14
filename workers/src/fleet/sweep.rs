//! Encode folders that crashed workers leave behind. An attempt works in `work/{job}-{attempt}-{random}` (a
//! full copy of the source and the ladder being built) and removes it when it ends; a worker killed with
//! `kill -9` cannot. The sweep removes every such folder whose attempt is no longer the job's running one,
//! at start and then periodically; a folder of a live attempt (on this worker or another sharing the
//! folder) is never touched.

use std::path::Path;
use std::time::{Duration, SystemTime};

use lms_pipeline::jobs::JobStore;
use lms_pipeline::{JobState, PipelineError};

/// The job and attempt a work folder's name says it belongs to (`{job}-{attempt}-{32 hex digits}`).
pub(crate) fn owner_of(name: &str) -> Option<(&str, u32)> {
    let mut parts = name.rsplitn(3, '-');
    let random = parts.next()?;
    let attempt = parts.next()?.parse().ok()?;
    let job = parts.next()?;
    (random.len() == 32 && random.bytes().all(|byte| byte.is_ascii_hexdigit()) && !job.is_empty())
        .then_some((job, attempt))
}

/// Removes the work folders in `dir` whose attempt is not running and that were last changed at least
/// `older_than` ago (an attempt that just ended removes its own). Returns how many were removed.
pub async fn sweep_work_dir(store: &JobStore, dir: &Path, older_than: Duration) -> Result<usize, PipelineError> {
    let cutoff = SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH);
    let local = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PipelineError::Local { path, source }
    };
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(PipelineError::Local { path: dir.to_path_buf(), source }),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await.map_err(local(dir))? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((job, attempt)) = owner_of(&name) else { continue };
        let path = entry.path();
        let changed = entry.metadata().await.and_then(|metadata| metadata.modified()).unwrap_or(SystemTime::now());
        if changed > cutoff {
            continue;
        }
        let live =
            store.find(job).await?.is_some_and(|record| record.state == JobState::Running && record.attempt == attempt);
        if live {
            continue;
        }
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => {
                tracing::info!(folder = %path.display(), "work folder of an attempt that ended removed");
                removed += 1;
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(PipelineError::Local { path, source }),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::owner_of;

    #[test]
    fn work_folder_names_give_their_job_and_attempt() {
        let job = "0b6f2e5c-3d1a-4c8e-9f7a-2b4d6e8f0a1c";
        let name = format!("{job}-2-{}", "ab".repeat(16));
        assert_eq!(owner_of(&name), Some((job, 2)));
        assert_eq!(owner_of("lost+found"), None);
        assert_eq!(owner_of(&format!("{job}-x-{}", "ab".repeat(16))), None);
        assert_eq!(owner_of(&format!("-2-{}", "ab".repeat(16))), None);
    }
}
