//! Waking the poller: when a call completes, and when a call's deadline passes.
//!
//! The poller is an actor, so it runs only to handle mail or to tick. Both
//! wake-ups are therefore mail to itself ([`WAKE`]): the [`Doorbell`] rings
//! when a host's worker has finished a call, the [`Alarm`] when the
//! earliest deadline of the calls under way passes. At most one wake-up
//! waits in the mailbox at a time, however many calls complete meanwhile.
//! A wake-up that cannot be queued (a full mailbox) is not lost work: the
//! next tick does what it would have done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use polyceph::{AppHandle, Envelope, Name};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

/// The subject of the poller's mail to itself.
pub(crate) const WAKE: &str = "libvirt.wake";

/// Queues a wake-up in the poller's own mailbox, unless one is queued already.
#[derive(Clone)]
pub(crate) struct Doorbell {
    rung: Arc<AtomicBool>,
    app: AppHandle,
    poller: Name,
}

impl Doorbell {
    pub(crate) fn new(app: AppHandle, poller: Name) -> Self {
        Self { rung: Arc::new(AtomicBool::new(false)), app, poller }
    }

    /// Wakes the poller. Called from any thread, never waits.
    pub(crate) fn ring(&self) {
        if self.rung.swap(true, Ordering::AcqRel) {
            return;
        }
        let wake = Envelope::new(self.poller.clone(), self.poller.clone(), WAKE, ());
        if let Err(error) = self.app.try_post(wake) {
            self.rung.store(false, Ordering::Release);
            tracing::debug!(%error, "libvirt poller: wake-up not queued; the next tick does its work");
        }
    }

    /// The poller is awake: the next completion rings again. Called before
    /// the poller collects completions, so none is left behind.
    pub(crate) fn answer(&self) {
        self.rung.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for Doorbell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorbell").field("rung", &self.rung).field("poller", &self.poller).finish_non_exhaustive()
    }
}

/// Rings the doorbell at a set time, from a task of its own that ends when
/// the alarm is dropped.
#[derive(Debug)]
pub(crate) struct Alarm {
    at: watch::Sender<Option<Instant>>,
}

impl Alarm {
    pub(crate) fn start(doorbell: Doorbell) -> Self {
        let (at, rx) = watch::channel(None);
        tokio::spawn(ring_at(rx, doorbell));
        Self { at }
    }

    /// Rings at `at` unless set to ring earlier, and not yet past.
    ///
    /// Only moving the time earlier (or replacing one that has passed)
    /// wakes the alarm's task: a time left set too early costs one spare
    /// wake-up, after which the poller sets the next.
    pub(crate) fn arm(&self, at: Instant) {
        self.at.send_if_modified(|set| {
            let replace = set.is_none_or(|set| at < set || set <= Instant::now());
            if replace {
                *set = Some(at);
            }
            replace
        });
    }
}

async fn ring_at(mut rx: watch::Receiver<Option<Instant>>, doorbell: Doorbell) {
    loop {
        let at = *rx.borrow_and_update();
        let due = async {
            match at {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            () = due => {
                doorbell.ring();
                // Rung once; the poller sets the next time.
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}
