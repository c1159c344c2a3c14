//! The queue that delivers job messages to workers: in process (the embedded default) or RabbitMQ.
//!
//! Both backends have the same contract, checked by one test suite: a published message is delivered at
//! least once; a delivery that is neither acknowledged nor rejected (its worker died, or dropped it) is
//! delivered again; a rejected delivery goes to the dead-letter queue; a consumer gets at most `prefetch`
//! deliveries it has not settled. Exactly-once *effects* come from the job store's claim, not from the queue.

mod memory;
mod rabbit;

pub use memory::MemoryQueue;
pub use rabbit::{RabbitQueue, RabbitSettings};

use crate::PipelineError;

/// A queue of job messages.
#[derive(Debug, Clone)]
pub enum Queue {
    /// In this process; messages die with it (the job store publishes them again at start-up).
    Memory(MemoryQueue),
    /// RabbitMQ: durable, confirmed, with a dead-letter queue and a delivery limit.
    Rabbit(RabbitQueue),
}

impl Queue {
    /// Publishes `payload`; returns once the queue has taken responsibility for it (for RabbitMQ: the
    /// broker confirmed it and did not return it as unroutable).
    pub async fn publish(&self, payload: &[u8]) -> Result<(), PipelineError> {
        match self {
            Queue::Memory(memory) => {
                memory.publish(payload);
                Ok(())
            }
            Queue::Rabbit(rabbit) => rabbit.publish(payload).await,
        }
    }

    /// Starts consuming with at most `prefetch` unsettled deliveries.
    pub async fn consume(&self, prefetch: u16) -> Result<Consumer, PipelineError> {
        match self {
            Queue::Memory(memory) => Ok(Consumer::Memory(memory.consume(prefetch))),
            Queue::Rabbit(rabbit) => Ok(Consumer::Rabbit(Box::new(rabbit.consume(prefetch).await?))),
        }
    }

    /// Messages waiting for a consumer.
    pub async fn depth(&self) -> Result<u64, PipelineError> {
        match self {
            Queue::Memory(memory) => Ok(memory.depth()),
            Queue::Rabbit(rabbit) => rabbit.depth().await,
        }
    }

    /// Messages in the dead-letter queue.
    pub async fn dead_letter_depth(&self) -> Result<u64, PipelineError> {
        match self {
            Queue::Memory(memory) => Ok(memory.dead_letter_depth()),
            Queue::Rabbit(rabbit) => rabbit.dead_letter_depth().await,
        }
    }

    /// Takes one message out of the dead-letter queue, if there is one. The caller records what it means and
    /// then calls [`DeadLetter::done`]; a dead letter not done with stays in the queue (RabbitMQ).
    pub async fn take_dead_letter(&self) -> Result<Option<DeadLetter>, PipelineError> {
        match self {
            Queue::Memory(memory) => Ok(memory.take_dead_letter().map(|payload| DeadLetter { payload, acker: None })),
            Queue::Rabbit(rabbit) => rabbit.take_dead_letter().await,
        }
    }

    /// Whether the queue is reachable now, for readiness probes.
    pub async fn ready(&self) -> bool {
        match self {
            Queue::Memory(_) => true,
            Queue::Rabbit(rabbit) => rabbit.depth().await.is_ok(),
        }
    }

    /// Whether messages survive this process (false for the in-process queue).
    pub fn is_durable(&self) -> bool {
        matches!(self, Queue::Rabbit(_))
    }
}

/// Receives deliveries.
#[derive(Debug)]
pub enum Consumer {
    /// From the in-process queue.
    Memory(memory::MemoryConsumer),
    /// From RabbitMQ; reconnects by itself.
    Rabbit(Box<rabbit::RabbitConsumer>),
}

impl Consumer {
    /// The next delivery; waits for one. Errors only when the queue is gone for good.
    pub async fn next(&mut self) -> Result<Delivery, PipelineError> {
        match self {
            Consumer::Memory(memory) => Ok(memory.next().await),
            Consumer::Rabbit(rabbit) => rabbit.next().await,
        }
    }
}

/// A message taken from the dead-letter queue.
#[derive(Debug)]
pub struct DeadLetter {
    /// The message body.
    pub payload: Vec<u8>,
    acker: Option<lapin::Acker>,
}

impl DeadLetter {
    /// Leaves it in the dead-letter queue, to be read again (recording it failed).
    pub async fn give_back(self) {
        if let Some(acker) = self.acker {
            let requeue = lapin::options::BasicNackOptions { requeue: true, ..Default::default() };
            if let Err(error) = acker.nack(requeue).await {
                tracing::warn!(%error, "could not give a dead letter back; the broker will when the channel closes");
            }
        }
    }

    /// Removes it from the dead-letter queue for good.
    pub async fn done(self) {
        if let Some(acker) = self.acker {
            if let Err(error) = acker.ack(lapin::options::BasicAckOptions::default()).await {
                tracing::warn!(%error, "could not remove a dead letter; it will be read again");
            }
        }
    }
}

/// One delivered message. Dropping it without settling hands it back to the queue.
#[derive(Debug)]
pub struct Delivery {
    /// The message body.
    pub payload: Vec<u8>,
    /// Whether the queue delivered it before (to this or another consumer).
    pub redelivered: bool,
    settle: Settle,
}

#[derive(Debug)]
enum Settle {
    Memory(memory::MemoryTicket),
    Rabbit(rabbit::RabbitTicket),
}

impl Delivery {
    /// Done with: the queue forgets it.
    pub async fn ack(self) {
        match self.settle {
            Settle::Memory(ticket) => ticket.ack(),
            Settle::Rabbit(ticket) => ticket.ack().await,
        }
    }

    /// Unreadable or poisonous: moved to the dead-letter queue, never delivered again.
    pub async fn reject(self) {
        match self.settle {
            Settle::Memory(ticket) => ticket.reject(),
            Settle::Rabbit(ticket) => ticket.reject().await,
        }
    }

    /// Handed back to be delivered again (this worker is shutting down).
    pub async fn requeue(self) {
        match self.settle {
            Settle::Memory(ticket) => ticket.requeue(),
            Settle::Rabbit(ticket) => ticket.requeue().await,
        }
    }
}
