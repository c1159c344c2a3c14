//! The RabbitMQ queue, through lapin.
//!
//! Topology, declared by every publisher and consumer (declarations are idempotent):
//! - `{queue}`: a durable quorum queue with a delivery limit; messages rejected, or returned more often than
//!   the limit (their consumer keeps dying), go to the dead-letter exchange.
//! - `{queue}.dlx`, a direct exchange, routing to `{queue}.dead`, a durable queue an operator inspects.
//!
//! Publishing waits for the broker's confirm, with `mandatory` set: a message the broker returns as
//! unroutable is a failure, like a negative confirm, so the outbox keeps it. Messages are persistent.
//! Heartbeats come from the URL (`?heartbeat=10`). A consumer that loses its connection reconnects with
//! backoff; the deliveries it held are redelivered by the broker, which the job store's claim turns into no
//! more than one effect.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use super::{Delivery, Settle};
use crate::PipelineError;

/// Where the broker is and what the queue is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitSettings {
    /// `amqp://user:password@host:5672/%2f?heartbeat=10`.
    pub url: String,
    /// The work queue's name; the dead-letter exchange and queue are named after it.
    pub queue: String,
    /// Deliveries of one message before it is dead-lettered.
    pub delivery_limit: u32,
}

impl RabbitSettings {
    /// Settings for `url` with the standard queue name and a delivery limit of 5.
    pub fn new(url: &str) -> Self {
        Self { url: url.to_owned(), queue: "lms.transcode".into(), delivery_limit: 5 }
    }

    fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.queue)
    }

    fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.queue)
    }
}

/// The longest a publish (with its confirm) or a query of the broker may take. A broker under a memory or
/// disk alarm blocks publishers without refusing them; the caller must get its thread back and try later.
const BROKER_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `operation` against the broker within [`BROKER_TIMEOUT`].
async fn bounded<T>(
    operation: &'static str,
    future: impl std::future::Future<Output = Result<T, PipelineError>>,
) -> Result<T, PipelineError> {
    tokio::time::timeout(BROKER_TIMEOUT, future).await.unwrap_or_else(|_| {
        Err(PipelineError::Queue { operation, reason: format!("no answer from the broker in {BROKER_TIMEOUT:?}") })
    })
}

fn queue_error(operation: &'static str) -> impl FnOnce(lapin::Error) -> PipelineError {
    move |error| PipelineError::Queue { operation, reason: error.to_string() }
}

/// A RabbitMQ work queue.
#[derive(Debug, Clone)]
pub struct RabbitQueue {
    settings: Arc<RabbitSettings>,
    /// The publishing channel, opened on first use and again after a failure.
    publisher: Arc<Mutex<Option<(Connection, Channel)>>>,
}

impl RabbitQueue {
    /// Connects once to check the broker and declare the topology.
    pub async fn connect(settings: RabbitSettings) -> Result<Self, PipelineError> {
        let queue = Self { settings: Arc::new(settings), publisher: Arc::new(Mutex::new(None)) };
        queue.publishing_channel(&mut *queue.publisher.lock().await).await?;
        Ok(queue)
    }

    /// The settings in use.
    pub fn settings(&self) -> &RabbitSettings {
        &self.settings
    }

