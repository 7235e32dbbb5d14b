//! Counters: nothing is dropped or fails without being counted here.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of one actor's counters.
///
/// # Examples
///
/// ```
/// # use polyceph::prelude::*;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # #[derive(Default)] struct Idle;
/// # impl Actor for Idle {}
/// let app = Application::builder().actor("idle", Idle).start().await?;
/// let stats = app.actor_stats("idle").expect("idle is running");
/// assert_eq!(stats.handled, 0);
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActorStats {
    /// Times `life` ran.
    pub ticks: u64,
    /// Ticks that ended after the next tick was due (the missed ticks were skipped).
    pub overruns: u64,
    /// Envelopes that at least one handler (or fallback) took.
    pub handled: u64,
    /// Envelopes no filter matched and no fallback took.
    pub unhandled: u64,
    /// Errors returned by handlers.
    pub handler_errors: u64,
    /// Errors returned by `life`.
    pub life_errors: u64,
    /// Envelopes the mailbox dropped to make room (drop-oldest policy).
    pub dropped: u64,
    /// Envelopes refused because the mailbox was full.
    pub rejected: u64,
    /// Times the actor was restarted after a failure.
    pub restarts: u64,
    /// Envelopes waiting in the mailbox right now.
    pub queued: usize,
}

/// A snapshot of the application-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppStats {
    /// Mail that reached nobody: no such recipient, a stopped recipient, or
    /// left in a mailbox when its actor stopped.
    pub dead_letters: u64,
    /// Replies that arrived after their request had timed out or been
    /// answered, and were dropped.
    pub late_replies: u64,
    /// Actors running now.
    pub actors: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub(crate) struct ActorCounters {
    pub(crate) ticks: Counter,
    pub(crate) overruns: Counter,
    pub(crate) handled: Counter,
    pub(crate) unhandled: Counter,
    pub(crate) handler_errors: Counter,
    pub(crate) life_errors: Counter,
    pub(crate) dropped: Counter,
    pub(crate) rejected: Counter,
    pub(crate) restarts: Counter,
}

impl ActorCounters {
    pub(crate) fn snapshot(&self, queued: usize) -> ActorStats {
        ActorStats {
            ticks: self.ticks.get(),
            overruns: self.overruns.get(),
            handled: self.handled.get(),
            unhandled: self.unhandled.get(),
            handler_errors: self.handler_errors.get(),
            life_errors: self.life_errors.get(),
            dropped: self.dropped.get(),
            rejected: self.rejected.get(),
            restarts: self.restarts.get(),
            queued,
        }
    }
}
