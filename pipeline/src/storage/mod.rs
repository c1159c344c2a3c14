//! Object storage: where sources and ladders live, with two backends behind one type.
//!
//! [`StorageConfig`] says which backend (a local folder by default, S3 when configured); [`Storage`] is the
//! built backend, chosen by one `match` per operation. Every backend passes the same contract test suite
//! (`pipeline/tests/storage_contract.rs`).

mod key;
mod local;
mod meta;
mod presigned;
pub mod s3;
mod temp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use key::StorageKey;
pub use local::LocalStorage;
pub use meta::{ObjectHeaders, ObjectMeta};
pub use presigned::PresignedUpload;
pub use s3::{MultipartSizes, S3Settings, S3Storage};

use crate::PipelineError;

/// Which storage to use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StorageConfig {
    /// A local folder.
    Local {
        /// The folder.
        root: PathBuf,
    },
    /// An S3 bucket.
    S3 {
        /// Endpoint URL for S3-compatible servers; absent for AWS.
        endpoint: Option<String>,
        /// Region name.
        region: String,
        /// Bucket name.
        bucket: String,
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: String,
    },
}

impl StorageConfig {
    /// Checks the configuration and builds the backend, without any request.
    pub fn build(&self) -> Result<Storage, PipelineError> {
        match self {
            StorageConfig::Local { root } => Ok(Storage::Local(LocalStorage::new(root)?)),
            StorageConfig::S3 { endpoint, region, bucket, access_key_id, secret_access_key } => {
                if bucket.is_empty() || region.is_empty() {
                    return Err(PipelineError::Config { reason: "S3 storage needs a bucket and a region".into() });
                }
                Ok(Storage::S3(S3Storage::new(&S3Settings {
                    endpoint: endpoint.clone(),
                    region: region.clone(),
                    bucket: bucket.clone(),
                    access_key_id: access_key_id.clone(),
                    secret_access_key: secret_access_key.clone(),
                    multipart: None,
                })))
            }
        }
    }
}

/// A built storage backend.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A local folder.
    Local(LocalStorage),
    /// An S3 bucket.
    S3(S3Storage),
}

impl Storage {
    /// Stores `bytes` under `key`, replacing what was there.
    pub async fn put_bytes(&self, key: &StorageKey, bytes: Vec<u8>, meta: &ObjectMeta) -> Result<(), PipelineError> {
        match self {
            Storage::Local(local) => local.put_bytes(key, bytes).await,
            Storage::S3(s3) => s3.put_bytes(key, bytes, meta).await,
        }
    }

    /// Stores the contents of `file` under `key`, replacing what was there. Nothing holds the whole file in
    /// memory: S3 sends a large one in parts ([`MultipartSizes`]), and aborts the upload when a part fails.
    pub async fn put_file(&self, key: &StorageKey, file: &Path, meta: &ObjectMeta) -> Result<(), PipelineError> {
        match self {
            Storage::Local(local) => local.put_file(key, file).await,
            Storage::S3(s3) => s3.put_file(key, file, meta).await,
        }
    }

