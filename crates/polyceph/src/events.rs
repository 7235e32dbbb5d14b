//! Lifecycle events: what happened to which actor, as a stream.
//!
//! Every actor that starts or stops, and every pull of the emergency brake,
//! is an [`Event`], logged with `tracing` and sent to every [`Events`]
//! stream. Tests and users wait on these instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::{Instant, timeout_at};

use crate::Name;

/// How many events a slow [`Events`] reader may fall behind before it
/// misses some (it is then told how many).
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened to an actor or to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The actor's `birth` is over; it runs.
    Started {
        /// The actor.
        actor: Name,
    },
    /// The actor has stopped, after its `death`.
    Stopped {
        /// The actor.
        actor: Name,
        /// Why.
        reason: ExitReason,
    },
    /// The actor failed (a panic, or an error that ends the incarnation);
    /// `Restarted`, `Escalated` or `Stopped` follows.
    Failed {
        /// The actor.
        actor: Name,
        /// How it failed.
        reason: ExitReason,
    },
    /// A failed actor was restarted: a new incarnation, with the same mailbox.
    Restarted {
        /// The actor.
        actor: Name,
        /// The new incarnation's id.
        incarnation: u64,
    },
    /// A failure reached the application: an actor directly under it (or a
    /// nested supervisor) failed more often than its restart intensity
    /// allows. The application shuts down.
    Escalated {
        /// The actor, or the nested supervisor.
        actor: Name,
        /// Its last failure.
        reason: ExitReason,
    },
    /// A supervisor restarted some of its children after one of them (or a
    /// nested supervisor) failed, as its [`Strategy`](crate::Strategy) says.
    SupervisorRestarted {
        /// The supervisor: a nested one's name, or `$app`.
        supervisor: Name,
        /// The child whose failure caused it.
        after: Name,
    },
    /// The emergency brake was pulled: every actor stops now.
    Ebrake {
        /// Who pulled it: an actor, or `$app` for an [`AppHandle`](crate::AppHandle).
        by: Name,
        /// The reason given.
        reason: String,
    },
}

