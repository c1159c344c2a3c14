//! Temporary files beside their targets: a file is written in full under a hidden name and then renamed into
//! place, so a reader never sees half of it. The local backend writes its objects this way and both backends
//! download to a file this way.
//!
//! A temporary file removes itself when it is dropped unpersisted (an error, a cancelled task). A crash
//! leaves at worst a stray `.{name}.tmp-{pid}-{n}`, which `Storage::abort_abandoned_uploads` sweeps from a
//! local root by that naming.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::PipelineError;

/// Numbers the temporary files of this process, so two writes to one target never share a name.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A file being written beside its target.
#[derive(Debug)]
pub(crate) struct TemporaryFile {
    path: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl TemporaryFile {
    /// Names a temporary file beside `target`, creating the target's folder when missing. The file itself is
    /// created by whoever writes it.
    pub(crate) async fn beside(target: &Path) -> Result<Self, PipelineError> {
        let Some(name) = target.file_name() else {
            let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the target names no file");
            return Err(PipelineError::Local { path: target.to_owned(), source });
        };
        let parent = target.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| PipelineError::Local { path: parent.to_owned(), source })?;
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let temporary = format!(".{}.tmp-{}-{number}", name.to_string_lossy(), std::process::id());
        Ok(Self { path: parent.join(temporary), target: target.to_owned(), persisted: false })
    }

    /// Where to write.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the finished file onto its target, replacing what was there.
    pub(crate) async fn persist(mut self) -> Result<(), PipelineError> {
        tokio::fs::rename(&self.path, &self.target)
            .await
            .map_err(|source| PipelineError::Local { path: self.target.clone(), source })?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Nothing to report: the file may never have been created, and a leftover is swept later.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether a file name is one a [`TemporaryFile`] gets.
pub(crate) fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unpersisted_file_is_removed_and_a_persisted_one_replaces_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/object.bin");

        let dropped = TemporaryFile::beside(&target).await.unwrap();
        assert!(is_temporary(&dropped.path().file_name().unwrap().to_string_lossy()));
        std::fs::write(dropped.path(), b"half").unwrap();
        let dropped_path = dropped.path().to_owned();
        drop(dropped);
        assert!(!dropped_path.exists());

        let kept = TemporaryFile::beside(&target).await.unwrap();
        std::fs::write(kept.path(), b"whole").unwrap();
        kept.persist().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_are_recognised() {
        assert!(is_temporary(".seg_00000.m4s.tmp-42-7"));
        assert!(!is_temporary("seg_00000.m4s"));
        assert!(!is_temporary(".hidden"));
    }
}
