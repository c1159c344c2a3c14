//! Object storage in a local folder: the embedded default, for laptops, demos and tests.
//!
//! Keys map to files under the root. A write goes to a temporary file beside its target and is renamed
//! into place, so a reader never sees half an object and a crash leaves at worst a stray temporary file.
//! The headers of an object are not stored: they follow from its name (see [`super::ObjectMeta`]) when the
//! folder is served, and [`Storage::head`](super::Storage::head) reports those. There are no presigned uploads
//! here: a browser cannot write to a folder on the server.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::io::AsyncReadExt;

use crate::PipelineError;
use crate::storage::temp::{TemporaryFile, is_temporary};
use crate::storage::{ObjectHeaders, StorageKey};

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
        let temporary = TemporaryFile::beside(&self.file(key)).await?;
        tokio::fs::write(temporary.path(), bytes).await.map_err(local(temporary.path()))?;
        temporary.persist().await
    }

    /// Copies rather than reads: a source may be gigabytes.
    pub(crate) async fn put_file(&self, key: &StorageKey, file: &Path) -> Result<(), PipelineError> {
        let temporary = TemporaryFile::beside(&self.file(key)).await?;
        tokio::fs::copy(file, temporary.path()).await.map_err(local(file))?;
        temporary.persist().await
    }

    pub(crate) async fn copy(&self, from: &StorageKey, to: &StorageKey) -> Result<(), PipelineError> {
        self.put_file(to, &self.file(from)).await
    }

    pub(crate) async fn get_bytes(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, PipelineError> {
        let path = self.file(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PipelineError::Local { path, source }),
        }
    }

    pub(crate) async fn get_to_file(&self, key: &StorageKey, file: &Path) -> Result<bool, PipelineError> {
        let object = self.file(key);
        match tokio::fs::metadata(&object).await {
            Ok(metadata) if metadata.is_file() => {}
            // A folder is a prefix, not an object.
            Ok(_) => return Ok(false),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(PipelineError::Local { path: object, source }),
        }
        let temporary = TemporaryFile::beside(file).await?;
        match tokio::fs::copy(&object, temporary.path()).await {
            Ok(_) => temporary.persist().await.map(|()| true),
            // Deleted since: the temporary file's folder exists, so what is missing is the object.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(PipelineError::Local { path: object, source }),
        }
    }

    pub(crate) async fn head(&self, key: &StorageKey) -> Result<Option<ObjectHeaders>, PipelineError> {
        let path = self.file(key);
        let metadata = match tokio::fs::metadata(&path).await {
            Ok(metadata) if metadata.is_file() => metadata,
            // A folder is a prefix, not an object.
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PipelineError::Local { path, source }),
        };
        let meta = key.served_as();
        Ok(Some(ObjectHeaders {
            content_type: meta.map(|meta| meta.content_type.to_owned()),
            cache_control: meta.map(|meta| meta.cache_control.to_owned()),
            size: Some(metadata.len()),
        }))
    }

    pub(crate) async fn read_prefix(
        &self,
        key: &StorageKey,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>, PipelineError> {
        let path = self.file(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PipelineError::Local { path, source }),
        };
        if file.metadata().await.map_err(local(&path))?.is_dir() {
            return Ok(None);
        }
        let mut prefix = Vec::with_capacity(max_bytes.min(64 * 1024));
        let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX);
        file.take(limit).read_to_end(&mut prefix).await.map_err(local(&path))?;
        Ok(Some(prefix))
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

    pub(crate) async fn delete(&self, key: &StorageKey) -> Result<(), PipelineError> {
        let path = self.file(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PipelineError::Local { path, source }),
        }
    }

    /// Every `sources/{tenant}/{job}` folder with the time of its newest file.
    pub(crate) async fn source_folders(&self) -> Result<Vec<((String, String), SystemTime)>, PipelineError> {
        let sources = self.root.join("sources");
        let mut found = Vec::new();
        for tenant in read_dir_names(&sources).await? {
            for job in read_dir_names(&sources.join(&tenant)).await? {
                let folder = sources.join(&tenant).join(&job);
                let mut newest = SystemTime::UNIX_EPOCH;
                let mut entries = match tokio::fs::read_dir(&folder).await {
                    Ok(entries) => entries,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(PipelineError::Local { path: folder, source }),
                };
                while let Some(entry) = entries.next_entry().await.map_err(local(&folder))? {
                    if let Ok(modified) = entry.metadata().await.and_then(|metadata| metadata.modified()) {
                        newest = newest.max(modified);
                    }
                }
                if newest == SystemTime::UNIX_EPOCH {
                    // An empty folder: as old as the folder itself.
                    newest = tokio::fs::metadata(&folder)
                        .await
                        .and_then(|metadata| metadata.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                }
                found.push(((tenant.clone(), job), newest));
            }
        }
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

    /// Removes the temporary files of writes that never finished (a crash between write and rename), when
    /// their last change is at least `older_than` ago. A younger one may belong to a write still going on.
    pub(crate) async fn abort_abandoned_uploads(&self, older_than: Duration) -> Result<usize, PipelineError> {
        let cutoff = SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = 0;
        let mut folders = vec![self.root.clone()];
        while let Some(folder) = folders.pop() {
            let mut entries = match tokio::fs::read_dir(&folder).await {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(PipelineError::Local { path: folder, source }),
            };
            while let Some(entry) = entries.next_entry().await.map_err(local(&folder))? {
                let path = entry.path();
                let kind = entry.file_type().await.map_err(local(&path))?;
                if kind.is_dir() {
                    folders.push(path);
                    continue;
                }
                if !is_temporary(&entry.file_name().to_string_lossy()) {
                    continue;
                }
                let modified = match entry.metadata().await.and_then(|metadata| metadata.modified()) {
                    Ok(modified) => modified,
                    // Renamed into place or swept by someone else meanwhile.
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(PipelineError::Local { path, source }),
                };
                if modified > cutoff {
                    continue;
                }
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(PipelineError::Local { path, source }),
                }
            }
        }
        Ok(removed)
    }
}

/// Wraps an I/O error with the path it concerns.
fn local(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.to_owned();
    move |source| PipelineError::Local { path, source }
}

/// The names of the folders in `folder` (none when it does not exist).
async fn read_dir_names(folder: &Path) -> Result<Vec<String>, PipelineError> {
    let mut names = Vec::new();
    let mut entries = match tokio::fs::read_dir(folder).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(source) => return Err(PipelineError::Local { path: folder.to_path_buf(), source }),
    };
    while let Some(entry) = entries.next_entry().await.map_err(local(folder))? {
        if entry.file_type().await.is_ok_and(|kind| kind.is_dir()) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}
