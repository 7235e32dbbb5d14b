//! Graceful shutdown: actors stop one at a time, in reverse start order.
//!
//! The last-started actor gets a shutdown pill: it handles the mail queued
//! before it, runs `death` with [`ExitReason::Shutdown`], and stops. When
//! its pill is dropped (after `death`, or with the mailbox of an actor that
//! stopped some other way) the actor started before it gets its pill, and
//! so on: like an OTP supervisor, the actors started first, which the later
//! ones may depend on, stop last. Each turn hands over directly from one
//! actor's task to the next; nothing else is woken per actor.
//!
//! A watchdog gives each turn the shutdown timeout. An actor that has not
//! finished its turn by then is aborted (without `death`), named in the
//! log, and the next turn begins.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use crate::directory::{ActorCell, Directory};
use crate::envelope::Pill;
use crate::{Address, Envelope, Name};

/// One shutdown of one application.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    /// The actors still to stop, the earliest started first (taken from the end).
    waiting: Mutex<Vec<Arc<ActorCell>>>,
    /// Whose turn it is.
    current: Mutex<Current>,
    /// `true` once every actor has had its turn.
    finished: watch::Sender<bool>,
    /// The actors aborted because their turn took too long.
    aborted: Mutex<Vec<Name>>,
}

#[derive(Debug)]
struct Current {
    /// Counts the turns; a turn's pill names its number, so a late drop
    /// of a pill whose turn the watchdog ended changes nothing.
    turn: u64,
    cell: Option<Arc<ActorCell>>,
    since: Instant,
}

impl Default for Current {
    fn default() -> Self {
        Self { turn: 0, cell: None, since: Instant::now() }
    }
}

/// The token a shutdown pill carries; dropping it ends the turn.
struct Turn {
    shutdown: Arc<Shutdown>,
    turn: u64,
    armed: AtomicBool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.armed.load(Ordering::Acquire) {
            self.shutdown.next_turn(self.turn);
        }
    }
}

impl Shutdown {
    /// Starts shutting down `running` (in start order): the last one gets
    /// its pill now, and a watchdog on `directory`'s runtime enforces the
    /// timeout.
    pub(crate) fn start(self: &Arc<Self>, directory: &Arc<Directory>, running: Vec<Arc<ActorCell>>) {
        tracing::info!(actors = running.len(), "shutting down, in reverse start order");
        *lock(&self.waiting) = running;
        self.next_turn(0);
        directory.runtime.spawn(watchdog(self.clone(), directory.clone()));
    }

    /// Ends turn `turn` (if it is still the current one) and gives the next
    /// actor that is still running its pill.
    fn next_turn(self: &Arc<Self>, mut turn: u64) {
        loop {
            let cell = {
                let mut current = lock(&self.current);
                if current.turn != turn {
                    return;
                }
                turn += 1;
                current.turn = turn;
                current.since = Instant::now();
                current.cell = lock(&self.waiting).pop();
                match &current.cell {
                    Some(cell) => cell.clone(),
                    None => {
                        self.finished.send_replace(true);
                        return;
                    }
                }
            };
            let token = Arc::new(Turn { shutdown: self.clone(), turn, armed: AtomicBool::new(true) });
            let mut pill = Envelope::new(crate::app::APP_SENDER, Address::Actor(cell.name.clone()), "shutdown", ())
                .with_priority(i8::MIN);
            pill.make_pill(Pill::Shutdown(token.clone()));
            match cell.mailbox.push_pill(pill) {
                Ok(()) => return,
                // It stopped already: on to the next, here rather than
                // from the token's drop, so a long run of stopped actors
                // does not recurse.
                Err(_) => token.armed.store(false, Ordering::Release),
            }
        }
    }

    /// Completes once every actor has had its turn.
    pub(crate) async fn finished(&self) {
        let mut finished = self.finished.subscribe();
        // The sender lives in `self`, so this cannot fail.
        let _ = finished.wait_for(|done| *done).await;
    }

    /// The actors aborted so far.
    pub(crate) fn aborted(&self) -> Vec<Name> {
        lock(&self.aborted).clone()
    }
}

/// Aborts the actor whose turn outlasts the shutdown timeout, and starts
/// the next turn.
async fn watchdog(shutdown: Arc<Shutdown>, directory: Arc<Directory>) {
    let timeout = directory.shutdown_timeout;
    let mut finished = shutdown.finished.subscribe();
    loop {
        let (turn, since) = {
            let current = lock(&shutdown.current);
            (current.turn, current.since)
        };
        tokio::select! {
            _ = finished.wait_for(|done| *done) => return,
            () = sleep_until(since + timeout) => {}
        }
        let stuck = {
            let current = lock(&shutdown.current);
            if current.turn != turn {
                continue;
            }
            current.cell.clone()
        };
        if let Some(cell) = stuck {
            directory.abort(&cell);
            lock(&shutdown.aborted).push(cell.name.clone());
        }
        shutdown.next_turn(turn);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
