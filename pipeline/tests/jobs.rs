//! The job store's promises, on SQLite and on PostgreSQL: one outbox message per change, one claim per
//! attempt, zombies fenced out, retries with backoff, dead jobs kept and replayable.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lms_pipeline::TranscodeJob;
use lms_pipeline::jobs::{Claim, Failure, FailureOutcome, JobState, JobStore, NewJob, RetryPolicy};
use lms_testing::TestDatabase;

fn new_job(id: &str) -> NewJob {
    NewJob {
        id: id.into(),
        tenant_id: "school-1".into(),
        source_key: format!("sources/school-1/{id}/lecture.mp4"),
        source_name: "lecture.mp4".into(),
        subtitles: Vec::new(),
    }
}

fn quick_policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 3, first_backoff: Duration::ZERO, max_backoff: Duration::ZERO }
}

/// Takes the one due message, checks it is for `attempt`, and removes it as the relay would.
async fn take_message(store: &JobStore, attempt: u32) -> TranscodeJob {
    let due = store.due_outbox(10).await.unwrap();
    assert_eq!(due.len(), 1, "expected one due message, found {due:?}");
    store.delete_outbox(&due[0].id).await.unwrap();
    let message = TranscodeJob::from_json(&due[0].payload).unwrap();
    assert_eq!(message.attempt, attempt);
    message
}

fn crash() -> Failure {
    Failure { code: "encode-crashed".into(), message: "the encoder died".into(), retryable: true }
}

