//! The in-process queue: a list behind a mutex, with the same delivery rules as the broker.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::{Delivery, Settle};

#[derive(Debug, Default)]
struct Shared {
    ready: Mutex<VecDeque<Vec<u8>>>,
    dead: Mutex<Vec<Vec<u8>>>,
    arrived: Notify,
}

impl Shared {
    fn push(&self, payload: Vec<u8>, front: bool) {
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        if front {
            ready.push_front(payload)
        } else {
            ready.push_back(payload)
        }
        drop(ready);
        self.arrived.notify_one();
    }
}

/// A queue inside this process.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    shared: Arc<Shared>,
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn publish(&self, payload: &[u8]) {
        self.shared.push(payload.to_vec(), false);
    }

    pub(crate) fn consume(&self, prefetch: u16) -> MemoryConsumer {
        MemoryConsumer { shared: self.shared.clone(), window: Arc::new(Semaphore::new(usize::from(prefetch.max(1)))) }
    }

    pub(crate) fn depth(&self) -> u64 {
        self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner).len() as u64
    }

    pub(crate) fn take_dead_letter(&self) -> Option<Vec<u8>> {
        let mut dead = self.shared.dead.lock().unwrap_or_else(PoisonError::into_inner);
        if dead.is_empty() { None } else { Some(dead.remove(0)) }
    }

    pub(crate) fn dead_letter_depth(&self) -> u64 {
        self.shared.dead.lock().unwrap_or_else(PoisonError::into_inner).len() as u64
    }
}

/// A consumer of the in-process queue.
#[derive(Debug)]
pub struct MemoryConsumer {
    shared: Arc<Shared>,
    /// One permit per unsettled delivery: the prefetch window.
    window: Arc<Semaphore>,
}

impl MemoryConsumer {
    pub(crate) async fn next(&mut self) -> Delivery {
        // The semaphore is never closed, so acquiring only waits.
        let permit = loop {
            if let Ok(permit) = self.window.clone().acquire_owned().await {
                break permit;
            }
        };
        loop {
            let notified = self.shared.arrived.notified();
            let popped = self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
            if let Some(payload) = popped {
                let ticket =
                    MemoryTicket { shared: self.shared.clone(), payload: Some(payload.clone()), _permit: permit };
                return Delivery { payload, redelivered: false, settle: Settle::Memory(ticket) };
            }
            notified.await;
        }
    }
}

/// The right to settle one delivery. Dropped unsettled, it puts the message back at the front.
#[derive(Debug)]
pub(crate) struct MemoryTicket {
    shared: Arc<Shared>,
    payload: Option<Vec<u8>>,
    _permit: OwnedSemaphorePermit,
}

impl MemoryTicket {
    pub(crate) fn ack(mut self) {
        self.payload = None;
    }

    pub(crate) fn reject(mut self) {
        if let Some(payload) = self.payload.take() {
            self.shared.dead.lock().unwrap_or_else(PoisonError::into_inner).push(payload);
        }
    }

    pub(crate) fn requeue(self) {
        // Drop does it.
    }
}

impl Drop for MemoryTicket {
    fn drop(&mut self) {
        if let Some(payload) = self.payload.take() {
            self.shared.push(payload, true);
        }
    }
}