    async fn publishing_channel<'a>(
        &self,
        slot: &'a mut Option<(Connection, Channel)>,
    ) -> Result<&'a Channel, PipelineError> {
        let usable = slot
            .as_ref()
            .is_some_and(|(connection, channel)| connection.status().connected() && channel.status().connected());
        if !usable {
            let (connection, channel) = open(&self.settings).await?;
            channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(queue_error("confirm.select"))?;
            *slot = Some((connection, channel));
        }
        slot.as_ref()
            .map(|(_, channel)| channel)
            .ok_or(PipelineError::Queue { operation: "connect", reason: "no channel".into() })
    }

    /// Runs `work` on the shared channel (opened when needed) within [`BROKER_TIMEOUT`]. A failure drops the
    /// channel, so the next call starts from a fresh connection.
    async fn on_channel<T>(
        &self,
        operation: &'static str,
        work: impl AsyncFnOnce(&Channel) -> Result<T, PipelineError>,
    ) -> Result<T, PipelineError> {
        let mut slot = self.publisher.lock().await;
        let result = bounded(operation, async {
            let channel = self.publishing_channel(&mut slot).await?;
            work(channel).await
        })
        .await;
        if result.is_err() {
            *slot = None;
        }
        result
    }

    pub(crate) async fn publish(&self, payload: &[u8]) -> Result<(), PipelineError> {
        self.on_channel("publish", async |channel| {
            let properties =
                BasicProperties::default().with_delivery_mode(2).with_content_type("application/json".into());
            let confirm = channel
                .basic_publish(
                    "".into(),
                    self.settings.queue.as_str().into(),
                    BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                    payload,
                    properties,
                )
                .await
                .map_err(queue_error("publish"))?
                .await
                .map_err(queue_error("publish confirm"))?;
            match confirm {
                Confirmation::Ack(None) => Ok(()),
                Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => Err(PipelineError::Queue {
                    operation: "publish",
                    reason: format!(
                        "the broker returned the message ({} {})",
                        returned.reply_code, returned.reply_text
                    ),
                }),
                Confirmation::Nack(None) => {
                    Err(PipelineError::Queue { operation: "publish", reason: "the broker refused the message".into() })
                }
                Confirmation::NotRequested => Err(PipelineError::Queue {
                    operation: "publish",
                    reason: "the channel is not in confirm mode".into(),
                }),
            }
        })
        .await
    }

    pub(crate) async fn consume(&self, prefetch: u16) -> Result<RabbitConsumer, PipelineError> {
        let mut consumer = RabbitConsumer { settings: self.settings.clone(), prefetch, live: None };
        consumer.reconnect().await?;
        Ok(consumer)
    }

    async fn count(&self, queue: String) -> Result<u64, PipelineError> {
        self.on_channel("queue.declare", async |channel| {
            let declared = channel
                .queue_declare(
                    queue.into(),
                    QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() },
                    FieldTable::default(),
                )
                .await
                .map_err(queue_error("queue.declare"))?;
            Ok(u64::from(declared.message_count()))
        })
        .await
    }

    /// Deletes the work queue, the dead-letter queue and exchange, with their messages: for tests and for
    /// retiring a deployment.
    pub async fn delete_topology(&self) -> Result<(), PipelineError> {
        let (connection, channel) = open(&self.settings).await?;
        for queue in [self.settings.queue.clone(), self.settings.dead_letter_queue()] {
            channel
                .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
                .await
                .map_err(queue_error("queue.delete"))?;
        }
        channel
            .exchange_delete(
                self.settings.dead_letter_exchange().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await
            .map_err(queue_error("exchange.delete"))?;
        let _ = connection.close(200, "done".into()).await;
        *self.publisher.lock().await = None;
        Ok(())
    }

    pub(crate) async fn take_dead_letter(&self) -> Result<Option<super::DeadLetter>, PipelineError> {
        self.on_channel("basic.get", async |channel| {
            let message = channel
                .basic_get(self.settings.dead_letter_queue().into(), lapin::options::BasicGetOptions { no_ack: false })
                .await
                .map_err(queue_error("basic.get"))?;
            Ok(message.map(|message| super::DeadLetter {
                payload: message.delivery.data,
                acker: Some(message.delivery.acker),
            }))
        })
        .await
    }

    pub(crate) async fn depth(&self) -> Result<u64, PipelineError> {
        self.count(self.settings.queue.clone()).await
    }

    pub(crate) async fn dead_letter_depth(&self) -> Result<u64, PipelineError> {
        self.count(self.settings.dead_letter_queue()).await
    }
}

