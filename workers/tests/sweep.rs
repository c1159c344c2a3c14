//! Work folders that crashed attempts leave are swept; the folder of a running attempt never is.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lms_pipeline::TranscodeJob;
use lms_pipeline::jobs::{Claim, JobStore, NewJob, RetryPolicy};
use lms_testing::TestDatabase;
use lms_workers::fleet::sweep::sweep_work_dir;

fn job(id: &str) -> NewJob {
    NewJob {
        id: id.into(),
        tenant_id: "7".into(),
        source_key: format!("sources/7/{id}/lecture.mp4"),
        source_name: "lecture.mp4".into(),
        subtitles: Vec::new(),
    }
}

#[tokio::test]
async fn work_folders_of_ended_attempts_are_swept_and_a_running_ones_kept() {
    let database = TestDatabase::sqlite();
    let store = JobStore::connect(&database.url, RetryPolicy::default()).await.unwrap();
    let running = "0b6f2e5c-3d1a-4c8e-9f7a-2b4d6e8f0a1c";
    let published = "1c7a3f6d-4e2b-4d9f-8a0b-3c5e7f9a1b2d";
    store.create(&job(running)).await.unwrap();
    store.create(&job(published)).await.unwrap();
    // Attempt 1 of `running` is claimed and in progress; `published`'s attempt 1 has ended.
    for due in store.due_outbox(10).await.unwrap() {
        let message = TranscodeJob::from_json(&due.payload).unwrap();
        let claim = store.claim(&message, "w", Duration::from_secs(60)).await.unwrap();
        assert!(matches!(claim, Claim::Granted(_)));
        if message.job_id == published {
            let prefix = format!("ladders/7/{published}/1");
            assert!(store.mark_published(published, 1, "w", &prefix, None).await.unwrap());
        }
    }
    let work = tempfile::tempdir().unwrap();
    let folder = |job: &str, attempt: u32| {
        let path = work.path().join(format!("{job}-{attempt}-{}", "0f".repeat(16)));
        std::fs::create_dir_all(path.join("ladder/720p")).unwrap();
        std::fs::write(path.join("lecture.mp4"), b"a copy of the source").unwrap();
        path
    };
    let live = folder(running, 1);
    let ended = folder(published, 1);
    let stale_attempt = folder(running, 0);
    let unknown_job = folder("2d8b4a7e-5f3c-4e0a-9b1c-4d6f8a0b2c3e", 1);
    let not_ours = work.path().join("notes");
    std::fs::create_dir(&not_ours).unwrap();

    // Young folders are left: their attempts may have just ended and be removing them.
    assert_eq!(sweep_work_dir(&store, work.path(), Duration::from_secs(600)).await.unwrap(), 0);
    assert_eq!(sweep_work_dir(&store, work.path(), Duration::ZERO).await.unwrap(), 3);
    assert!(live.exists(), "the running attempt's folder was removed");
    assert!(!ended.exists() && !stale_attempt.exists() && !unknown_job.exists());
    assert!(not_ours.exists(), "a folder that is not a work folder was touched");
}