/// A stream of [`Event`]s, from [`Builder::events`](crate::Builder::events)
/// (to see the start too) or [`AppHandle::events`](crate::AppHandle::events).
///
/// Each stream sees every event sent after it was made, in order.
///
/// # Examples
///
/// ```
/// use polyceph::prelude::*;
/// use polyceph::Event;
///
/// struct Brief;
/// impl Actor for Brief {
///     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
///         ctx.die();
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let builder = Application::builder().actor("brief", Brief);
/// let mut events = builder.events();
/// let app = builder.start().await?;
/// assert_eq!(events.next().await, Some(Event::Started { actor: "brief".into() }));
/// assert_eq!(events.next().await, Some(Event::Stopped { actor: "brief".into(), reason: ExitReason::Normal }));
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Events {
    rx: broadcast::Receiver<Event>,
    missed: u64,
    /// The sender's count of streams, which this one leaves when dropped.
    readers: Arc<AtomicUsize>,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.readers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Events {
    /// The next event; `None` once the application is gone and every
    /// event has been read.
    ///
    /// A reader more than [`EVENT_BUFFER`] events behind misses the oldest
    /// ones: they are counted ([`Events::missed`]) and logged, and reading
    /// goes on with the oldest still kept.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no event is lost if the future is dropped.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            match self.rx.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    self.missed += missed;
                    tracing::warn!(missed, "lifecycle events missed by a slow reader");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Waits for the next event that `wanted` accepts, skipping others;
    /// `None` if none comes within `timeout` or the application is gone.
    pub async fn wait_for(&mut self, timeout: Duration, mut wanted: impl FnMut(&Event) -> bool) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            match timeout_at(deadline, self.next()).await {
                Ok(Some(event)) if wanted(&event) => return Some(event),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits until `actor` has started; `false` if not within `timeout`.
    pub async fn started(&mut self, actor: &str, timeout: Duration) -> bool {
        self.wait_for(timeout, |event| matches!(event, Event::Started { actor: a } if a.is(actor))).await.is_some()
    }

    /// Waits until `actor` has stopped and says why; `None` if not within `timeout`.
    pub async fn stopped(&mut self, actor: &str, timeout: Duration) -> Option<ExitReason> {
        match self.wait_for(timeout, |event| matches!(event, Event::Stopped { actor: a, .. } if a.is(actor))).await {
            Some(Event::Stopped { reason, .. }) => Some(reason),
            _ => None,
        }
    }

    /// How many events this stream missed by falling behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

/// Sends events; kept by the directory.
#[derive(Debug, Clone)]
pub(crate) struct EventSender {
    tx: broadcast::Sender<Event>,
    /// How many [`Events`] streams exist. With none, an event is only
    /// logged: handing it to the channel would take the channel's lock for
    /// nothing, twice per actor's life, on whichever worker the actor runs.
    readers: Arc<AtomicUsize>,
}

impl EventSender {
    pub(crate) fn new() -> Self {
        Self { tx: broadcast::channel(EVENT_BUFFER).0, readers: Arc::default() }
    }

    pub(crate) fn subscribe(&self) -> Events {
        // Counted before subscribing: an event sent once the stream exists
        // is never skipped.
        self.readers.fetch_add(1, Ordering::SeqCst);
        Events { rx: self.tx.subscribe(), missed: 0, readers: self.readers.clone() }
    }

    /// Logs the event and hands it to every stream (none listening is fine).
    pub(crate) fn send(&self, event: Event) {
        match &event {
            Event::Started { actor } => tracing::info!(actor.name = %actor, "actor started"),
            Event::Stopped { actor, reason } => tracing::info!(actor.name = %actor, %reason, "actor stopped"),
            Event::Ebrake { by, reason } => tracing::error!(by = %by, reason, "emergency brake"),
            Event::SupervisorRestarted { supervisor, after } => {
                tracing::warn!(supervisor = %supervisor, after = %after, "supervisor restarted its children");
            }
            Event::Failed { actor, reason } => tracing::error!(actor.name = %actor, %reason, "actor failed"),
            Event::Restarted { actor, incarnation } => {
                tracing::warn!(actor.name = %actor, actor.incarnation = format_args!("{incarnation:016x}"), "actor restarted");
            }
            Event::Escalated { actor, reason } => {
                tracing::error!(actor.name = %actor, %reason, "restart intensity exceeded: escalating");
            }
        }
        if self.readers.load(Ordering::SeqCst) > 0 {
            let _ = self.tx.send(event);
        }
    }
}

/// Why an actor stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// It asked to ([`Context::die`](crate::Context::die)).
    Normal,
    /// The application is shutting down.
    Shutdown,
    /// `birth` returned this error.
    Failed(String),
    /// A hook or handler panicked with this message.
    Panicked(String),
    /// Some actor pulled the emergency brake, with this reason.
    Ebrake(String),
    /// It did not stop within the shutdown timeout and was aborted; its
    /// `death` did not run (or did not finish).
    Aborted,
    /// Its supervisor stopped it to restart it together with a failed
    /// sibling (see [`Strategy`](crate::Strategy)); it is started again.
    SupervisorRestart,
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::Failed(e) => write!(f, "failed: {e}"),
            Self::Panicked(m) => write!(f, "panicked: {m}"),
            Self::Ebrake(r) => write!(f, "emergency brake: {r}"),
            Self::Aborted => f.write_str("aborted after the shutdown timeout"),
            Self::SupervisorRestart => f.write_str("stopped by its supervisor to restart with a failed sibling"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_gets_every_event_sent_after_it_was_made() {
        let sender = EventSender::new();
        // Nobody listens: logged only.
        sender.send(Event::Started { actor: "early".into() });
        let mut events = sender.subscribe();
        sender.send(Event::Started { actor: "late".into() });
        assert_eq!(events.next().await, Some(Event::Started { actor: "late".into() }));
        let second = sender.subscribe();
        assert_eq!(sender.readers.load(Ordering::SeqCst), 2);
        drop((events, second));
        assert_eq!(sender.readers.load(Ordering::SeqCst), 0);
    }
}