#[tokio::test]
async fn claim_renew_publish_and_duplicates() {
    for database in TestDatabase::both().await {
        let store = JobStore::connect(&database.url, quick_policy()).await.unwrap();
        let created = store.create(&new_job("job-1")).await.unwrap();
        assert_eq!((created.state, created.attempt), (JobState::Queued, 0), "{}", database.kind);
        assert!(store.get("other-school", "job-1").await.unwrap().is_none(), "tenants are kept apart");

        let message = take_message(&store, 1).await;
        let lease = Duration::from_secs(30);
        let Claim::Granted(record) = store.claim(&message, "worker-a", lease).await.unwrap() else {
            panic!("first claim refused on {}", database.kind)
        };
        assert_eq!((record.state, record.attempt), (JobState::Running, 1));
        // Leases run on the database's clock, in Unix milliseconds like every other time.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let until = record.lease_until_ms.unwrap();
        assert!((until - now - 30_000).abs() < 5_000, "lease ends {} ms from now on {}", until - now, database.kind);
        // The same message again (redelivered, or delivered to a second worker) has no effect.
        assert!(matches!(store.claim(&message, "worker-b", lease).await.unwrap(), Claim::Stale { .. }));

        assert!(store.renew("job-1", 1, "worker-a", lease, 0.5).await.unwrap());
        assert!(!store.renew("job-1", 1, "worker-b", lease, 0.9).await.unwrap(), "a stranger renewed");
        assert_eq!(store.get("school-1", "job-1").await.unwrap().unwrap().progress, 0.5);

        assert!(!store.mark_published("job-1", 1, "worker-b", "ladders/x", None).await.unwrap());
        assert!(store.mark_published("job-1", 1, "worker-a", "ladders/school-1/job-1/1", None).await.unwrap());
        let done = store.get("school-1", "job-1").await.unwrap().unwrap();
        assert_eq!(done.state, JobState::Published);
        assert_eq!(done.ladder_prefix.as_deref(), Some("ladders/school-1/job-1/1"));
        assert!(matches!(store.claim(&message, "worker-a", lease).await.unwrap(), Claim::Stale { .. }));
        assert!(store.due_outbox(10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn concurrent_claims_grant_exactly_one() {
    for database in TestDatabase::both().await {
        let store = JobStore::connect(&database.url, quick_policy()).await.unwrap();
        store.create(&new_job("job-race")).await.unwrap();
        let message = take_message(&store, 1).await;
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let store = store.clone();
            let message = message.clone();
            tasks.push(tokio::spawn(async move {
                store.claim(&message, &format!("worker-{worker}"), Duration::from_secs(30)).await.unwrap()
            }));
        }
        let mut granted = 0;
        for task in tasks {
            if matches!(task.await.unwrap(), Claim::Granted(_)) {
                granted += 1;
            }
        }
        assert_eq!(granted, 1, "claims granted on {}", database.kind);
    }
}

#[tokio::test]
async fn failures_retry_then_die_and_replay() {
    for database in TestDatabase::both().await {
        let store = JobStore::connect(&database.url, quick_policy()).await.unwrap();
        store.create(&new_job("job-poison")).await.unwrap();
        for attempt in 1..=3 {
            let message = take_message(&store, attempt).await;
            assert!(matches!(store.claim(&message, "w", Duration::from_secs(30)).await.unwrap(), Claim::Granted(_)));
            let outcome = store.fail("job-poison", attempt, "w", &crash()).await.unwrap();
            if attempt < 3 {
                assert!(matches!(outcome, FailureOutcome::Retrying { .. }), "attempt {attempt}: {outcome:?}");
            } else {
                assert_eq!(outcome, FailureOutcome::Final(JobState::Dead));
            }
        }
        let dead = store.get("school-1", "job-poison").await.unwrap().unwrap();
        assert_eq!(dead.state, JobState::Dead, "{}", database.kind);
        assert_eq!(dead.error_code.as_deref(), Some("encode-crashed"));
        assert!(store.due_outbox(10).await.unwrap().is_empty(), "a dead job is not retried");

        let replayed = store.replay("school-1", "job-poison").await.unwrap().unwrap();
        assert_eq!((replayed.state, replayed.max_attempts), (JobState::Queued, 6));
        let message = take_message(&store, 4).await;
        assert!(matches!(store.claim(&message, "w", Duration::from_secs(30)).await.unwrap(), Claim::Granted(_)));
        assert!(store.replay("other-school", "job-poison").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn refused_sources_are_not_retried() {
    for database in TestDatabase::both().await {
        let store = JobStore::connect(&database.url, quick_policy()).await.unwrap();
        store.create(&new_job("job-bad")).await.unwrap();
        let message = take_message(&store, 1).await;
        store.claim(&message, "w", Duration::from_secs(30)).await.unwrap();
        let refusal =
            Failure { code: "input-rejected".into(), message: "not a video: text/plain".into(), retryable: false };
        assert_eq!(store.fail("job-bad", 1, "w", &refusal).await.unwrap(), FailureOutcome::Final(JobState::Rejected));
        let record = store.get("school-1", "job-bad").await.unwrap().unwrap();
        assert_eq!(record.error_message.as_deref(), Some("not a video: text/plain"), "{}", database.kind);
    }
}

#[tokio::test]
async fn backoff_delays_the_next_attempt() {
    let database = TestDatabase::sqlite();
    let policy = RetryPolicy { max_attempts: 3, first_backoff: Duration::from_secs(60), max_backoff: Duration::MAX };
    let store = JobStore::connect(&database.url, policy).await.unwrap();
    store.create(&new_job("job-slow")).await.unwrap();
    let message = take_message(&store, 1).await;
    store.claim(&message, "w", Duration::from_secs(30)).await.unwrap();
    let FailureOutcome::Retrying { at_ms } = store.fail("job-slow", 1, "w", &crash()).await.unwrap() else {
        panic!("not retried")
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((55_000..=61_000).contains(&(at_ms - now)), "backoff {} ms", at_ms - now);
    assert!(store.due_outbox(10).await.unwrap().is_empty(), "the retry is not due yet");
    assert_eq!(store.outbox_len().await.unwrap(), 1);
    assert_eq!(policy.backoff(2), Duration::from_secs(120));
}

#[tokio::test]
async fn expired_leases_are_reaped_and_zombies_fenced() {
    for database in TestDatabase::both().await {
        let store = JobStore::connect(&database.url, quick_policy()).await.unwrap();
        store.create(&new_job("job-zombie")).await.unwrap();
        let message = take_message(&store, 1).await;
        store.claim(&message, "zombie", Duration::from_millis(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let reaped = store.reap_expired_leases().await.unwrap();
        assert_eq!(reaped.len(), 1, "{}", database.kind);
        assert!(matches!(reaped[0].1, FailureOutcome::Retrying { .. }));

        // The next attempt goes to a live worker; the zombie's late writes change nothing.
        let retry = take_message(&store, 2).await;
        assert!(matches!(store.claim(&retry, "live", Duration::from_secs(30)).await.unwrap(), Claim::Granted(_)));
        assert!(!store.renew("job-zombie", 1, "zombie", Duration::from_secs(30), 0.7).await.unwrap());
        assert!(!store.mark_published("job-zombie", 1, "zombie", "ladders/school-1/job-zombie/1", None).await.unwrap());
        assert_eq!(store.fail("job-zombie", 1, "zombie", &crash()).await.unwrap(), FailureOutcome::Fenced);
        assert!(store.mark_published("job-zombie", 2, "live", "ladders/school-1/job-zombie/2", None).await.unwrap());
        let record = store.get("school-1", "job-zombie").await.unwrap().unwrap();
        assert_eq!(record.published_attempt, Some(2));
    }
}

#[tokio::test]
async fn lost_messages_are_published_again() {
    for database in TestDatabase::both().await {
        let store = JobStore::connect(&database.url, quick_policy()).await.unwrap();
        store.create(&new_job("job-lost")).await.unwrap();
        // The message is published (and its row deleted), then lost with an in-process queue.
        take_message(&store, 1).await;
        assert_eq!(store.requeue_stale(Duration::from_secs(3600)).await.unwrap(), 0, "not stale yet");
        assert_eq!(store.requeue_stale(Duration::ZERO).await.unwrap(), 1, "{}", database.kind);
        assert_eq!(store.requeue_stale(Duration::ZERO).await.unwrap(), 0, "its message is waiting already");
        take_message(&store, 1).await;
        let counts = store.count_by_state().await.unwrap();
        assert!(counts.contains(&(JobState::Queued, 1)), "{counts:?}");
    }
}