    /// The object under `key`, or `None` when there is none.
    pub async fn get_bytes(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, PipelineError> {
        match self {
            Storage::Local(local) => local.get_bytes(key).await,
            Storage::S3(s3) => s3.get_bytes(key).await,
        }
    }

    /// Writes the object under `key` to `file` (its folder created when missing) without holding it in
    /// memory; `false` when there is no such object. The file appears complete or not at all: it is written
    /// beside its target and renamed into place. S3 checks the object's checksum on the way.
    pub async fn get_to_file(&self, key: &StorageKey, file: &Path) -> Result<bool, PipelineError> {
        match self {
            Storage::Local(local) => local.get_to_file(key, file).await,
            Storage::S3(s3) => s3.get_to_file(key, file).await,
        }
    }

    /// The size and headers of the object under `key`, or `None` when there is none.
    pub async fn head(&self, key: &StorageKey) -> Result<Option<ObjectHeaders>, PipelineError> {
        match self {
            Storage::Local(local) => local.head(key).await,
            Storage::S3(s3) => s3.head(key).await,
        }
    }

    /// At most the first `max_bytes` bytes of the object under `key` (fewer when it is shorter), or `None` when
    /// there is none: enough to tell a file's type from its magic bytes without fetching all of it.
    pub async fn read_prefix(&self, key: &StorageKey, max_bytes: usize) -> Result<Option<Vec<u8>>, PipelineError> {
        match self {
            Storage::Local(local) => local.read_prefix(key, max_bytes).await,
            Storage::S3(s3) => s3.read_prefix(key, max_bytes).await,
        }
    }

    /// A URL through which a client (a browser) uploads an object of exactly `content_length` bytes of type
    /// `content_type` under `key`, until `expires_in` has passed. Only S3 can: a local folder answers
    /// [`PipelineError::Unsupported`].
    pub async fn presign_put(
        &self,
        key: &StorageKey,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedUpload, PipelineError> {
        match self {
            Storage::Local(_) => {
                Err(PipelineError::Unsupported { reason: "presigned uploads need S3 storage, not a local folder" })
            }
            Storage::S3(s3) => s3.presign_put(key, content_type, content_length, expires_in).await,
        }
    }

    /// Cleans up uploads that were started at least `older_than` ago and never finished, returning how many:
    /// in S3, incomplete multipart uploads (whose parts are stored, and billed, until aborted); in a local
    /// folder, stray temporary files of interrupted writes. Meant for a periodic sweep, with an age well beyond
    /// the longest upload, since a younger one may still be going on.
    pub async fn abort_abandoned_uploads(&self, older_than: Duration) -> Result<usize, PipelineError> {
        match self {
            Storage::Local(local) => local.abort_abandoned_uploads(older_than).await,
            Storage::S3(s3) => s3.abort_abandoned_uploads(older_than).await,
        }
    }

    /// The job folders under `sources/` (tenant and job) whose newest object was written at least
    /// `older_than` ago: the candidates of a sweep of sources that no job owns.
    pub async fn source_folders_older_than(
        &self,
        older_than: Duration,
    ) -> Result<Vec<(String, String)>, PipelineError> {
        let cutoff = std::time::SystemTime::now().checked_sub(older_than).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
        let newest = match self {
            Storage::Local(local) => local.source_folders().await?,
            Storage::S3(s3) => s3.source_folders().await?,
        };
        Ok(newest.into_iter().filter(|(_, written)| *written <= cutoff).map(|(folder, _)| folder).collect())
    }

    /// The paths of every object under the prefix `prefix`, relative to it, sorted.
    pub async fn list(&self, prefix: &StorageKey) -> Result<Vec<String>, PipelineError> {
        match self {
            Storage::Local(local) => local.list(prefix).await,
            Storage::S3(s3) => s3.list(prefix).await,
        }
    }

    /// Copies the object under `from` to `to` inside the storage (no bytes through this process with S3).
    /// A copy is a snapshot: later writes to `from` do not reach it.
    pub async fn copy(&self, from: &StorageKey, to: &StorageKey, meta: &ObjectMeta) -> Result<(), PipelineError> {
        match self {
            Storage::Local(local) => local.copy(from, to).await,
            Storage::S3(s3) => s3.copy(from, to, meta).await,
        }
    }

    /// Deletes the object under `key`; deleting a missing object is not an error.
    pub async fn delete(&self, key: &StorageKey) -> Result<(), PipelineError> {
        match self {
            Storage::Local(local) => local.delete(key).await,
            Storage::S3(s3) => s3.delete(key).await,
        }
    }

    /// Deletes every object under the prefix `prefix` (an abandoned attempt's ladder).
    pub async fn delete_prefix(&self, prefix: &StorageKey) -> Result<(), PipelineError> {
        match self {
            Storage::Local(local) => local.delete_prefix(prefix).await,
            Storage::S3(s3) => s3.delete_prefix(prefix).await,
        }
    }
}
