//! One contract every storage backend passes: the local folder and S3 (Garage on loopback, started by
//! `scripts/garage`, which writes its settings to ~/.cache/lms-media/garage/env). The S3 run fails, not
//! skips, when that server is missing: scripts/test starts it.

// The contract is written as shared async helpers, which clippy does not see as test code.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use lms_pipeline::storage::s3::S3Storage;
use lms_pipeline::storage::{S3Settings, Storage};
use lms_pipeline::{ObjectMeta, StorageConfig, StorageKey};

/// A job id no other run uses, so tests never see each other's objects in a long-lived bucket.
fn unique_job(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{test}-{}-{nanos}", std::process::id())
}

fn garage_settings() -> S3Settings {
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
    }
}

async fn contract(storage: &Storage, job: &str) {
    let meta = ObjectMeta::for_ladder_file("master.m3u8");
    let master = StorageKey::ladder_file("tenant-a", job, 1, "master.m3u8").unwrap();

    // Missing objects are absent, not errors.
    assert_eq!(storage.get_bytes(&master).await.unwrap(), None);

    // Round trip, and replacement.
    storage.put_bytes(&master, b"#EXTM3U\n".to_vec(), &meta).await.unwrap();
    assert_eq!(storage.get_bytes(&master).await.unwrap().as_deref(), Some(&b"#EXTM3U\n"[..]));
    storage.put_bytes(&master, b"#EXTM3U\n#EXT-X-VERSION:6\n".to_vec(), &meta).await.unwrap();
    assert_eq!(storage.get_bytes(&master).await.unwrap().as_deref(), Some(&b"#EXTM3U\n#EXT-X-VERSION:6\n"[..]));

    // Files, listing under an attempt's prefix, and attempts kept apart.
    let dir = tempfile::tempdir().unwrap();
    let segment = dir.path().join("seg_00000.m4s");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&segment, &bytes).unwrap();
    for relative in ["720p/seg_00000.m4s", "480p/seg_00000.m4s"] {
        let key = StorageKey::ladder_file("tenant-a", job, 1, relative).unwrap();
        storage.put_file(&key, &segment, &ObjectMeta::for_ladder_file(relative)).await.unwrap();
    }
    let other_attempt = StorageKey::ladder_file("tenant-a", job, 2, "master.m3u8").unwrap();
    storage.put_bytes(&other_attempt, b"attempt 2".to_vec(), &meta).await.unwrap();
    let first = StorageKey::ladder_attempt("tenant-a", job, 1).unwrap();
    assert_eq!(storage.list(&first).await.unwrap(), ["480p/seg_00000.m4s", "720p/seg_00000.m4s", "master.m3u8"]);
    let key = StorageKey::ladder_file("tenant-a", job, 1, "720p/seg_00000.m4s").unwrap();
    assert_eq!(storage.get_bytes(&key).await.unwrap(), Some(bytes));

    // Deleting an attempt's prefix leaves the other attempt alone.
    storage.delete_prefix(&first).await.unwrap();
    assert!(storage.list(&first).await.unwrap().is_empty());
    assert_eq!(storage.get_bytes(&master).await.unwrap(), None);
    assert_eq!(storage.get_bytes(&other_attempt).await.unwrap().as_deref(), Some(&b"attempt 2"[..]));
    let second = StorageKey::ladder_attempt("tenant-a", job, 2).unwrap();
    storage.delete_prefix(&second).await.unwrap();
    assert!(storage.list(&second).await.unwrap().is_empty());
}

#[tokio::test]
async fn local_folder_keeps_the_contract() {
    let root = tempfile::tempdir().unwrap();
    let storage = StorageConfig::Local { root: root.path().to_owned() }.build().unwrap();
    contract(&storage, &unique_job("local")).await;
    // No temporary files are left behind by the write-then-rename.
    let leftovers: Vec<_> = walk(root.path()).into_iter().filter(|p| p.contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn s3_on_garage_keeps_the_contract() {
    let settings = garage_settings();
    let storage = StorageConfig::S3 {
        endpoint: settings.endpoint.clone(),
        region: settings.region.clone(),
        bucket: settings.bucket.clone(),
        access_key_id: settings.access_key_id.clone(),
        secret_access_key: settings.secret_access_key.clone(),
    }
    .build()
    .unwrap();
    contract(&storage, &unique_job("s3")).await;
}

#[tokio::test]
async fn s3_objects_carry_the_headers_a_cdn_needs() {
    let s3 = S3Storage::new(&garage_settings());
    let storage = Storage::S3(s3.clone());
    let job = unique_job("headers");
    for (relative, content_type, cache_control) in [
        ("master.m3u8", "application/vnd.apple.mpegurl", "public, max-age=60"),
        ("720p/seg_00000.m4s", "video/iso.segment", "public, max-age=31536000, immutable"),
        ("720p/init.mp4", "video/mp4", "public, max-age=31536000, immutable"),
        ("subtitles/en/seg_00000.vtt", "text/vtt", "public, max-age=31536000, immutable"),
    ] {
        let key = StorageKey::ladder_file("tenant-a", &job, 1, relative).unwrap();
        storage.put_bytes(&key, b"x".to_vec(), &ObjectMeta::for_ladder_file(relative)).await.unwrap();
        let head = s3.head(&key).await.unwrap().expect("stored");
        assert_eq!(head.content_type.as_deref(), Some(content_type), "{relative}");
        assert_eq!(head.cache_control.as_deref(), Some(cache_control), "{relative}");
        assert_eq!(head.size, Some(1));
    }
    storage.delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
}

#[tokio::test]
async fn s3_with_wrong_credentials_fails_naming_the_key_and_is_not_retried() {
    let mut settings = garage_settings();
    settings.secret_access_key = "0".repeat(64);
    let storage = Storage::S3(S3Storage::new(&settings));
    let key = StorageKey::source("tenant-a", &unique_job("denied"), "lecture.mp4").unwrap();
    let error = storage.put_bytes(&key, b"x".to_vec(), &ObjectMeta::for_source()).await.unwrap_err();
    assert_eq!(error.code(), "s3-failed");
    assert!(error.to_string().contains(&key.path()), "{error}");
    assert!(!error.is_retryable(), "a refused signature would be refused again: {error:?}");
}

#[tokio::test]
async fn s3_unreachable_fails_with_a_retryable_error() {
    let mut settings = garage_settings();
    // A loopback port nothing listens on: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    settings.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let storage = Storage::S3(S3Storage::new(&settings));
    let key = StorageKey::source("tenant-a", &unique_job("down"), "lecture.mp4").unwrap();
    let error = storage.put_bytes(&key, b"x".to_vec(), &ObjectMeta::for_source()).await.unwrap_err();
    assert!(error.is_retryable(), "a refused connection is transient: {error:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.to_string_lossy().into_owned());
        }
    }
    found
}
