//! The bounded queue between the socket's reader and the delivery task.
//!
//! The reader never waits: when the queue is full it drops a message by the
//! [`QueuePolicy`] and goes back to the socket. One consumer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::Notify;

use crate::datagram::Kind;

/// Which message a full listener queue drops.
///
/// | policy | a full queue | suits |
/// |---|---|---|
/// | [`DropOldest`](Self::DropOldest) (default) | drops its oldest message for the new one: what waits is always the newest | telemetry and health, where the latest value matters and an old one is stale |
/// | [`DropNewest`](Self::DropNewest) | drops the new message: what was queued is delivered | events where the start of a burst matters more than its end |
///
/// Either way the drop is counted in
/// [`ListenerStats::dropped_queue_full`](crate::ListenerStats::dropped_queue_full)
/// and logged when dropping starts and stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueuePolicy {
    /// Drop the oldest queued message to make room for the new one.
    #[default]
    DropOldest,
    /// Drop the new message.
    DropNewest,
}

/// A complete message, as the reader hands it to delivery.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) kind: Kind,
    pub(crate) topic: Option<String>,
    pub(crate) payload: Vec<u8>,
    pub(crate) source: SocketAddr,
    pub(crate) received: SystemTime,
}

/// How many messages the consumer takes per lock.
const BATCH: usize = 32;

/// The queue: at most `capacity` messages and `max_bytes` payload bytes.
///
/// Both sides work in batches, one lock per batch: the reader queues a
/// burst of datagrams and wakes the consumer once; the consumer takes up to
/// [`BATCH`] messages at a time. Taken messages are in flight (no longer
/// subject to the drop policy) until delivered.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Wakes the consumer; a notification sent while it is busy is kept
    /// as a permit, so none is lost.
    ready: Notify,
    /// Messages taken by the consumer and not yet delivered.
    in_flight: AtomicU64,
    capacity: usize,
    max_bytes: usize,
    policy: QueuePolicy,
}

#[derive(Debug, Default)]
struct State {
    messages: VecDeque<Message>,
    bytes: usize,
    closed: bool,
}

impl Queue {
    pub(crate) fn new(capacity: usize, max_bytes: usize, policy: QueuePolicy) -> Self {
        Self {
            state: Mutex::default(),
            ready: Notify::new(),
            in_flight: AtomicU64::new(0),
            capacity,
            max_bytes,
            policy,
        }
    }

    /// Queues `messages` (emptying it) in order; returns how many messages
    /// were dropped for them (new ones or old ones), never waits. Does not
    /// wake the consumer: call [`wake`](Self::wake) after a burst.
    pub(crate) fn push_all(&self, messages: &mut Vec<Message>) -> u64 {
        let mut state = self.lock();
        if state.closed {
            let refused = messages.len() as u64;
            messages.clear();
            return refused;
        }
        let mut dropped = 0;
        for message in messages.drain(..) {
            let len = message.payload.len();
            let fits = |s: &State| s.messages.len() < self.capacity && s.bytes + len <= self.max_bytes;
            if !fits(&state) {
                if self.policy == QueuePolicy::DropNewest || len > self.max_bytes {
                    dropped += 1;
                    continue;
                }
                while !fits(&state) {
                    let Some(oldest) = state.messages.pop_front() else { break };
                    state.bytes -= oldest.payload.len();
                    dropped += 1;
                }
            }
            state.bytes += len;
            state.messages.push_back(message);
        }
        dropped
    }

    /// Wakes the consumer if it waits (or lets its next wait return at once).
    pub(crate) fn wake(&self) {
        self.ready.notify_one();
    }

    /// Moves the next messages (at least one, at most [`BATCH`]) into `out`,
    /// waiting for one; `false` once closed. They are in flight until
    /// [`delivered`](Self::delivered).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: messages are taken only when the future completes.
    pub(crate) async fn pop_batch(&self, out: &mut VecDeque<Message>) -> bool {
        loop {
            {
                let mut state = self.lock();
                if !state.messages.is_empty() {
                    let take = state.messages.len().min(BATCH);
                    out.extend(state.messages.drain(..take));
                    state.bytes -= out.iter().map(|m| m.payload.len()).sum::<usize>();
                    self.in_flight.store(out.len() as u64, Ordering::Relaxed);
                    return true;
                }
                if state.closed {
                    return false;
                }
            }
            self.ready.notified().await;
        }
    }

    /// The consumer is done with one message it took.
    pub(crate) fn delivered(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Refuses further messages and empties the queue; returns how many
    /// messages were dropped (queued or in flight).
    pub(crate) fn close(&self) -> u64 {
        let mut state = self.lock();
        state.closed = true;
        let dropped = state.messages.len() as u64 + self.in_flight.swap(0, Ordering::Relaxed);
        state.messages.clear();
        state.bytes = 0;
        drop(state);
        self.ready.notify_one();
        dropped
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(tag: u8, len: usize) -> Message {
        Message {
            kind: Kind::Raw,
            topic: None,
            payload: vec![tag; len],
            source: "127.0.0.1:1".parse().unwrap(),
            received: SystemTime::UNIX_EPOCH,
        }
    }

    fn push(queue: &Queue, tags: &[u8], len: usize) -> u64 {
        queue.push_all(&mut tags.iter().map(|&t| message(t, len)).collect())
    }

    fn drain(queue: &Queue) -> Vec<u8> {
        queue.lock().messages.drain(..).map(|m| m.payload[0]).collect()
    }

    #[test]
    fn drop_oldest_keeps_the_newest() {
        let queue = Queue::new(2, 1 << 20, QueuePolicy::DropOldest);
        assert_eq!(push(&queue, &[1, 2, 3, 4], 1), 2);
        assert_eq!(drain(&queue), [3, 4]);
    }

    #[test]
    fn drop_newest_keeps_the_oldest() {
        let queue = Queue::new(2, 1 << 20, QueuePolicy::DropNewest);
        assert_eq!(push(&queue, &[1, 2, 3, 4], 1), 2);
        assert_eq!(drain(&queue), [1, 2]);
    }

    #[test]
    fn the_byte_bound_holds_too() {
        let queue = Queue::new(100, 10, QueuePolicy::DropOldest);
        assert_eq!(push(&queue, &[1, 2], 4), 0);
        assert_eq!(push(&queue, &[3], 4), 1, "8 + 4 > 10: the oldest goes");
        assert_eq!(push(&queue, &[4], 11), 1, "larger than the bound: dropped itself");
        assert_eq!(drain(&queue), [2, 3]);
    }

    #[tokio::test]
    async fn batches_are_taken_in_order_and_close_counts_what_was_left() {
        let queue = Queue::new(100, 1 << 20, QueuePolicy::DropOldest);
        let tags: Vec<u8> = (0..40).collect();
        push(&queue, &tags, 1);
        let mut batch = VecDeque::new();
        assert!(queue.pop_batch(&mut batch).await);
        assert_eq!(batch.iter().map(|m| m.payload[0]).collect::<Vec<_>>(), tags[..BATCH]);
        batch.pop_front();
        queue.delivered();
        assert_eq!(queue.close(), (40 - BATCH + BATCH - 1) as u64, "eight queued, 31 in flight");
        assert!(!queue.pop_batch(&mut VecDeque::new()).await);
        assert_eq!(push(&queue, &[9], 1), 1, "refused once closed");
    }
}
