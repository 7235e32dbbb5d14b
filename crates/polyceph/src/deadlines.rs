//! Deadlines of requests and deliveries, kept by one task per application.
//!
//! A request must never wait past its timeout. Arming a Tokio timer for
//! each request costs a timer-wheel insert and removal plus clock reads:
//! about half of a local round trip. Instead, each request puts its deadline
//! here (a short, uncontended critical section) and takes it out when it is
//! answered. One reaper task, with one timer, sleeps until the earliest
//! deadline and fails whatever is still waiting then, through the same slot
//! the reply would have used.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use crate::envelope::slots::{Slots, Undelivered};

/// The deadlines of one application.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    state: Mutex<State>,
    /// Wakes the reaper: an earlier deadline arrived, or the application is gone.
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// In registration order, so sorted by sequence number; not by deadline
    /// unless every wait has the same timeout. Keeps its capacity, so
    /// registering allocates nothing once warm.
    waiting: VecDeque<Entry>,
    next_seq: u64,
    /// When the reaper will wake next, if it sleeps on a timer.
    armed: Option<Instant>,
    closed: bool,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    deadline: Instant,
    slots: Weak<Slots>,
}

/// Identifies one registered deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key(u64);

impl Deadlines {
    /// Starts the reaper on the current Tokio runtime.
    pub(crate) fn start() -> Arc<Self> {
        let deadlines = Arc::new(Self::default());
        tokio::spawn(reap(deadlines.clone()));
        deadlines
    }

    /// Fails `slots` with a timeout at `deadline`, unless removed before.
    pub(crate) fn add(&self, deadline: Instant, slots: Weak<Slots>) -> Key {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.waiting.push_back(Entry { seq, deadline, slots });
        // Wake the reaper only if it would sleep past this deadline: with
        // one timeout for all requests, deadlines only grow and it never has to.
        let wake = state.armed.is_none_or(|armed| deadline < armed);
        if wake {
            state.armed = Some(deadline);
        }
        drop(state);
        if wake {
            self.changed.notify_one();
        }
        Key(seq)
    }

    /// Forgets a deadline whose wait is over; usually the oldest one.
    pub(crate) fn remove(&self, key: Key) {
        let mut state = self.lock();
        if state.waiting.front().is_some_and(|entry| entry.seq == key.0) {
            state.waiting.pop_front();
        } else if let Ok(at) = state.waiting.binary_search_by_key(&key.0, |entry| entry.seq) {
            state.waiting.remove(at);
        }
    }

    /// Stops the reaper; waits still registered are left to their slots.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a deadline when the wait ends, however it ends (answered, failed
/// or cancelled).
#[derive(Debug)]
pub(crate) struct Registered<'a> {
    deadlines: &'a Deadlines,
    key: Key,
}

impl<'a> Registered<'a> {
    pub(crate) fn new(deadlines: &'a Deadlines, deadline: Instant, slots: Weak<Slots>) -> Self {
        Self { deadlines, key: deadlines.add(deadline, slots) }
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.deadlines.remove(self.key);
    }
}

async fn reap(deadlines: Arc<Deadlines>) {
    loop {
        let changed = deadlines.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let next = {
            let mut state = deadlines.lock();
            if state.closed {
                return;
            }
            let now = Instant::now();
            state.waiting.retain(|entry| {
                if entry.deadline > now {
                    return true;
                }
                if let Some(slots) = entry.slots.upgrade() {
                    slots.expire(Undelivered::TimedOut);
                }
                false
            });
            let next = state.waiting.iter().map(|entry| entry.deadline).min();
            state.armed = next;
            next
        };
        match next {
            Some(deadline) => {
                tokio::select! {
                    () = sleep_until(deadline) => {}
                    () = &mut changed => {}
                }
            }
            None => changed.await,
        }
    }
}
