//! The Garage test server (started by `scripts/garage`, which writes its settings to
//! ~/.cache/lms-media/garage/env): how to reach it, names no other run uses, a raw client for checks the
//! storage API does not offer, and a lock that keeps the bucket-wide sweep of unfinished uploads away from
//! tests whose multipart uploads are under way.
//!
//! Tests that need the server fail, not skip, when it is missing: scripts/test starts it.

// Each test binary uses a part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use lms_pipeline::storage::{MultipartSizes, S3Settings};

/// A job id no other run uses, so tests never see each other's objects in a long-lived bucket.
pub fn unique_job(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{test}-{}-{nanos}", std::process::id())
}

/// The settings of the test server, with the default multipart sizes.
pub fn settings() -> S3Settings {
    let path = std::env::var_os("LMS_MEDIA_GARAGE_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lms-media/garage/env"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("no Garage settings at {} ({error}): run scripts/garage", path.display()));
    let vars: HashMap<&str, &str> = text.lines().filter_map(|line| line.split_once('=')).collect();
    let get = |name: &str| vars.get(name).map(|value| value.to_string()).unwrap_or_else(|| panic!("{name} missing"));
    S3Settings {
        endpoint: Some(get("LMS_MEDIA_S3_ENDPOINT")),
        region: get("AWS_REGION"),
        bucket: get("LMS_MEDIA_S3_BUCKET"),
        access_key_id: get("AWS_ACCESS_KEY_ID"),
        secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
        multipart: None,
    }
}

pub const MIB: u64 = 1024 * 1024;

/// The settings with S3's smallest parts, so a 12 MiB file goes up in three of them.
pub fn settings_with_small_parts() -> S3Settings {
    S3Settings { multipart: Some(MultipartSizes::new(5 * MIB, 5 * MIB).unwrap()), ..settings() }
}

/// The server's S3 address, for a proxy in front of it.
pub fn address(settings: &S3Settings) -> SocketAddr {
    let endpoint = settings.endpoint.as_deref().expect("an endpoint");
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    authority.parse().unwrap_or_else(|error| panic!("{endpoint} is no loopback address: {error}"))
}

/// A plain SDK client on the same server, for what the storage API deliberately hides (upload ids, ETags).
pub fn client(settings: &S3Settings) -> aws_sdk_s3::Client {
    let credentials = aws_sdk_s3::config::Credentials::new(
        &settings.access_key_id,
        &settings.secret_access_key,
        None,
        None,
        "lms-media tests",
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(settings.region.clone()))
        .credentials_provider(credentials)
        .endpoint_url(settings.endpoint.clone().expect("an endpoint"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Runs a test's body, failing it when it takes longer than `limit`.
pub async fn bounded<T>(limit: Duration, body: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, body).await.unwrap_or_else(|_| panic!("the test took longer than {limit:?}"))
}

/// A lock across test processes (nextest runs each test in its own) on the bucket's multipart uploads: held
/// shared by tests that make them, exclusively by the test that aborts every unfinished upload in the bucket.
/// The operating system releases it when the process ends, however it ends.
#[derive(Debug)]
pub struct UploadsLock(std::fs::File);

impl UploadsLock {
    /// Taken by a test whose multipart uploads must not be aborted under it.
    pub async fn shared() -> Self {
        Self::take(libc::LOCK_SH).await
    }

    /// Taken by a test that aborts every unfinished upload in the bucket.
    pub async fn exclusive() -> Self {
        Self::take(libc::LOCK_EX).await
    }

    async fn take(operation: libc::c_int) -> Self {
        let path = std::env::temp_dir().join("lms-media-garage-uploads.lock");
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).unwrap();
        tokio::task::spawn_blocking(move || {
            // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
            let result = unsafe { libc::flock(file.as_raw_fd(), operation) };
            assert_eq!(result, 0, "flock {}: {}", path.display(), std::io::Error::last_os_error());
            Self(file)
        })
        .await
        .unwrap()
    }
}
