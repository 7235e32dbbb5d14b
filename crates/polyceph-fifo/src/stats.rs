//! Counters: nothing a reader or writer drops or fails goes uncounted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};

use tokio::sync::Notify;

/// A snapshot of a [`FifoReader`](crate::FifoReader)'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderStats {
    /// Messages handed to the recipient's mailbox.
    pub delivered: u64,
    /// Replies (and `acked`/`undelivered` answers) from the far side that
    /// completed a request of ours (paired readers only).
    pub settled: u64,
    /// Answers to the far side's requests written back through the paired writer.
    pub answered: u64,
    /// Answers owed to the far side that could not be written (no reader,
    /// writer closed...); the far side's request times out.
    pub answers_lost: u64,
    /// Bad stretches of input skipped: bytes that are no frame, a frame over
    /// the limit or cut short, a payload that is no envelope, a bad line or
    /// record. Each is logged.
    pub malformed: u64,
    /// Bytes skipped in those stretches.
    pub skipped_bytes: u64,
    /// Messages the recipient did not take (no such actor, stopped, mailbox
    /// full and rejecting). Each is logged; the application counts them as
    /// dead letters too.
    pub undelivered: u64,
    /// Control envelopes from the far side that answered nothing pending.
    pub stray_controls: u64,
    /// Times every writer had closed the FIFO (end of input), after which
    /// the reader waited for the next one.
    pub writers_gone: u64,
}

/// Live counters of a [`FifoReader`](crate::FifoReader): a handle that
/// stays valid while the reader runs inside an application, and across its
/// restarts. Cloning shares the counters.
#[derive(Debug, Clone, Default)]
pub struct ReaderCounters(Arc<ReaderInner>);

#[derive(Debug, Default)]
struct ReaderInner {
    delivered: AtomicU64,
    settled: AtomicU64,
    answered: AtomicU64,
    answers_lost: AtomicU64,
    malformed: AtomicU64,
    skipped_bytes: AtomicU64,
    undelivered: AtomicU64,
    stray_controls: AtomicU64,
    writers_gone: AtomicU64,
    /// How many `wait_for` calls are waiting: counting costs no wake-up
    /// when nobody waits.
    waiting: AtomicUsize,
    changed: Notify,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Delivered,
    Settled,
    Answered,
    AnswerLost,
    Undelivered,
    StrayControl,
    WritersGone,
}

impl ReaderCounters {
    /// The counters now.
    pub fn snapshot(&self) -> ReaderStats {
        let c = &self.0;
        ReaderStats {
            delivered: c.delivered.load(SeqCst),
            settled: c.settled.load(SeqCst),
            answered: c.answered.load(SeqCst),
            answers_lost: c.answers_lost.load(SeqCst),
            malformed: c.malformed.load(SeqCst),
            skipped_bytes: c.skipped_bytes.load(SeqCst),
            undelivered: c.undelivered.load(SeqCst),
            stray_controls: c.stray_controls.load(SeqCst),
            writers_gone: c.writers_gone.load(SeqCst),
        }
    }

    /// Waits until `done` holds for the counters, and returns them. Use it
    /// under a timeout: it waits as long as it takes.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn wait_for(&self, mut done: impl FnMut(&ReaderStats) -> bool) -> ReaderStats {
        let c = &self.0;
        c.waiting.fetch_add(1, SeqCst);
        let _waiting = Waiting(&c.waiting);
        loop {
            let changed = c.changed.notified();
            tokio::pin!(changed);
            // Registered before reading, so no change is missed in between.
            changed.as_mut().enable();
            let stats = self.snapshot();
            if done(&stats) {
                return stats;
            }
            changed.await;
        }
    }

    pub(crate) fn bump(&self, count: Count) {
        let c = &self.0;
        let counter = match count {
            Count::Delivered => &c.delivered,
            Count::Settled => &c.settled,
            Count::Answered => &c.answered,
            Count::AnswerLost => &c.answers_lost,
            Count::Undelivered => &c.undelivered,
            Count::StrayControl => &c.stray_controls,
            Count::WritersGone => &c.writers_gone,
        };
        counter.fetch_add(1, SeqCst);
        self.changed();
    }

    pub(crate) fn malformed(&self, bytes: u64) {
        self.0.malformed.fetch_add(1, SeqCst);
        self.0.skipped_bytes.fetch_add(bytes, SeqCst);
        self.changed();
    }

    /// More bytes of a bad stretch already counted.
    pub(crate) fn skipped(&self, bytes: u64) {
        self.0.skipped_bytes.fetch_add(bytes, SeqCst);
        self.changed();
    }

    fn changed(&self) {
        if self.0.waiting.load(SeqCst) > 0 {
            self.0.changed.notify_waiters();
        }
    }
}

/// Counts a `wait_for` out when it ends, however it ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// A snapshot of a [`FifoWriter`](crate::FifoWriter)'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterStats {
    /// Frames, records or lines written whole.
    pub sent: u64,
    /// Bytes written, headers and padding included.
    pub bytes: u64,
    /// Sends refused because no process had the FIFO open for reading.
    pub no_reader: u64,
    /// Sends refused because the pipe was full ([`WhenFull::Fail`](crate::WhenFull::Fail)).
    pub full: u64,
    /// Sends refused because the frame was over the limit.
    pub too_large: u64,
    /// Sends that failed otherwise: the body did not encode, a raw line held
    /// a line break, the writer was closed, a system error.
    pub failed: u64,
    /// Times the FIFO was opened for writing: once, plus once after each
    /// time every reader went away.
    pub opened: u64,
}

/// Live counters of a [`FifoWriter`](crate::FifoWriter), shared by its
/// clones and still readable once the writer runs as an actor.
#[derive(Debug, Clone, Default)]
pub struct WriterCounters(Arc<WriterInner>);

#[derive(Debug, Default)]
struct WriterInner {
    sent: AtomicU64,
    bytes: AtomicU64,
    no_reader: AtomicU64,
    full: AtomicU64,
    too_large: AtomicU64,
    failed: AtomicU64,
    opened: AtomicU64,
}

impl WriterCounters {
    /// The counters now.
    pub fn snapshot(&self) -> WriterStats {
        let c = &self.0;
        WriterStats {
            sent: c.sent.load(SeqCst),
            bytes: c.bytes.load(SeqCst),
            no_reader: c.no_reader.load(SeqCst),
            full: c.full.load(SeqCst),
            too_large: c.too_large.load(SeqCst),
            failed: c.failed.load(SeqCst),
            opened: c.opened.load(SeqCst),
        }
    }

    pub(crate) fn sent(&self, bytes: usize) {
        self.0.sent.fetch_add(1, SeqCst);
        self.0.bytes.fetch_add(bytes as u64, SeqCst);
    }

    pub(crate) fn opened(&self) {
        self.0.opened.fetch_add(1, SeqCst);
    }

    pub(crate) fn failed(&self, error: &crate::FifoError) {
        use crate::FifoError;
        let c = &self.0;
        match error {
            FifoError::NoReader { .. } => &c.no_reader,
            FifoError::Full { .. } => &c.full,
            FifoError::TooLarge { .. } => &c.too_large,
            _ => &c.failed,
        }
        .fetch_add(1, SeqCst);
    }
}
