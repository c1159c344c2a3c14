//! Object storage in S3 (or any S3-compatible server: Garage in the tests), through aws-sdk-s3.
//!
//! Objects carry their `Content-Type` and `Cache-Control` (see [`super::ObjectMeta`]) so a CDN in front of
//! the bucket serves them right without configuration of its own. Every body goes up with a CRC32 the server
//! checks, and comes down checked against the one stored, so damage on the way fails the request instead of
//! storing or returning it. Files stream from and to disk; large ones go up in parts (`multipart`), and a
//! browser can upload through a presigned URL (`presign`).
//!
//! The SDK retries throttling, 5xx answers and transient network errors itself (standard retry mode, a few
//! quick attempts) and bounds connecting, each attempt and stalled bodies; file bodies are reread for a retry.
//! What still fails reaches the caller as [`PipelineError::S3`], retryable when the fault was transient.

mod multipart;
mod presign;

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, Delete, ObjectIdentifier};
use tokio::io::AsyncWriteExt;

pub use multipart::{MULTIPART_THRESHOLD, MultipartSizes, PART_SIZE};

use crate::PipelineError;
pub use crate::storage::ObjectHeaders;
use crate::storage::temp::TemporaryFile;
use crate::storage::{ObjectMeta, StorageKey};

/// Attempts per request, the first included: enough to ride out a dropped connection or a short burst of
/// 503s, few enough that a caller hears of a real outage within seconds.
const MAX_ATTEMPTS: u32 = 5;
/// The first wait before a retry; it doubles (with jitter) up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A server that does not accept a connection within this is down or unreachable, not slow.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of one request, from sending to the response's headers: long enough for a 16 MiB part while
/// three others share the uplink (0.6 MB/s suffices). A connection that has died is caught sooner, by
/// stalled-stream protection; a response body read afterwards is guarded by that alone.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// A body, sent or received, that moves no bytes for this long fails (transiently) rather than hanging a worker.
const STALL_GRACE: Duration = Duration::from_secs(20);
/// The read buffer for file bodies: larger than the SDK's 4 KiB, so a large file goes out in fewer chunks.
const FILE_BUFFER: usize = 128 * 1024;
/// The checksum every body is sent with, so the server refuses one damaged on the way; CRC32 is what S3 and
/// Garage both verify on single and multipart uploads, and costs little to compute.
const CHECKSUM: ChecksumAlgorithm = ChecksumAlgorithm::Crc32;

/// How to reach the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint URL for S3-compatible servers (`http://127.0.0.1:3900`); `None` for AWS.
    pub endpoint: Option<String>,
    /// The region name (`garage` for Garage).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// When and how files go up in parts; `None` for [`MultipartSizes::DEFAULT`].
    pub multipart: Option<MultipartSizes>,
}

/// A bucket that holds objects.
#[derive(Debug, Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    sizes: MultipartSizes,
}

/// Wraps an SDK error, deciding whether it was transient: no answer at all (timeout, connection), an answer of
/// 5xx or 429, or a body the server found damaged (its checksum did not match: sending it again may well get
/// through). Anything else (403, 404 on a bucket, a malformed request) fails the same way again.
fn s3_error<E>(operation: &'static str, key: &str, error: SdkError<E, HttpResponse>) -> PipelineError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        other => {
            other.raw_response().is_some_and(|response| {
                let status = response.status().as_u16();
                status >= 500 || status == 429
            }) || other.code().is_some_and(|code| DAMAGED_BODY.contains(&code))
        }
    };
    PipelineError::S3 { operation, key: key.to_owned(), transient, source: Box::new(error) }
}

/// The error codes of a body that arrived damaged: AWS's for a checksum and for the signed SHA-256, Garage's
/// for both.
const DAMAGED_BODY: [&str; 3] = ["BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"];

