//! One contract every storage backend passes: the local folder and S3 (Garage on loopback, started by
//! `scripts/garage`, which writes its settings to ~/.cache/lms-media/garage/env), then what only one backend
//! does (presigned uploads, multipart uploads, sweeping unfinished ones). The S3 runs fail, not skip, when
//! that server is missing: scripts/test starts it. Faults on the way to S3 are tested in s3_faults.rs.

// The contract is written as shared async helpers, which clippy does not see as test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/garage.rs"]
mod garage;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use garage::{MIB, UploadsLock, bounded, unique_job};
use lms_pipeline::storage::Storage;
use lms_pipeline::storage::s3::S3Storage;
use lms_pipeline::{ObjectMeta, StorageConfig, StorageKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Network tests end within this, pass or fail.
const LIMIT: Duration = Duration::from_secs(60);

/// Bytes that differ from one position to the next, so a part out of place shows.
fn pattern(length: u64) -> Vec<u8> {
    (0..length).map(|i| (i % 251) as u8 ^ (i / 251 % 7) as u8).collect()
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
    // The first bytes of an object sent whole: a range has no checksum of its own to check.
    assert_eq!(storage.read_prefix(&key, 16).await.unwrap().as_deref(), Some(&bytes[..16]));
    assert_eq!(storage.get_bytes(&key).await.unwrap(), Some(bytes));

    // A copy is a snapshot of the object.
    let copy = StorageKey::ladder_file("tenant-a", job, 1, "copy.m3u8").unwrap();
    storage.copy(&master, &copy, &meta).await.unwrap();
    storage.put_bytes(&master, b"changed".to_vec(), &meta).await.unwrap();
    assert_eq!(storage.get_bytes(&copy).await.unwrap().as_deref(), Some(&b"#EXTM3U\n#EXT-X-VERSION:6\n"[..]));

    // Deleting one object, then again (a missing object is no error).
    storage.delete(&master).await.unwrap();
    assert_eq!(storage.get_bytes(&master).await.unwrap(), None);
    storage.delete(&master).await.unwrap();

    // Deleting an attempt's prefix leaves the other attempt alone.
    storage.delete_prefix(&first).await.unwrap();
    assert!(storage.list(&first).await.unwrap().is_empty());
    assert_eq!(storage.get_bytes(&master).await.unwrap(), None);
    assert_eq!(storage.get_bytes(&other_attempt).await.unwrap().as_deref(), Some(&b"attempt 2"[..]));
    let second = StorageKey::ladder_attempt("tenant-a", job, 2).unwrap();
    storage.delete_prefix(&second).await.unwrap();
    assert!(storage.list(&second).await.unwrap().is_empty());

    large_files(storage, job, dir.path()).await;
    reads_of_missing_and_empty_objects(storage, job, dir.path()).await;
}

/// A file too large for one request (S3 here sends it in 5 MiB parts) goes up and comes back whole, through
/// files on both ends; its headers and first bytes can be read without fetching it.
async fn large_files(storage: &Storage, job: &str, dir: &Path) {
    let attempt = StorageKey::ladder_attempt("tenant-a", job, 3).unwrap();
    let key = StorageKey::ladder_file("tenant-a", job, 3, "720p/init.mp4").unwrap();
    let size = 12 * MIB + 12_345;
    let bytes = pattern(size);
    let file = dir.join("lecture.mp4");
    std::fs::write(&file, &bytes).unwrap();
    storage.put_file(&key, &file, &ObjectMeta::for_ladder_file("720p/init.mp4")).await.unwrap();

    let head = storage.head(&key).await.unwrap().expect("stored");
    assert_eq!(head.size, Some(size));
    assert_eq!(head.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(head.cache_control.as_deref(), Some("public, max-age=31536000, immutable"));

    let back = dir.join("downloads/lecture.mp4");
    std::fs::create_dir_all(dir.join("downloads")).unwrap();
    std::fs::write(&back, b"an older download, replaced").unwrap();
    assert!(storage.get_to_file(&key, &back).await.unwrap());
    let read = std::fs::read(&back).unwrap();
    assert!(read == bytes, "the download differs: {} bytes of {size}", read.len());
    let names: Vec<_> = std::fs::read_dir(dir.join("downloads")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, ["lecture.mp4"], "only the download is left in its folder");

    assert_eq!(storage.read_prefix(&key, 16).await.unwrap().as_deref(), Some(&bytes[..16]));
    assert_eq!(storage.read_prefix(&key, 1).await.unwrap().as_deref(), Some(&bytes[..1]));
    let small = StorageKey::ladder_file("tenant-a", job, 3, "720p/index.m3u8").unwrap();
    storage.put_bytes(&small, b"#EXTM3U\n".to_vec(), &ObjectMeta::for_ladder_file("index.m3u8")).await.unwrap();
    assert_eq!(storage.read_prefix(&small, 4096).await.unwrap().as_deref(), Some(&b"#EXTM3U\n"[..]));

    storage.delete_prefix(&attempt).await.unwrap();
    assert_eq!(storage.head(&key).await.unwrap(), None);
}

/// Missing objects are absent (and leave no file behind); an empty object is present and empty.
async fn reads_of_missing_and_empty_objects(storage: &Storage, job: &str, dir: &Path) {
    let missing = StorageKey::ladder_file("tenant-a", job, 4, "missing.m4s").unwrap();
    let target = dir.join("downloads/missing.m4s");
    assert!(!storage.get_to_file(&missing, &target).await.unwrap());
    assert!(!target.exists());
    assert_eq!(storage.head(&missing).await.unwrap(), None);
    assert_eq!(storage.read_prefix(&missing, 16).await.unwrap(), None);
    assert_eq!(storage.read_prefix(&missing, 0).await.unwrap(), None);

    let empty = StorageKey::ladder_file("tenant-a", job, 4, "empty.vtt").unwrap();
    storage.put_bytes(&empty, Vec::new(), &ObjectMeta::for_ladder_file("empty.vtt")).await.unwrap();
    assert_eq!(storage.head(&empty).await.unwrap().and_then(|head| head.size), Some(0));
    assert_eq!(storage.read_prefix(&empty, 16).await.unwrap(), Some(Vec::new()));
    assert_eq!(storage.read_prefix(&empty, 0).await.unwrap(), Some(Vec::new()));
    let target = dir.join("downloads/empty.vtt");
    assert!(storage.get_to_file(&empty, &target).await.unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    storage.delete_prefix(&StorageKey::ladder_attempt("tenant-a", job, 4).unwrap()).await.unwrap();
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
    let _uploads = UploadsLock::shared().await;
    let storage = Storage::S3(S3Storage::new(&garage::settings_with_small_parts()));
    bounded(LIMIT, contract(&storage, &unique_job("s3"))).await;
}

#[tokio::test]
async fn s3_storage_is_built_from_its_configuration() {
    let settings = garage::settings();
    let storage = StorageConfig::S3 {
        endpoint: settings.endpoint.clone(),
        region: settings.region.clone(),
        bucket: settings.bucket.clone(),
        access_key_id: settings.access_key_id.clone(),
        secret_access_key: settings.secret_access_key.clone(),
    }
    .build()
    .unwrap();
    let job = unique_job("config");
    let key = StorageKey::ladder_file("tenant-a", &job, 1, "master.m3u8").unwrap();
    bounded(LIMIT, async {
        storage.put_bytes(&key, b"#EXTM3U\n".to_vec(), &ObjectMeta::for_ladder_file("master.m3u8")).await.unwrap();
        assert_eq!(storage.get_bytes(&key).await.unwrap().as_deref(), Some(&b"#EXTM3U\n"[..]));
        storage.delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn s3_objects_carry_the_headers_a_cdn_needs() {
    let storage = Storage::S3(S3Storage::new(&garage::settings()));
    let job = unique_job("headers");
    bounded(LIMIT, async {
        for (relative, content_type, cache_control) in [
            ("master.m3u8", "application/vnd.apple.mpegurl", "public, max-age=60"),
            ("720p/seg_00000.m4s", "video/iso.segment", "public, max-age=31536000, immutable"),
            ("720p/init.mp4", "video/mp4", "public, max-age=31536000, immutable"),
            ("subtitles/en/seg_00000.vtt", "text/vtt", "public, max-age=31536000, immutable"),
        ] {
            let key = StorageKey::ladder_file("tenant-a", &job, 1, relative).unwrap();
            storage.put_bytes(&key, b"x".to_vec(), &ObjectMeta::for_ladder_file(relative)).await.unwrap();
            let head = storage.head(&key).await.unwrap().expect("stored");
            assert_eq!(head.content_type.as_deref(), Some(content_type), "{relative}");
            assert_eq!(head.cache_control.as_deref(), Some(cache_control), "{relative}");
            assert_eq!(head.size, Some(1));
        }
        storage.delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn s3_with_wrong_credentials_fails_naming_the_key_and_is_not_retried() {
    let mut settings = garage::settings();
    settings.secret_access_key = "0".repeat(64);
    let storage = Storage::S3(S3Storage::new(&settings));
    let key = StorageKey::source("tenant-a", &unique_job("denied"), "lecture.mp4").unwrap();
    let error = bounded(LIMIT, storage.put_bytes(&key, b"x".to_vec(), &ObjectMeta::for_source())).await.unwrap_err();
    assert_eq!(error.code(), "s3-failed");
    assert!(error.to_string().contains(&key.path()), "{error}");
    assert!(!error.is_retryable(), "a refused signature would be refused again: {error:?}");
}

#[tokio::test]
async fn s3_unreachable_fails_with_a_retryable_error() {
    let mut settings = garage::settings();
    // A loopback port nothing listens on: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    settings.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let storage = Storage::S3(S3Storage::new(&settings));
    let key = StorageKey::source("tenant-a", &unique_job("down"), "lecture.mp4").unwrap();
    let error = bounded(LIMIT, storage.put_bytes(&key, b"x".to_vec(), &ObjectMeta::for_source())).await.unwrap_err();
    assert!(error.is_retryable(), "a refused connection is transient: {error:?}");
}

#[tokio::test]
async fn local_folder_sweeps_stray_temporary_files_by_age() {
    let root = tempfile::tempdir().unwrap();
    let storage = StorageConfig::Local { root: root.path().to_owned() }.build().unwrap();
    let key = StorageKey::ladder_file("tenant-a", "job", 1, "720p/seg_00000.m4s").unwrap();
    storage.put_bytes(&key, b"segment".to_vec(), &ObjectMeta::for_ladder_file("seg_00000.m4s")).await.unwrap();
    // What a write interrupted between writing and renaming leaves.
    let stray = root.path().join("ladders/tenant-a/job/1/720p/.seg_00001.m4s.tmp-1-0");
    std::fs::write(&stray, b"half a segment").unwrap();

    assert_eq!(storage.abort_abandoned_uploads(Duration::from_secs(3600)).await.unwrap(), 0);
    assert!(stray.exists(), "a young temporary file may belong to a write under way");
    assert_eq!(storage.abort_abandoned_uploads(Duration::ZERO).await.unwrap(), 1);
    assert!(!stray.exists());
    assert_eq!(storage.get_bytes(&key).await.unwrap().as_deref(), Some(&b"segment"[..]));
}

#[tokio::test]
async fn local_folder_has_no_presigned_uploads() {
    let root = tempfile::tempdir().unwrap();
    let storage = StorageConfig::Local { root: root.path().to_owned() }.build().unwrap();
    let key = StorageKey::source("tenant-a", "job", "lecture.mp4").unwrap();
    let error = storage.presign_put(&key, "video/mp4", 10, Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(error.code(), "unsupported");
    assert!(error.to_string().contains("S3"), "{error}");
}

#[tokio::test]
async fn s3_large_files_go_up_in_parts_with_checksums() {
    let _uploads = UploadsLock::shared().await;
    let settings = garage::settings_with_small_parts();
    let storage = Storage::S3(S3Storage::new(&settings));
    let raw = garage::client(&settings);
    let job = unique_job("parts");
    let dir = tempfile::tempdir().unwrap();
    bounded(LIMIT, async {
        for (name, size, parts) in [("large.mp4", 12 * MIB, Some(3)), ("small.mp4", 5 * MIB, None)] {
            let file = dir.path().join(name);
            std::fs::write(&file, pattern(size)).unwrap();
            let key = StorageKey::ladder_file("tenant-a", &job, 1, name).unwrap();
            storage.put_file(&key, &file, &ObjectMeta::for_ladder_file(name)).await.unwrap();
            let head = raw
                .head_object()
                .bucket(&settings.bucket)
                .key(key.path())
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send()
                .await
                .unwrap();
            // A multipart object's ETag ends in its number of parts.
            let etag = head.e_tag().unwrap_or_default().trim_matches('"').to_owned();
            let suffix = etag.rsplit_once('-').map(|(_, count)| count.parse::<u32>().unwrap());
            assert_eq!(suffix, parts, "{name}: ETag {etag}");
            assert!(head.checksum_crc32().is_some(), "{name} was stored without its CRC32: {head:?}");
        }
        storage.delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
    })
    .await;
    // No upload of this test is left unfinished.
    let unfinished =
        raw.list_multipart_uploads().bucket(&settings.bucket).prefix(format!("ladders/tenant-a/{job}/")).send();
    assert!(unfinished.await.unwrap().uploads().is_empty());
}

/// Sends one PUT over a fresh connection, as a browser would; the response's status and body.
async fn raw_put(url: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, target) = rest.split_at(rest.find('/').expect("a path"));
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok());
    let status = status.unwrap_or_else(|| panic!("no HTTP response: {response}"));
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn s3_presigned_upload_takes_exactly_the_signed_object() {
    let storage = Storage::S3(S3Storage::new(&garage::settings()));
    let job = unique_job("presigned");
    let key = |name: &str| StorageKey::ladder_file("tenant-a", &job, 1, name).unwrap();
    let body = pattern(1000);
    bounded(LIMIT, async {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let upload =
            storage.presign_put(&key("lecture.mp4"), "video/mp4", 1000, Duration::from_secs(300)).await.unwrap();
        assert_eq!(upload.method, "PUT");
        assert!(upload.headers.contains(&("content-type".to_owned(), "video/mp4".to_owned())), "{upload:?}");
        assert!(upload.headers.contains(&("content-length".to_owned(), "1000".to_owned())), "{upload:?}");
        assert!((now + 299..=now + 301).contains(&upload.expires_at_unix), "{upload:?}");

        let (status, answer) = raw_put(&upload.url, "video/mp4", &body).await;
        assert_eq!(status, 200, "{answer}");
        let head = storage.head(&key("lecture.mp4")).await.unwrap().expect("uploaded");
        assert_eq!((head.size, head.content_type.as_deref()), (Some(1000), Some("video/mp4")));
        assert_eq!(storage.get_bytes(&key("lecture.mp4")).await.unwrap(), Some(body.clone()));

        // Another size or another type breaks the signature.
        let upload = storage.presign_put(&key("other.mp4"), "video/mp4", 1000, Duration::from_secs(300)).await.unwrap();
        let (status, answer) = raw_put(&upload.url, "video/mp4", &body[..999]).await;
        assert_eq!(status, 403, "{answer}");
        let (status, answer) = raw_put(&upload.url, "video/mp4", &pattern(1001)).await;
        assert_eq!(status, 403, "{answer}");
        let (status, answer) = raw_put(&upload.url, "text/html", &body).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(storage.head(&key("other.mp4")).await.unwrap(), None);

        storage.delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn s3_presigned_upload_expires() {
    let storage = Storage::S3(S3Storage::new(&garage::settings()));
    let key = StorageKey::ladder_file("tenant-a", &unique_job("expired"), 1, "lecture.mp4").unwrap();
    bounded(LIMIT, async {
        let upload = storage.presign_put(&key, "video/mp4", 10, Duration::from_secs(1)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (status, answer) = raw_put(&upload.url, "video/mp4", b"0123456789").await;
        // AWS answers 403 "Request has expired"; Garage 400 "Date is too old".
        assert!(matches!(status, 400 | 403), "{status} {answer}");
        assert_eq!(storage.head(&key).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn s3_abandoned_multipart_uploads_are_aborted() {
    // Every unfinished upload in the bucket goes, so none of another test's may be under way.
    let _uploads = UploadsLock::exclusive().await;
    let settings = garage::settings();
    let storage = Storage::S3(S3Storage::new(&settings));
    let raw = garage::client(&settings);
    let key = format!("ladders/tenant-a/{}/1/abandoned.mp4", unique_job("abandoned"));
    bounded(LIMIT, async {
        let created = raw.create_multipart_upload().bucket(&settings.bucket).key(&key).send().await.unwrap();
        let upload_id = created.upload_id().unwrap().to_owned();
        let listed = || async {
            let page = raw.list_multipart_uploads().bucket(&settings.bucket).prefix(&key).send().await.unwrap();
            page.uploads().iter().filter_map(|upload| upload.upload_id().map(str::to_owned)).collect::<Vec<_>>()
        };
        assert_eq!(listed().await, std::slice::from_ref(&upload_id));

        storage.abort_abandoned_uploads(Duration::from_secs(3600)).await.unwrap();
        assert_eq!(listed().await, std::slice::from_ref(&upload_id), "an upload younger than the age is left alone");

        let aborted = storage.abort_abandoned_uploads(Duration::ZERO).await.unwrap();
        assert!(aborted >= 1, "{aborted}");
        assert!(listed().await.is_empty());
    })
    .await;
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
