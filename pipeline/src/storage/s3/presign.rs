//! Presigned uploads: a URL through which a browser puts a source straight into the bucket.
//!
//! The content type and length are part of the signature, so the holder of the URL can upload one object of
//! that type and size and nothing else, until the URL expires. The SDK makes no request to sign.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;

use super::{S3Storage, s3_error};
use crate::PipelineError;
use crate::storage::{PresignedUpload, StorageKey};

impl S3Storage {
    pub(crate) async fn presign_put(
        &self,
        key: &StorageKey,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedUpload, PipelineError> {
        let path = key.path();
        let now = SystemTime::now();
        // SigV4 allows at most a week; the SDK refuses more.
        let config =
            PresigningConfig::builder().start_time(now).expires_in(expires_in).build().map_err(|error| {
                PipelineError::Config { reason: format!("cannot presign for {expires_in:?}: {error}") }
            })?;
        let length = i64::try_from(content_length)
            .map_err(|_| PipelineError::Config { reason: format!("{content_length} bytes is too large an upload") })?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&path)
            .content_type(content_type)
            .content_length(length)
            .presigned(config)
            .await
            .map_err(|error| s3_error("PutObject", &path, error))?;
        let expires_at = now + expires_in;
        Ok(PresignedUpload {
            url: presigned.uri().to_owned(),
            method: "PUT",
            headers: presigned.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect(),
            expires_at_unix: expires_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|since| since.as_secs())
                .unwrap_or(0),
        })
    }
}
