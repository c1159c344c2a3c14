//! Object storage: where sources and ladders live, with two backends behind one type.
//!
//! [`StorageConfig`] says which backend (a local folder by default, S3 when configured); [`Storage`] is the
//! built backend, chosen by one `match` per operation. Every backend passes the same contract test suite
//! (`pipeline/tests/storage_contract.rs`).

mod key;
mod local;
mod meta;
pub mod s3;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use key::StorageKey;
pub use local::LocalStorage;
pub use meta::ObjectMeta;
pub use s3::{S3Settings, S3Storage};

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

    /// Stores the contents of `file` under `key`, replacing what was there.
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

    /// The paths of every object under the prefix `prefix`, relative to it, sorted.
    pub async fn list(&self, prefix: &StorageKey) -> Result<Vec<String>, PipelineError> {
        match self {
            Storage::Local(local) => local.list(prefix).await,
            Storage::S3(s3) => s3.list(prefix).await,
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
