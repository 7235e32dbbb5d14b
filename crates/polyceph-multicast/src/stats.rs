//! Counters: nothing a listener drops goes uncounted.

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A snapshot of a [`MulticastListener`](crate::MulticastListener)'s counters.
///
/// Every datagram read is counted in `received`, then ends in one of the
/// drop counters, becomes part of a message, or waits in reassembly for the
/// rest of its message. Every message (a
/// datagram, or fragments reassembled) is counted in `messages`, then ends in
/// `delivered` or one of `dropped_queue_full`, `decode_failed`,
/// `undeliverable` and `dropped_at_stop`, or is still queued.
///
/// The counters belong to the listener, not to one incarnation of it: a
/// restarted listener goes on counting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Datagrams read from the socket.
    pub received: u64,
    /// Datagrams not in the datagram format (foreign traffic, corruption).
    pub malformed: u64,
    /// Datagrams refused by the topic filter, including those without a topic.
    pub rejected_topic: u64,
    /// Fragments that arrived twice; the copy was dropped.
    pub duplicate_fragments: u64,
    /// Messages declaring more bytes than the listener's max message; dropped.
    pub oversized: u64,
    /// Incomplete messages dropped because their missing fragments did not
    /// arrive within the fragment timeout (one per message).
    pub fragments_expired: u64,
    /// Incomplete messages evicted, oldest first, to keep reassembly within
    /// its memory bound (one per message).
    pub reassembly_evicted: u64,
    /// Complete messages taken in: single datagrams and reassembled ones.
    pub messages: u64,
    /// Messages dropped because the listener's queue was full (which ones
    /// depends on the [`QueuePolicy`](crate::QueuePolicy)).
    pub dropped_queue_full: u64,
    /// Messages that did not decode (an invalid envelope, a payload that is
    /// not the typed channel's type).
    pub decode_failed: u64,
    /// Messages handed to the recipient's mailbox.
    pub delivered: u64,
    /// Messages the runtime could not deliver (no such recipient, a stopped
    /// recipient, a full mailbox that rejects).
    pub undeliverable: u64,
    /// Messages still queued when the listener stopped.
    pub dropped_at_stop: u64,
    /// Errors reading the socket.
    pub receive_errors: u64,
}

/// A live view of a listener's counters, for tests and monitoring: cheap to
/// clone, valid after the listener has stopped.
///
/// # Examples
///
/// ```
/// # use std::net::Ipv4Addr;
/// # use polyceph_multicast::{MulticastConfig, MulticastListener};
/// # let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 9), 26000)?;
/// let listener = MulticastListener::builder(config, "logger").build()?;
/// let stats = listener.stats();
/// assert_eq!(stats.get().received, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StatsHandle(pub(crate) Arc<Counters>);

impl StatsHandle {
    /// The counters now.
    pub fn get(&self) -> ListenerStats {
        let c = &self.0;
        ListenerStats {
            received: c.get(Stat::Received),
            malformed: c.get(Stat::Malformed),
            rejected_topic: c.get(Stat::RejectedTopic),
            duplicate_fragments: c.get(Stat::DuplicateFragments),
            oversized: c.get(Stat::Oversized),
            fragments_expired: c.get(Stat::FragmentsExpired),
            reassembly_evicted: c.get(Stat::ReassemblyEvicted),
            messages: c.get(Stat::Messages),
            dropped_queue_full: c.get(Stat::DroppedQueueFull),
            decode_failed: c.get(Stat::DecodeFailed),
            delivered: c.get(Stat::Delivered),
            undeliverable: c.get(Stat::Undeliverable),
            dropped_at_stop: c.get(Stat::DroppedAtStop),
            receive_errors: c.get(Stat::ReceiveErrors),
        }
    }

    /// Waits until the counters satisfy `done`, and returns them. Wakes on
    /// every change, never polls; bound it with `tokio::time::timeout`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn wait_until(&self, mut done: impl FnMut(&ListenerStats) -> bool) -> ListenerStats {
        let counters = &self.0;
        counters.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(counters);
        loop {
            let mut changed = pin!(counters.changed.notified());
            // Registered before reading: a change after the read wakes us.
            changed.as_mut().enable();
            let stats = self.get();
            if done(&stats) {
                return stats;
            }
            changed.await;
        }
    }
}

impl fmt::Debug for StatsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

/// Unregisters a waiter when its wait ends or is cancelled.
struct Waiting<'a>(&'a Counters);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One counter of [`ListenerStats`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stat {
    Received,
    Malformed,
    RejectedTopic,
    DuplicateFragments,
    Oversized,
    FragmentsExpired,
    ReassemblyEvicted,
    Messages,
    DroppedQueueFull,
    DecodeFailed,
    Delivered,
    Undeliverable,
    DroppedAtStop,
    ReceiveErrors,
}

const STATS: usize = Stat::ReceiveErrors as usize + 1;

/// The counters behind [`StatsHandle`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    values: [AtomicU64; STATS],
    /// How many [`StatsHandle::wait_until`] calls are waiting: bumps notify
    /// only then, so the hot path costs one atomic load more.
    waiting: AtomicUsize,
    changed: Notify,
}

impl Counters {
    pub(crate) fn bump(&self, stat: Stat) {
        self.add(stat, 1);
    }

    pub(crate) fn add(&self, stat: Stat, n: u64) {
        if n == 0 {
            return;
        }
        // SeqCst pairs with `wait_until`: either the waiter reads the new
        // value, or this sees the waiter and wakes it.
        self.values[stat as usize].fetch_add(n, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    pub(crate) fn get(&self, stat: Stat) -> u64 {
        self.values[stat as usize].load(Ordering::SeqCst)
    }
}

/// A snapshot of a [`MulticastBroadcaster`](crate::MulticastBroadcaster)'s
/// counters (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcasterStats {
    /// Messages published in full.
    pub published: u64,
    /// Datagrams sent (a fragmented message sends several).
    pub datagrams: u64,
    /// Messages refused (closed, too large, not encodable) or cut short by
    /// a send error.
    pub failed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct BroadcasterCounters {
    pub(crate) published: AtomicU64,
    pub(crate) datagrams: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl BroadcasterCounters {
    pub(crate) fn snapshot(&self) -> BroadcasterStats {
        BroadcasterStats {
            published: self.published.load(Ordering::Relaxed),
            datagrams: self.datagrams.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}
