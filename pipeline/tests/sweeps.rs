//! What crashes leave in storage is swept: source folders that no job owns (the server died between storing
//! an upload and committing its job, or a presigned upload was never completed) go once they are old
//! enough; a job's own sources and young folders stay. On a local folder with SQLite and PostgreSQL; on S3
//! (Garage) the listing the sweep relies on, without deleting anything other tests share.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/garage.rs"]
mod garage;

use std::time::Duration;

use garage::unique_job;
use lms_pipeline::jobs::{JobStore, NewJob, RetryPolicy};
use lms_pipeline::maintenance::sweep_orphaned_sources;
use lms_pipeline::storage::Storage;
use lms_pipeline::storage::s3::S3Storage;
use lms_pipeline::{ObjectMeta, StorageConfig, StorageKey};
use lms_testing::TestDatabase;

async fn put_source(storage: &Storage, tenant: &str, job: &str, file: &str) {
    let key = StorageKey::source(tenant, job, file).unwrap();
    storage.put_bytes(&key, b"bytes".to_vec(), &ObjectMeta::for_source()).await.unwrap();
}

#[tokio::test]
async fn sources_no_job_owns_are_swept_once_old_and_owned_ones_kept() {
    for database in TestDatabase::both().await {
        let root = tempfile::tempdir().unwrap();
        let storage = StorageConfig::Local { root: root.path().to_owned() }.build().unwrap();
        let store = JobStore::connect(&database.url, RetryPolicy::default()).await.unwrap();
        let owned = unique_job("owned");
        store
            .create(&NewJob {
                id: owned.clone(),
                tenant_id: "7".into(),
                source_key: format!("sources/7/{owned}/lecture.mp4"),
                source_name: "lecture.mp4".into(),
                subtitles: Vec::new(),
            })
            .await
            .unwrap();
        put_source(&storage, "7", &owned, "lecture.mp4").await;
        let orphan = unique_job("orphan");
        put_source(&storage, "7", &orphan, "lecture.mp4").await;
        put_source(&storage, "7", &orphan, "subtitle-en.srt").await;

        // Younger than the age: nothing goes, not even the orphan (its upload may still be going on).
        assert_eq!(sweep_orphaned_sources(&store, &storage, Duration::from_secs(3600)).await.unwrap(), 0);
        // Old enough: the orphan's folder goes whole, the job's sources stay.
        assert_eq!(sweep_orphaned_sources(&store, &storage, Duration::ZERO).await.unwrap(), 1, "{}", database.kind);
        let folder = |job: &str| StorageKey::source_folder("7", job).unwrap();
        assert!(storage.list(&folder(&orphan)).await.unwrap().is_empty());
        assert_eq!(storage.list(&folder(&owned)).await.unwrap(), ["lecture.mp4"]);
        // Nothing left to sweep.
        assert_eq!(sweep_orphaned_sources(&store, &storage, Duration::ZERO).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn s3_lists_source_folders_with_their_age() {
    let storage = Storage::S3(S3Storage::new(&garage::settings()));
    let tenant = unique_job("tenant");
    let job = unique_job("job");
    put_source(&storage, &tenant, &job, "lecture.mp4").await;
    let old = storage.source_folders_older_than(Duration::ZERO).await.unwrap();
    assert!(old.contains(&(tenant.clone(), job.clone())), "{old:?}");
    let young = storage.source_folders_older_than(Duration::from_secs(3600)).await.unwrap();
    assert!(!young.contains(&(tenant.clone(), job.clone())));
    storage.delete_prefix(&StorageKey::source_folder(&tenant, &job).unwrap()).await.unwrap();
}
