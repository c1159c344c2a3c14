//! S3 storage under faults injected between it and Garage by a loopback proxy (tests/support/fault_proxy.rs):
//! transient faults are retried by the client until they pass, lasting ones come out as retryable errors
//! within seconds, and a body damaged on the way is refused by its checksum, in either direction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/garage.rs"]
mod garage;

use std::time::{Duration, Instant};

use fault_proxy::{Fault, FaultPlan, FaultProxy, Target};
use garage::{MIB, UploadsLock, bounded, unique_job};
use lms_pipeline::storage::s3::S3Storage;
use lms_pipeline::storage::{S3Settings, Storage};
use lms_pipeline::{ObjectMeta, StorageKey};

/// Network tests end within this, pass or fail.
const LIMIT: Duration = Duration::from_secs(90);

fn pattern(length: u64) -> Vec<u8> {
    (0..length).map(|i| (i % 251) as u8 ^ (i / 249 % 5) as u8).collect()
}

/// Storage that reaches Garage through `proxy`, sending files above 5 MiB in 5 MiB parts.
fn through(proxy: &FaultProxy) -> Storage {
    Storage::S3(S3Storage::new(&S3Settings { endpoint: Some(proxy.url()), ..garage::settings_with_small_parts() }))
}

fn ladder(job: &str, relative: &str) -> StorageKey {
    StorageKey::ladder_file("tenant-a", job, 1, relative).unwrap()
}

/// Storage straight on Garage, to check what the faulted requests left there.
fn direct() -> Storage {
    Storage::S3(S3Storage::new(&garage::settings()))
}

async fn unfinished_uploads(job: &str) -> usize {
    let settings = garage::settings();
    let page = garage::client(&settings)
        .list_multipart_uploads()
        .bucket(&settings.bucket)
        .prefix(format!("ladders/tenant-a/{job}/"))
        .send()
        .await
        .unwrap();
    page.uploads().len()
}

