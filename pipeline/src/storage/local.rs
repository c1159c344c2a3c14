//! Object storage in a local folder: the embedded default, for laptops, demos and tests.
//!
//! Keys map to files under the root. A write goes to a temporary file beside its target and is renamed
//! into place, so a reader never sees half an object and a crash leaves at worst a stray temporary file.
//! The headers of an object are not stored: they follow from its name (see [`super::ObjectMeta`]) when the
//! folder is served.

use std::path::{Path, PathBuf};

use crate::PipelineError;
use crate::storage::StorageKey;

/// A folder that holds objects.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Storage rooted at `root` (created when missing).
    pub fn new(root: &Path) -> Result<Self, PipelineError> {
        std::fs::create_dir_all(root).map_err(|source| PipelineError::Local { path: root.to_owned(), source })?;
        Ok(Self { root: root.to_owned() })
    }

    fn file(&self, key: &StorageKey) -> PathBuf {
        self.root.join(key.path())
    }

    pub(crate) async fn put_bytes(&self, key: &StorageKey, bytes: Vec<u8>) -> Result<(), PipelineError> {
        let target = self.file(key);
        let parent = target.parent().unwrap_or(&self.root).to_owned();
        let local = |path: &Path| {
            let path = path.to_owned();
            move |source| PipelineError::Local { path, source }
        };
        tokio::fs::create_dir_all(&parent).await.map_err(local(&parent))?;
        let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        tokio::fs::write(&temporary, bytes).await.map_err(local(&temporary))?;
        tokio::fs::rename(&temporary, &target).await.map_err(local(&target))
    }

    pub(crate) async fn put_file(&self, key: &StorageKey, file: &Path) -> Result<(), PipelineError> {
        let bytes =
            tokio::fs::read(file).await.map_err(|source| PipelineError::Local { path: file.to_owned(), source })?;
        self.put_bytes(key, bytes).await
    }

    pub(crate) async fn get_bytes(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, PipelineError> {
        let path = self.file(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PipelineError::Local { path, source }),
        }
    }

    pub(crate) async fn list(&self, prefix: &StorageKey) -> Result<Vec<String>, PipelineError> {
        let base = self.file(prefix);
        let mut found = Vec::new();
        let mut folders = vec![base.clone()];
        while let Some(folder) = folders.pop() {
            let mut entries = match tokio::fs::read_dir(&folder).await {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(PipelineError::Local { path: folder, source }),
            };
            while let Some(entry) =
                entries.next_entry().await.map_err(|source| PipelineError::Local { path: folder.clone(), source })?
            {
                let path = entry.path();
                let kind =
                    entry.file_type().await.map_err(|source| PipelineError::Local { path: path.clone(), source })?;
                if kind.is_dir() {
                    folders.push(path);
                } else if !entry.file_name().to_string_lossy().starts_with('.') {
                    if let Ok(relative) = path.strip_prefix(&base) {
                        found.push(relative.to_string_lossy().into_owned());
                    }
                }
            }
        }
        found.sort();
        Ok(found)
    }

    pub(crate) async fn delete_prefix(&self, prefix: &StorageKey) -> Result<(), PipelineError> {
        let base = self.file(prefix);
        match tokio::fs::remove_dir_all(&base).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PipelineError::Local { path: base, source }),
        }
    }
}