/// Opens a connection and a channel and declares the topology.
async fn open(settings: &RabbitSettings) -> Result<(Connection, Channel), PipelineError> {
    let connection =
        Connection::connect(&settings.url, ConnectionProperties::default()).await.map_err(queue_error("connect"))?;
    let channel = connection.create_channel().await.map_err(queue_error("channel.open"))?;
    let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    let dead_letter_exchange = settings.dead_letter_exchange();
    channel
        .exchange_declare(
            dead_letter_exchange.as_str().into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() },
            FieldTable::default(),
        )
        .await
        .map_err(queue_error("exchange.declare"))?;
    channel
        .queue_declare(settings.dead_letter_queue().into(), durable, FieldTable::default())
        .await
        .map_err(queue_error("queue.declare"))?;
    channel
        .queue_bind(
            settings.dead_letter_queue().into(),
            dead_letter_exchange.as_str().into(),
            settings.queue.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(queue_error("queue.bind"))?;
    let mut arguments = FieldTable::default();
    arguments.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    arguments
        .insert("x-delivery-limit".into(), AMQPValue::LongInt(i32::try_from(settings.delivery_limit).unwrap_or(5)));
    arguments.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(dead_letter_exchange.as_str().into()));
    arguments.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(settings.queue.as_str().into()));
    channel
        .queue_declare(settings.queue.as_str().into(), durable, arguments)
        .await
        .map_err(queue_error("queue.declare"))?;
    Ok((connection, channel))
}

/// A consumer that reconnects by itself.
#[derive(Debug)]
pub struct RabbitConsumer {
    settings: Arc<RabbitSettings>,
    prefetch: u16,
    live: Option<(Connection, Channel, lapin::Consumer)>,
}

impl RabbitConsumer {
    async fn reconnect(&mut self) -> Result<(), PipelineError> {
        self.live = None;
        let (connection, channel) = open(&self.settings).await?;
        channel.basic_qos(self.prefetch.max(1), BasicQosOptions::default()).await.map_err(queue_error("basic.qos"))?;
        let tag = format!("lms-media-{}-{}", std::process::id(), uuid::Uuid::new_v4());
        let consumer = channel
            .basic_consume(
                self.settings.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(queue_error("basic.consume"))?;
        self.live = Some((connection, channel, consumer));
        Ok(())
    }

    pub(crate) async fn next(&mut self) -> Result<Delivery, PipelineError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            if self.live.is_none() {
                if let Err(error) = self.reconnect().await {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "queue connection failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
                backoff = Duration::from_millis(200);
            }
            let Some((_, _, consumer)) = self.live.as_mut() else { continue };
            match consumer.next().await {
                Some(Ok(delivery)) => {
                    return Ok(Delivery {
                        payload: delivery.data,
                        redelivered: delivery.redelivered,
                        settle: Settle::Rabbit(RabbitTicket { acker: Some(delivery.acker) }),
                    });
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "queue consumer lost its connection; reconnecting");
                    self.live = None;
                }
                None => {
                    tracing::warn!("queue consumer was cancelled by the broker; reconnecting");
                    self.live = None;
                }
            }
        }
    }
}

/// The right to settle one delivery. Dropped unsettled, the message is handed back to the broker.
#[derive(Debug)]
pub(crate) struct RabbitTicket {
    acker: Option<lapin::Acker>,
}

impl RabbitTicket {
    pub(crate) async fn ack(mut self) {
        if let Some(acker) = self.acker.take() {
            // A failed ack means the channel is gone: the broker redelivers, and the claim drops the duplicate.
            if let Err(error) = acker.ack(BasicAckOptions::default()).await {
                tracing::warn!(%error, "could not acknowledge a delivery; the broker will deliver it again");
            }
        }
    }

    pub(crate) async fn reject(mut self) {
        if let Some(acker) = self.acker.take() {
            if let Err(error) = acker.reject(BasicRejectOptions { requeue: false }).await {
                tracing::warn!(%error, "could not reject a delivery");
            }
        }
    }

    pub(crate) async fn requeue(mut self) {
        if let Some(acker) = self.acker.take() {
            if let Err(error) = acker.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await {
                tracing::warn!(%error, "could not hand a delivery back");
            }
        }
    }
}

impl Drop for RabbitTicket {
    fn drop(&mut self) {
        if let Some(acker) = self.acker.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = acker.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await;
                });
            }
        }
    }
}
