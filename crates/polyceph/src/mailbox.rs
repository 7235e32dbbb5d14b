//! Mailboxes: the bounded queue in front of every actor.
//!
//! A mailbox is FIFO or priority-ordered ([`QueueKind`]) and holds at most
//! `capacity` envelopes. What a sender meets at a full mailbox is the
//! actor's [`FullPolicy`]. The actor alone receives; any number of senders
//! send. Closing a mailbox (the actor stopped) hands back what was queued
//! so that every left-over envelope is accounted for, and fails senders
//! that were waiting for room.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use crate::Envelope;

/// The order in which an actor takes its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueueKind {
    /// First in, first out.
    #[default]
    Fifo,
    /// Higher [`priority`](Envelope::priority) first; first in, first out
    /// within one priority.
    Priority,
}

/// What happens to mail sent to a full mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FullPolicy {
    /// `send` waits for room (backpressure); `try_send` fails with
    /// [`SendError::MailboxFull`](crate::error::SendError::MailboxFull).
    #[default]
    Wait,
    /// The sender gets [`SendError::MailboxFull`](crate::error::SendError::MailboxFull)
    /// at once, with its envelope handed back.
    Reject,
    /// The oldest queued envelope is dropped to make room; drops are counted
    /// in [`ActorStats::dropped`](crate::ActorStats::dropped) and logged. In a
    /// priority mailbox the oldest envelope of the lowest priority goes.
    DropOldest,
}

/// The receiver takes mail.
const RUNNING: u8 = 0;
/// The receiver's supervisor wants this incarnation to end (for a restart).
const RECYCLE: u8 = 1;
/// The application is stopping: the receiver stops taking mail for good.
const STOPPED: u8 = 2;

/// The default mailbox capacity.
pub const DEFAULT_CAPACITY: usize = 1024;

pub(crate) struct Mailbox {
    state: Mutex<State>,
    /// [`RUNNING`], [`RECYCLE`] or [`STOPPED`].
    interrupted: AtomicU8,
    /// A shutdown's pill is queued: the actor's turn to stop has come.
    winding_down: AtomicBool,
    space: Notify,
    capacity: usize,
    policy: FullPolicy,
}

struct State {
    queue: Queue,
    rx_waker: Option<Waker>,
    closed: bool,
}

/// What the actor gets from its mailbox.
#[derive(Debug)]
pub(crate) enum Received {
    Mail(Envelope),
    /// The application is stopping: stop taking mail.
    Interrupted,
    /// The mailbox is closed.
    Closed,
}

enum Queue {
    /// `head`, when set, is the oldest envelope: a mailbox that never holds
    /// more than one envelope at a time (a pill, a request, a tick's worth)
    /// never allocates `rest`. It is filled only while `rest` has no buffer,
    /// so it is always older than everything in `rest`.
    Fifo {
        head: Option<Envelope>,
        rest: VecDeque<Envelope>,
    },
    Priority {
        levels: BTreeMap<i8, VecDeque<Envelope>>,
        len: usize,
    },
}

/// Why an envelope was not queued; it is handed back.
#[derive(Debug)]
pub(crate) enum PushError {
    Full(Envelope),
    Closed(Envelope),
}

/// What queuing an envelope cost.
#[derive(Debug)]
pub(crate) enum Pushed {
    Queued,
    /// Queued after evicting this older envelope (drop-oldest).
    Evicted(Envelope),
}

impl Mailbox {
    pub(crate) fn new(capacity: usize, kind: QueueKind, policy: FullPolicy) -> Self {
        let queue = match kind {
            QueueKind::Fifo => Queue::Fifo { head: None, rest: VecDeque::new() },
            QueueKind::Priority => Queue::Priority { levels: BTreeMap::new(), len: 0 },
        };
        Self {
            state: Mutex::new(State { queue, rx_waker: None, closed: false }),
            interrupted: AtomicU8::new(RUNNING),
            winding_down: AtomicBool::new(false),
            space: Notify::new(),
            capacity,
            policy,
        }
    }