#[tokio::test]
async fn transient_faults_are_retried_until_the_operation_succeeds() {
    let _uploads = UploadsLock::shared().await;
    let settings = garage::settings();
    for fault in [Fault::Reset, Fault::SlowDown] {
        let proxy = FaultProxy::start(garage::address(&settings), FaultPlan::every_nth_request(3, fault));
        let storage = through(&proxy);
        let job = unique_job("faults");
        let dir = tempfile::tempdir().unwrap();
        bounded(LIMIT, async {
            let large = pattern(12 * MIB + 7);
            let file = dir.path().join("lecture.mp4");
            std::fs::write(&file, &large).unwrap();
            let key = ladder(&job, "720p/init.mp4");
            storage.put_file(&key, &file, &ObjectMeta::for_ladder_file("init.mp4")).await.unwrap();
            let back = dir.path().join("back.mp4");
            assert!(storage.get_to_file(&key, &back).await.unwrap());
            assert!(std::fs::read(&back).unwrap() == large, "{fault:?}: the large file came back different");

            // One request from a file, its checksum in a trailer.
            let medium = pattern(2 * MIB);
            std::fs::write(&file, &medium).unwrap();
            let key = ladder(&job, "720p/seg_00100.m4s");
            storage.put_file(&key, &file, &ObjectMeta::for_ladder_file("seg.m4s")).await.unwrap();
            assert!(storage.get_bytes(&key).await.unwrap() == Some(medium), "{fault:?}: the file came back different");

            for index in 0..6 {
                let key = ladder(&job, &format!("720p/seg_{index:05}.m4s"));
                let bytes = pattern(1000 + index);
                storage.put_bytes(&key, bytes.clone(), &ObjectMeta::for_ladder_file("seg.m4s")).await.unwrap();
                assert_eq!(storage.get_bytes(&key).await.unwrap(), Some(bytes), "{fault:?}");
            }
            assert_eq!(storage.list(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap().len(), 8);
            assert!(proxy.faults() > 0, "{fault:?}: no fault was injected in {} requests", proxy.requests());
            direct().delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
        })
        .await;
    }
}

#[tokio::test]
async fn lasting_faults_fail_retryably_within_seconds() {
    let settings = garage::settings();
    for plan in [
        FaultPlan::every_nth_request(1, Fault::SlowDown),
        FaultPlan::every_nth_request(1, Fault::Reset),
        // The client opens a new connection for each attempt after a reset.
        FaultPlan::every_nth_connection(1, Fault::Reset),
    ] {
        let proxy = FaultProxy::start(garage::address(&settings), plan);
        let storage = through(&proxy);
        let key = ladder(&unique_job("lasting"), "master.m3u8");
        let started = Instant::now();
        let error =
            bounded(LIMIT, storage.put_bytes(&key, b"#EXTM3U\n".to_vec(), &ObjectMeta::for_ladder_file("m.m3u8")))
                .await
                .unwrap_err();
        assert!(error.is_retryable(), "{plan:?}: {error:?}");
        assert!(error.to_string().contains(&key.path()), "{error}");
        // Five attempts with backoffs of at most 0.2, 0.4, 0.8 and 1.6 seconds between them.
        assert_eq!(proxy.faults(), 5, "{plan:?}: every attempt was faulted, and there are five");
        assert!(started.elapsed() < Duration::from_secs(10), "{plan:?}: took {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_body_damaged_on_the_way_up_is_refused_and_its_upload_aborted() {
    let _uploads = UploadsLock::shared().await;
    let settings = garage::settings();
    let plan = FaultPlan { fault: Fault::CorruptRequestBody, target: Target::BodiesOfAtLeast(1), every: 1 };
    let proxy = FaultProxy::start(garage::address(&settings), plan);
    let storage = through(&proxy);
    let job = unique_job("damaged-up");
    let dir = tempfile::tempdir().unwrap();
    bounded(LIMIT, async {
        // In memory (its checksum in a header), from a file (in a trailer), and in parts.
        let key = ladder(&job, "master.m3u8");
        let error = storage.put_bytes(&key, pattern(2000), &ObjectMeta::for_ladder_file("m.m3u8")).await.unwrap_err();
        // Damage on the way is no fault of the object: sending it again may well get through.
        assert!(error.is_retryable(), "{error:?}");
        for (name, size) in [("small.mp4", 2 * MIB), ("large.mp4", 12 * MIB)] {
            let file = dir.path().join(name);
            std::fs::write(&file, pattern(size)).unwrap();
            let key = ladder(&job, name);
            let error = storage.put_file(&key, &file, &ObjectMeta::for_ladder_file(name)).await.unwrap_err();
            assert!(error.is_retryable(), "{name}: {error:?}");
            assert!(format!("{error:?}").contains("Digest"), "{name} was refused for its checksum: {error:?}");
        }
        assert!(proxy.faults() >= 3);
        assert!(direct().list(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap().is_empty());
        assert_eq!(unfinished_uploads(&job).await, 0, "the failed multipart upload was aborted");
    })
    .await;
}

#[tokio::test]
async fn a_body_damaged_on_the_way_down_fails_its_checksum() {
    let settings = garage::settings();
    let job = unique_job("damaged-down");
    let key = ladder(&job, "720p/seg_00000.m4s");
    let bytes = pattern(300_000);
    let dir = tempfile::tempdir().unwrap();
    bounded(LIMIT, async {
        direct().put_bytes(&key, bytes.clone(), &ObjectMeta::for_ladder_file("seg.m4s")).await.unwrap();
        let plan = FaultPlan::every_nth_request(1, Fault::CorruptResponseBody);

        let proxy = FaultProxy::start(garage::address(&settings), plan);
        let error = through(&proxy).get_bytes(&key).await.unwrap_err();
        assert_eq!(proxy.faults(), 1);
        assert!(error.is_retryable(), "reading again may succeed: {error:?}");

        let proxy = FaultProxy::start(garage::address(&settings), plan);
        let target = dir.path().join("seg_00000.m4s");
        through(&proxy).get_to_file(&key, &target).await.unwrap_err();
        assert_eq!(proxy.faults(), 1);
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing is left of the damaged download");

        // Without the damage the same reads succeed, so it was the checksum that failed them.
        let proxy = FaultProxy::start(garage::address(&settings), FaultPlan::none());
        assert_eq!(through(&proxy).get_bytes(&key).await.unwrap(), Some(bytes));
        direct().delete_prefix(&StorageKey::ladder_attempt("tenant-a", &job, 1).unwrap()).await.unwrap();
    })
    .await;
}
