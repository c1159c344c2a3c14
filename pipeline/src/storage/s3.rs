//! Object storage in S3 (or any S3-compatible server: Garage in the tests), through aws-sdk-s3.
//!
//! Objects carry their `Content-Type` and `Cache-Control` (see [`super::ObjectMeta`]) so a CDN in front of
//! the bucket serves them right without configuration of its own. The SDK retries throttling and transient
//! network errors itself (standard retry mode); what still fails reaches the caller as
//! [`PipelineError::S3`], which is retryable.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::PipelineError;
use crate::storage::{ObjectMeta, StorageKey};

/// How to reach the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// A bucket that holds objects.
#[derive(Debug, Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
}

/// Wraps an SDK error, deciding whether it was transient: no answer at all (timeout, connection), or an
/// answer of 5xx or 429. Anything else (403, 404 on a bucket, a malformed request) fails the same way again.
fn s3_error<E>(operation: &'static str, key: &str, error: SdkError<E, HttpResponse>) -> PipelineError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        other => other.raw_response().is_some_and(|response| {
            let status = response.status().as_u16();
            status >= 500 || status == 429
        }),
    };
    PipelineError::S3 { operation, key: key.to_owned(), transient, source: Box::new(error) }
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
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials);
        if let Some(endpoint) = &settings.endpoint {
            // Path-style addressing: S3-compatible servers on an IP address have no bucket subdomains.
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Self { client: Client::from_conf(config.build()), bucket: settings.bucket.clone() }
    }

    pub(crate) async fn put_bytes(
        &self,
        key: &StorageKey,
        bytes: Vec<u8>,
        meta: &ObjectMeta,
    ) -> Result<(), PipelineError> {
        self.put(key, ByteStream::from(bytes), meta).await
    }

    pub(crate) async fn put_file(&self, key: &StorageKey, file: &Path, meta: &ObjectMeta) -> Result<(), PipelineError> {
        let body = ByteStream::from_path(file)
            .await
            .map_err(|error| PipelineError::Local { path: file.to_owned(), source: std::io::Error::other(error) })?;
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
            .send()
            .await
            .map_err(|error| s3_error("PutObject", &path, error))?;
        Ok(())
    }

    pub(crate) async fn get_bytes(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, PipelineError> {
        let path = key.path();
        let response = match self.client.get_object().bucket(&self.bucket).key(&path).send().await {
            Ok(response) => response,
            Err(error) if error.as_service_error().is_some_and(|service| service.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(s3_error("GetObject", &path, error)),
        };
        // A body cut off mid-way is as transient as a dropped connection.
        let bytes = response.body.collect().await.map_err(|error| PipelineError::S3 {
            operation: "GetObject",
            key: path.clone(),
            transient: true,
            source: Box::new(error),
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
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

/// Headers of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHeaders {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
}