    pub(crate) fn policy(&self) -> FullPolicy {
        self.policy
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Queues `envelope` without waiting, applying the policy to a full
    /// mailbox (a waiting policy counts as full).
    pub(crate) fn try_push(&self, envelope: Envelope) -> Result<Pushed, PushError> {
        let mut state = self.lock();
        if state.closed {
            return Err(PushError::Closed(envelope));
        }
        let mut evicted = None;
        if state.queue.len() >= self.capacity {
            match self.policy {
                FullPolicy::Wait | FullPolicy::Reject => return Err(PushError::Full(envelope)),
                FullPolicy::DropOldest => evicted = state.queue.pop_oldest(),
            }
        }
        state.queue.push(envelope);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(evicted.map_or(Pushed::Queued, Pushed::Evicted))
    }

    /// Queues a shutdown's poison pill whatever the capacity and policy, so
    /// that a full mailbox can still be shut down; hands it back if the
    /// mailbox is closed.
    pub(crate) fn push_pill(&self, pill: Envelope) -> Result<(), Envelope> {
        self.push_beyond(pill, true)
    }

    /// Queues a notice for the actor itself whatever the capacity and
    /// policy; hands it back if the mailbox is closed.
    pub(crate) fn push_notice(&self, notice: Envelope) -> Result<(), Envelope> {
        self.push_beyond(notice, false)
    }

    fn push_beyond(&self, pill: Envelope, winds_down: bool) -> Result<(), Envelope> {
        let mut state = self.lock();
        if state.closed {
            return Err(pill);
        }
        state.queue.push(pill);
        if winds_down {
            self.winding_down.store(true, Ordering::Release);
        }
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Queues `envelope`, waiting for room if the policy is [`FullPolicy::Wait`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if cancelled while waiting, the envelope was not queued
    /// (and is dropped with the future).
    pub(crate) async fn push(&self, mut envelope: Envelope) -> Result<Pushed, PushError> {
        loop {
            match self.try_push(envelope) {
                Err(PushError::Full(back)) if self.policy == FullPolicy::Wait => envelope = back,
                done => return done,
            }
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                // Room may have been made between the attempt and `enable`.
                let state = self.lock();
                if state.closed || state.queue.len() < self.capacity {
                    continue;
                }
            }
            notified.await;
        }
    }

    /// Takes the next envelope, or registers the task to be woken.
    /// An interruption comes before any queued mail.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Received> {
        let mut state = self.lock();
        // Read under the lock: `interrupt` sets the flag before it takes the
        // lock to wake us, so either we see the flag or it sees our waker.
        if self.is_interrupted() {
            return Poll::Ready(Received::Interrupted);
        }
        if let Some(envelope) = self.pop_locked(&mut state) {
            return Poll::Ready(Received::Mail(envelope));
        }
        if state.closed {
            return Poll::Ready(Received::Closed);
        }
        match &state.rx_waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.rx_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Waits for the next envelope, an interruption or the close.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an envelope is taken only when the future completes.
    pub(crate) async fn recv(&self) -> Received {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Makes the receiver stop taking mail: it gets
    /// [`Received::Interrupted`] from now on, queued mail stays queued.
    pub(crate) fn interrupt(&self) {
        self.interrupted.store(STOPPED, Ordering::Release);
        self.wake_receiver();
    }

    /// Makes the receiver end its incarnation after the handler it is in,
    /// for its supervisor to restart it; queued mail stays queued.
    pub(crate) fn recycle(&self) {
        if self.interrupted.compare_exchange(RUNNING, RECYCLE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.wake_receiver();
        }
    }

    /// Clears a [`recycle`](Mailbox::recycle) request; `true` if there was one.
    pub(crate) fn take_recycle(&self) -> bool {
        self.interrupted.compare_exchange(RECYCLE, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Whether a [`recycle`](Mailbox::recycle) request is pending.
    pub(crate) fn is_recycling(&self) -> bool {
        self.interrupted.load(Ordering::Acquire) == RECYCLE
    }

    /// Whether [`interrupt`](Mailbox::interrupt) was called: stopped for good.
    pub(crate) fn is_stopped(&self) -> bool {
        self.interrupted.load(Ordering::Acquire) == STOPPED
    }

    fn wake_receiver(&self) {
        let waker = self.lock().rx_waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes the next envelope if one is queued and the receiver is not interrupted.
    pub(crate) fn try_recv(&self) -> Option<Envelope> {
        let mut state = self.lock();
        if self.is_interrupted() {
            return None;
        }
        self.pop_locked(&mut state)
    }

    /// Whether a shutdown's pill has been queued: the actor is to finish
    /// its mail and stop, without more ticks.
    pub(crate) fn is_winding_down(&self) -> bool {
        self.winding_down.load(Ordering::Acquire)
    }

    fn pop_locked(&self, state: &mut MutexGuard<'_, State>) -> Option<Envelope> {
        let was_full = state.queue.len() >= self.capacity;
        let envelope = state.queue.pop_next()?;
        if was_full && self.policy == FullPolicy::Wait {
            // One sender may be waiting for exactly this room.
            self.space.notify_one();
        }
        Some(envelope)
    }

    /// Completes once [`interrupt`](Mailbox::interrupt) is called; takes no mail.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub(crate) async fn interrupted(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if self.is_interrupted() {
                return Poll::Ready(());
            }
            // New mail wakes this too; then it just waits again.
            state.rx_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }

    /// Whether [`interrupt`](Mailbox::interrupt) or [`recycle`](Mailbox::recycle)
    /// was called: the receiver is to stop taking mail.
    pub(crate) fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Acquire) != RUNNING
    }

    /// Closes the mailbox: later sends fail, waiting senders are released,
    /// and the envelopes still queued are handed back, oldest first.
    pub(crate) fn close(&self) -> Vec<Envelope> {
        let mut state = self.lock();
        state.closed = true;
        let mut left = Vec::with_capacity(state.queue.len());
        while let Some(envelope) = state.queue.pop_next() {
            left.push(envelope);
        }
        drop(state);
        self.space.notify_waiters();
        left
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue half-changed:
        // every critical section is a single push or pop.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Queue {
    fn len(&self) -> usize {
        match self {
            Self::Fifo { head, rest } => usize::from(head.is_some()) + rest.len(),
            Self::Priority { len, .. } => *len,
        }
    }

    fn push(&mut self, envelope: Envelope) {
        match self {
            Self::Fifo { head: head @ None, rest } if rest.capacity() == 0 => *head = Some(envelope),
            Self::Fifo { rest, .. } => rest.push_back(envelope),
            Self::Priority { levels, len } => {
                levels.entry(envelope.priority()).or_default().push_back(envelope);
                *len += 1;
            }
        }
    }

    /// The envelope to handle next.
    fn pop_next(&mut self) -> Option<Envelope> {
        match self {
            Self::Fifo { head, rest } => head.take().or_else(|| rest.pop_front()),
            Self::Priority { levels, len } => {
                let mut level = levels.last_entry()?;
                let envelope = level.get_mut().pop_front();
                if level.get().is_empty() {
                    level.remove();
                }
                *len -= 1;
                envelope
            }
        }
    }

    /// The envelope to sacrifice when full: the oldest (of the lowest
    /// priority) that is not a poison pill; a pill is never evicted.
    fn pop_oldest(&mut self) -> Option<Envelope> {
        fn oldest(queue: &mut VecDeque<Envelope>) -> Option<Envelope> {
            let at = queue.iter().position(|envelope| !envelope.is_poison_pill())?;
            queue.remove(at)
        }
        match self {
            Self::Fifo { head, rest } => match head {
                Some(envelope) if !envelope.is_poison_pill() => head.take(),
                _ => oldest(rest),
            },
            Self::Priority { levels, len } => {
                let (envelope, emptied) = levels
                    .iter_mut()
                    .find_map(|(&priority, level)| Some((oldest(level)?, level.is_empty().then_some(priority))))?;
                if let Some(priority) = emptied {
                    levels.remove(&priority);
                }
                *len -= 1;
                Some(envelope)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &'static str, priority: i8) -> Envelope {
        Envelope::new("t", "m", subject, ()).with_priority(priority)
    }

    fn drain(mailbox: &Mailbox) -> Vec<String> {
        std::iter::from_fn(|| mailbox.try_recv()).map(|e| e.subject().to_owned()).collect()
    }

    #[test]
    fn priority_mailbox_is_fifo_within_a_priority() {
        let mailbox = Mailbox::new(8, QueueKind::Priority, FullPolicy::Reject);
        for (s, p) in [("a", 0), ("b", 5), ("c", 0), ("d", 5), ("e", -1)] {
            mailbox.try_push(mail(s, p)).unwrap();
        }
        assert_eq!(drain(&mailbox), ["b", "d", "a", "c", "e"]);
    }

    #[test]
    fn drop_oldest_evicts_the_lowest_priority_first() {
        let mailbox = Mailbox::new(2, QueueKind::Priority, FullPolicy::DropOldest);
        mailbox.try_push(mail("low", -1)).unwrap();
        mailbox.try_push(mail("high", 1)).unwrap();
        let Ok(Pushed::Evicted(gone)) = mailbox.try_push(mail("new", 0)) else { panic!("expected an eviction") };
        assert_eq!(gone.subject(), "low");
        assert_eq!(drain(&mailbox), ["high", "new"]);
    }

    #[test]
    fn a_poison_pill_is_never_evicted_and_fits_a_full_mailbox() {
        for kind in [QueueKind::Fifo, QueueKind::Priority] {
            let mailbox = Mailbox::new(2, kind, FullPolicy::DropOldest);
            let mut pill = mail("pill", -1);
            pill.make_pill(crate::envelope::Pill::Poison);
            mailbox.try_push(pill).unwrap();
            mailbox.try_push(mail("a", -1)).unwrap();
            let Ok(Pushed::Evicted(gone)) = mailbox.try_push(mail("b", -1)) else { panic!("expected an eviction") };
            assert_eq!(gone.subject(), "a", "{kind:?}");
            let mut second = mail("second pill", 0);
            second.make_pill(crate::envelope::Pill::Poison);
            mailbox.push_pill(second).unwrap();
            assert_eq!(mailbox.len(), 3, "{kind:?}: a pill goes beyond the capacity");
        }
    }

    #[test]
    fn a_fifo_mailbox_keeps_order_across_its_inline_head() {
        let mailbox = Mailbox::new(8, QueueKind::Fifo, FullPolicy::DropOldest);
        let one = |s| mailbox.try_push(mail(s, 0)).unwrap();
        one("a");
        assert!(matches!(&mailbox.lock().queue, Queue::Fifo { head: Some(_), rest } if rest.capacity() == 0));
        one("b");
        assert_eq!(mailbox.try_recv().map(|e| e.subject().to_owned()).as_deref(), Some("a"));
        // The head is free, but `rest` has a buffer: new mail queues behind b.
        one("c");
        assert_eq!(drain(&mailbox), ["b", "c"]);
        one("d");
        assert_eq!(drain(&mailbox), ["d"]);
        // Drop-oldest takes the head first when it is not a pill.
        let mailbox = Mailbox::new(2, QueueKind::Fifo, FullPolicy::DropOldest);
        mailbox.try_push(mail("x", 0)).unwrap();
        mailbox.try_push(mail("y", 0)).unwrap();
        let Ok(Pushed::Evicted(gone)) = mailbox.try_push(mail("z", 0)) else { panic!("expected an eviction") };
        assert_eq!(gone.subject(), "x");
        assert_eq!(drain(&mailbox), ["y", "z"]);
    }

    #[test]
    fn closing_hands_back_what_was_queued() {
        let mailbox = Mailbox::new(4, QueueKind::Fifo, FullPolicy::Wait);
        mailbox.try_push(mail("a", 0)).unwrap();
        mailbox.try_push(mail("b", 0)).unwrap();
        let left: Vec<_> = mailbox.close().iter().map(|e| e.subject().to_owned()).collect();
        assert_eq!(left, ["a", "b"]);
        assert!(matches!(mailbox.try_push(mail("c", 0)), Err(PushError::Closed(_))));
    }
}
