//! One contract for both queues, the in-process one and RabbitMQ as `scripts/setup` runs it on loopback
//! (`LMS_MEDIA_TEST_AMQP_URL` overrides where). Each RabbitMQ test uses its own queue and deletes it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lms_pipeline::queue::{MemoryQueue, Queue, RabbitQueue, RabbitSettings};

fn amqp_url() -> String {
    std::env::var("LMS_MEDIA_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=10".into())
}

async fn rabbit(delivery_limit: u32) -> (Queue, RabbitQueue) {
    let settings = RabbitSettings {
        url: amqp_url(),
        queue: format!("lms.test.{}", uuid::Uuid::new_v4().simple()),
        delivery_limit,
    };
    let rabbit = RabbitQueue::connect(settings)
        .await
        .unwrap_or_else(|error| panic!("RabbitMQ is not reachable ({error}): run scripts/setup"));
    (Queue::Rabbit(rabbit.clone()), rabbit)
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The contract: delivery, redelivery of what was dropped, dead-lettering of what was rejected, the
/// prefetch window.
async fn contract(queue: &Queue) {
    for body in [&b"one"[..], b"two", b"three"] {
        within("publish", queue.publish(body)).await.unwrap();
    }
    let mut consumer = within("consume", queue.consume(2)).await.unwrap();
    let first = within("first delivery", consumer.next()).await.unwrap();
    assert_eq!(first.payload, b"one");
    let second = within("second delivery", consumer.next()).await.unwrap();
    assert_eq!(second.payload, b"two");
    // Two unsettled deliveries fill the window: the third waits.
    assert!(tokio::time::timeout(Duration::from_millis(500), consumer.next()).await.is_err(), "prefetch ignored");

    first.ack().await;
    let third = within("third delivery", consumer.next()).await.unwrap();
    assert_eq!(third.payload, b"three");
    // Dropped unsettled: delivered again.
    drop(second);
    let again = within("redelivery", consumer.next()).await.unwrap();
    assert_eq!(again.payload, b"two");
    // Rejected: dead-lettered, not delivered again.
    again.reject().await;
    third.ack().await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), consumer.next()).await.is_err(),
        "a rejected message came back"
    );
    within("depth", async {
        while queue.dead_letter_depth().await.unwrap() != 1 || queue.depth().await.unwrap() != 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn memory_queue_keeps_the_contract() {
    contract(&Queue::Memory(MemoryQueue::new())).await;
}

#[tokio::test]
async fn rabbitmq_keeps_the_contract() {
    let (queue, rabbit) = rabbit(5).await;
    contract(&queue).await;
    rabbit.delete_topology().await.unwrap();
}

#[tokio::test]
async fn rabbitmq_dead_letters_a_message_whose_consumers_keep_dying() {
    let (queue, rabbit) = rabbit(2).await;
    queue.publish(b"poison").await.unwrap();
    // Each consumer takes the message and dies (its connection closes) without settling it.
    for _ in 0..3 {
        let mut consumer = within("consume", queue.consume(1)).await.unwrap();
        let Ok(Ok(delivery)) = tokio::time::timeout(Duration::from_secs(3), consumer.next()).await else { break };
        std::mem::forget(delivery);
        drop(consumer);
    }
    within("dead-lettered", async {
        while queue.dead_letter_depth().await.unwrap() != 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(queue.depth().await.unwrap(), 0);
    rabbit.delete_topology().await.unwrap();
}

#[tokio::test]
async fn rabbitmq_publish_fails_when_the_queue_is_gone() {
    let (queue, rabbit) = rabbit(5).await;
    queue.publish(b"routed").await.unwrap();
    // Another client removes the queue under the publisher's open channel: with `mandatory`, the broker
    // returns the next message, and that is a failure, not a success.
    let other = RabbitQueue::connect(rabbit.settings().clone()).await.unwrap();
    other.delete_topology().await.unwrap();
    let error = within("publish", queue.publish(b"nowhere")).await.unwrap_err();
    assert!(error.to_string().contains("returned"), "{error}");
    rabbit.delete_topology().await.unwrap();
}

/// A message the broker gives up on becomes a dead job with that reason, which can be replayed.
#[tokio::test]
async fn dead_letters_become_dead_jobs() {
    use lms_pipeline::jobs::{JobState, JobStore, NewJob, RetryPolicy};
    use lms_pipeline::maintenance::bury_dead_letters;

    let (queue, rabbit) = rabbit(1).await;
    let database = lms_testing::TestDatabase::postgres().await;
    let store = JobStore::connect(&database.url, RetryPolicy::default()).await.unwrap();
    let job = NewJob {
        id: "job-dl".into(),
        tenant_id: "school-1".into(),
        source_key: "sources/school-1/job-dl/lecture.mp4".into(),
        source_name: "lecture.mp4".into(),
        subtitles: Vec::new(),
    };
    store.create(&job).await.unwrap();
    // The relay's part, by hand: publish the outbox message and drop its row.
    let due = store.due_outbox(10).await.unwrap();
    queue.publish(&due[0].payload).await.unwrap();
    store.delete_outbox(&due[0].id).await.unwrap();
    // Its consumers die before settling it, more often than the delivery limit.
    for _ in 0..2 {
        let mut consumer = within("consume", queue.consume(1)).await.unwrap();
        let Ok(Ok(delivery)) = tokio::time::timeout(Duration::from_secs(3), consumer.next()).await else { break };
        std::mem::forget(delivery);
    }
    let buried = within("bury", async {
        loop {
            let buried = bury_dead_letters(&store, &queue).await.unwrap();
            if buried > 0 {
                return buried;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(buried, 1);
    let record = store.get("school-1", "job-dl").await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Dead);
    assert_eq!(record.error_code.as_deref(), Some("dead-lettered"));
    assert_eq!(queue.dead_letter_depth().await.unwrap(), 0, "the dead letter was not removed");
    assert_eq!(store.replay("school-1", "job-dl").await.unwrap().unwrap().state, JobState::Queued);
    rabbit.delete_topology().await.unwrap();
}