/// A response body that broke off, stalled or failed its checksum: as transient as a dropped connection, since
/// reading the object again may well succeed.
fn body_error(
    operation: &'static str,
    key: &str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> PipelineError {
    PipelineError::S3 { operation, key: key.to_owned(), transient: true, source: Box::new(error) }
}

/// Whether GetObject failed for want of the object (and not of the bucket, which is a configuration error).
fn is_no_such_key(error: &SdkError<GetObjectError, HttpResponse>) -> bool {
    error.as_service_error().is_some_and(GetObjectError::is_no_such_key)
}

/// An error that happened after the SDK's request (reading a body, building a request): not transient.
fn local_s3_error(
    operation: &'static str,
    key: &str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> PipelineError {
    PipelineError::S3 { operation, key: key.to_owned(), transient: false, source: Box::new(error) }
}

impl S3Storage {
    /// A client for the bucket; makes no request.
    pub fn new(settings: &S3Settings) -> Self {
        let credentials =
            Credentials::new(&settings.access_key_id, &settings.secret_access_key, None, None, "lms-media settings");
        let retry = RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(MAX_BACKOFF);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build();
        let stalls = StalledStreamProtectionConfig::enabled().grace_period(STALL_GRACE).build();
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .retry_config(retry)
            .timeout_config(timeouts)
            .stalled_stream_protection(stalls);
        if let Some(endpoint) = &settings.endpoint {
            // Path-style addressing: S3-compatible servers on an IP address have no bucket subdomains.
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
            sizes: settings.multipart.unwrap_or(MultipartSizes::DEFAULT),
        }
    }

    pub(crate) async fn put_bytes(
        &self,
        key: &StorageKey,
        bytes: Vec<u8>,
        meta: &ObjectMeta,
    ) -> Result<(), PipelineError> {
        self.put(key, ByteStream::from(bytes), meta).await
    }

    /// One PutObject up to the multipart threshold, a multipart upload above it. The body is read from the file
    /// as it is sent, and again from the start on a retry.
    pub(crate) async fn put_file(&self, key: &StorageKey, file: &Path, meta: &ObjectMeta) -> Result<(), PipelineError> {
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|source| PipelineError::Local { path: file.to_owned(), source })?
            .len();
        if size > self.sizes.threshold() {
            return multipart::upload(self, key, file, size, meta).await;
        }
        let body =
            ByteStream::read_from().path(file).buffer_size(FILE_BUFFER).build().await.map_err(|error| {
                PipelineError::Local { path: file.to_owned(), source: std::io::Error::other(error) }
            })?;
        self.put(key, body, meta).await
    }

    async fn put(&self, key: &StorageKey, body: ByteStream, meta: &ObjectMeta) -> Result<(), PipelineError> {
        let path = key.path();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&path)
            .body(body)
            .content_type(meta.content_type)
            .cache_control(meta.cache_control)
            .checksum_algorithm(CHECKSUM)
            .send()
            .await
            .map_err(|error| s3_error("PutObject", &path, error))?;
        Ok(())
    }

    /// GetObject with the stored checksum checked as the body arrives; `None` when there is no such object.
    async fn get(&self, path: &str) -> Result<Option<ByteStream>, PipelineError> {
        let request = self.client.get_object().bucket(&self.bucket).key(path).checksum_mode(ChecksumMode::Enabled);
        match request.send().await {
            Ok(response) => Ok(Some(response.body)),
            Err(error) if is_no_such_key(&error) => Ok(None),
            Err(error) => Err(s3_error("GetObject", path, error)),
        }
    }

    pub(crate) async fn get_bytes(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, PipelineError> {
        let path = key.path();
        let Some(body) = self.get(&path).await? else { return Ok(None) };
        let bytes = body.collect().await.map_err(|error| body_error("GetObject", &path, error))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    pub(crate) async fn get_to_file(&self, key: &StorageKey, file: &Path) -> Result<bool, PipelineError> {
        let path = key.path();
        let Some(mut body) = self.get(&path).await? else { return Ok(false) };
        let temporary = TemporaryFile::beside(file).await?;
        let local = |source| PipelineError::Local { path: temporary.path().to_owned(), source };
        let mut out = tokio::fs::File::create(temporary.path()).await.map_err(local)?;
        // A checksum mismatch shows as an error of the last chunk, before the file is renamed into place.
        while let Some(chunk) = body.try_next().await.map_err(|error| body_error("GetObject", &path, error))? {
            out.write_all(&chunk).await.map_err(local)?;
        }
        out.flush().await.map_err(local)?;
        drop(out);
        temporary.persist().await?;
        Ok(true)
    }

    /// A ranged GET of the first `max_bytes` bytes. Its checksum is not checked: S3 has none for a range.
    pub(crate) async fn read_prefix(
        &self,
        key: &StorageKey,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>, PipelineError> {
        let path = key.path();
        if max_bytes == 0 {
            // `bytes=0--1` is no range: ask whether the object exists instead.
            return Ok(self.head(key).await?.map(|_| Vec::new()));
        }
        let range = format!("bytes=0-{}", max_bytes - 1);
        let mut body = match self.client.get_object().bucket(&self.bucket).key(&path).range(range).send().await {
            Ok(response) => response.body,
            Err(error) if is_no_such_key(&error) => return Ok(None),
            // An empty object has no byte 0, and S3 answers 416 Range Not Satisfiable.
            Err(error) if error.raw_response().is_some_and(|response| response.status().as_u16() == 416) => {
                return Ok(Some(Vec::new()));
            }
            Err(error) => return Err(s3_error("GetObject", &path, error)),
        };
        let mut prefix = Vec::with_capacity(max_bytes.min(64 * 1024));
        // A server that ignores the range sends everything: stop reading once there is enough.
        while prefix.len() < max_bytes {
            match body.try_next().await.map_err(|error| body_error("GetObject", &path, error))? {
                Some(chunk) => prefix.extend_from_slice(&chunk[..chunk.len().min(max_bytes - prefix.len())]),
                None => break,
            }
        }
        Ok(Some(prefix))
    }

    /// The headers an object was stored with, for checks and for the publisher's own verification.
    pub async fn head(&self, key: &StorageKey) -> Result<Option<ObjectHeaders>, PipelineError> {
        let path = key.path();
        match self.client.head_object().bucket(&self.bucket).key(&path).send().await {
            Ok(head) => Ok(Some(ObjectHeaders {
                content_type: head.content_type().map(str::to_owned),
                cache_control: head.cache_control().map(str::to_owned),
                size: head.content_length().and_then(|length| u64::try_from(length).ok()),
            })),
            Err(error) if error.as_service_error().is_some_and(|service| service.is_not_found()) => Ok(None),
            Err(error) => Err(s3_error("HeadObject", &path, error)),
        }
    }

    pub(crate) async fn list(&self, prefix: &StorageKey) -> Result<Vec<String>, PipelineError> {
        let base = format!("{}/", prefix.path());
        let mut found = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(&base).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| s3_error("ListObjectsV2", &base, error))?;
            for object in page.contents() {
                if let Some(relative) = object.key().and_then(|key| key.strip_prefix(&base)) {
                    found.push(relative.to_owned());
                }
            }
        }
        found.sort();
        Ok(found)
    }

    pub(crate) async fn copy(
        &self,
        from: &StorageKey,
        to: &StorageKey,
        meta: &ObjectMeta,
    ) -> Result<(), PipelineError> {
        let target = to.path();
        // Key parts are letters, digits, '-', '_' and '.', and '/' between them: nothing to percent-encode.
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{}", self.bucket, from.path()))
            .key(&target)
            .content_type(meta.content_type)
            .cache_control(meta.cache_control)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .send()
            .await
            .map_err(|error| s3_error("CopyObject", &target, error))?;
        Ok(())
    }

    pub(crate) async fn delete(&self, key: &StorageKey) -> Result<(), PipelineError> {
        let path = key.path();
        // S3 answers a delete of a missing key with success too.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&path)
            .send()
            .await
            .map_err(|error| s3_error("DeleteObject", &path, error))?;
        Ok(())
    }

    /// Every `sources/{tenant}/{job}/` prefix with the time of its newest object.
    pub(crate) async fn source_folders(&self) -> Result<Vec<((String, String), std::time::SystemTime)>, PipelineError> {
        let mut newest: std::collections::BTreeMap<(String, String), std::time::SystemTime> = Default::default();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix("sources/").into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| s3_error("ListObjectsV2", "sources/", error))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let mut parts = key.split('/').skip(1);
                let (Some(tenant), Some(job)) = (parts.next(), parts.next()) else { continue };
                let written = object
                    .last_modified()
                    .and_then(|time| std::time::SystemTime::try_from(*time).ok())
                    .unwrap_or(std::time::UNIX_EPOCH);
                let entry = newest.entry((tenant.to_owned(), job.to_owned())).or_insert(written);
                *entry = (*entry).max(written);
            }
        }
        Ok(newest.into_iter().collect())
    }

    pub(crate) async fn delete_prefix(&self, prefix: &StorageKey) -> Result<(), PipelineError> {
        let base = format!("{}/", prefix.path());
        let names = self.list(prefix).await?;
        // DeleteObjects takes at most 1000 keys a request.
        for chunk in names.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|name| ObjectIdentifier::builder().key(format!("{base}{name}")).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| local_s3_error("DeleteObjects", &base, error))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|error| local_s3_error("DeleteObjects", &base, error))?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|error| s3_error("DeleteObjects", &base, error))?;
        }
        Ok(())
    }
}
