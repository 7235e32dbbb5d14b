//! Host connection status and counters, observable outside mail.
//!
//! The poller mails each status change (`host.status`) to its recipient; the
//! [`Status`] handle shows the latest status of every host, lets code wait
//! for one, and reads the counters of what the poller did, dropped and skipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// A host's connection, as the poller sees it.
///
/// Serialized with a `status` tag: `{"status": "reconnecting", "attempt": 2}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HostStatus {
    /// The first connection attempt is under way or about to be.
    Connecting,
    /// Connected: polls and requests go through.
    Connected,
    /// Connecting again after a failure: attempt 1 is the first retry.
    Reconnecting {
        /// Which retry this is, from 1.
        attempt: u32,
    },
    /// The last attempt failed, the connection broke, or a call is stuck
    /// past the call timeout.
    Failed {
        /// libvirt's error text, or what went wrong.
        error: String,
    },
}

/// A host's status changed: the body of a `host.status` mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HostStatusChanged {
    /// The host's label.
    pub host: String,
    /// Its new status.
    pub status: HostStatus,
}

/// A snapshot of one host's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostStats {
    /// Polls that mailed the host's domains (scheduled or requested).
    pub polls: u64,
    /// Polls that failed (the error is logged; a connection failure also
    /// shows in the status).
    pub poll_failures: u64,
    /// Ticks that did not poll the host because its earlier calls were
    /// still under way (or stuck).
    pub skipped_polls: u64,
    /// Calls that passed the call timeout.
    pub timeouts: u64,
    /// Connection attempts made.
    pub connect_attempts: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Mail to the recipient that could not be queued (no such recipient,
    /// a full mailbox), and was dropped.
    pub mail_dropped: u64,
    /// Connection threads alive now: 1 while an attempt waits for libvirt
    /// (a hung host keeps its one, however often it is retried); never more
    /// than one per incarnation of the poller.
    pub connect_threads: usize,
}

/// A cheap, cloneable view of a poller's hosts: their latest status, a way
/// to wait for one, and their counters.
///
/// Taken from [`LibvirtPoller::status`](crate::LibvirtPoller::status)
/// before the poller is handed to the application. Like a `watch` channel,
/// it holds the latest status only: to see every change, read the
/// `host.status` mail.
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// # use polyceph::prelude::*;
/// # use polyceph::testing::Probe;
/// use polyceph_libvirt::{HostStatus, LibvirtPoller};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let poller = LibvirtPoller::builder().host("local", "test:///default").recipient("monitor").build()?;
/// let mut status = poller.status();
/// # let (probe, _seen) = Probe::new();
/// let app = Application::builder().actor("monitor", probe).actor("libvirt", poller).start().await?;
///
/// let connected = status.wait_for("local", |s| *s == HostStatus::Connected);
/// tokio::time::timeout(Duration::from_secs(5), connected).await??;
/// assert_eq!(status.get("local"), Some(HostStatus::Connected));
/// assert_eq!(status.stats("local").map(|s| s.connect_attempts), Some(1));
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Status {
    labels: Arc<[String]>,
    statuses: watch::Receiver<Vec<HostStatus>>,
    counters: Arc<[Arc<HostCounters>]>,
}

/// Why [`Status::wait_for`] returned without a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// No host has that label.
    #[error("no host labelled {0:?}")]
    UnknownHost(String),
    /// Every poller that reported to this handle is gone.
    #[error("the poller is gone")]
    Closed,
}

impl Status {
    /// The latest status of the host labelled `host`.
    pub fn get(&self, host: &str) -> Option<HostStatus> {
        let index = self.index(host)?;
        self.statuses.borrow().get(index).cloned()
    }

    /// Every host's label and latest status, in the order they were added.
    pub fn all(&self) -> Vec<(String, HostStatus)> {
        self.labels.iter().cloned().zip(self.statuses.borrow().iter().cloned()).collect()
    }

    /// Waits until the status of `host` satisfies `accept`, and returns that status.
    ///
    /// Intermediate statuses may be missed: the handle holds the latest only.
    ///
    /// # Errors
    ///
    /// [`WaitError::UnknownHost`] at once for an unknown label;
    /// [`WaitError::Closed`] if the poller goes away first.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_for(
        &mut self,
        host: &str,
        mut accept: impl FnMut(&HostStatus) -> bool,
    ) -> Result<HostStatus, WaitError> {
        let index = self.index(host).ok_or_else(|| WaitError::UnknownHost(host.to_owned()))?;
        let statuses = self.statuses.wait_for(|all| all.get(index).is_some_and(&mut accept));
        let statuses = statuses.await.map_err(|_| WaitError::Closed)?;
        Ok(statuses[index].clone())
    }

    /// The counters of the host labelled `host`.
    pub fn stats(&self, host: &str) -> Option<HostStats> {
        Some(self.counters[self.index(host)?].snapshot())
    }

    fn index(&self, host: &str) -> Option<usize> {
        self.labels.iter().position(|label| label == host)
    }
}

/// The poller's side of [`Status`]: publishes statuses, owns the counters.
/// Shared by every poller made from one configuration, so a [`Status`]
/// survives restarts.
#[derive(Debug)]
pub(crate) struct Board {
    labels: Arc<[String]>,
    statuses: watch::Sender<Vec<HostStatus>>,
    counters: Arc<[Arc<HostCounters>]>,
}

impl Board {
    pub(crate) fn new(labels: Vec<String>) -> Self {
        let statuses = watch::Sender::new(vec![HostStatus::Connecting; labels.len()]);
        let counters = labels.iter().map(|_| Arc::default()).collect();
        Self { labels: labels.into(), statuses, counters }
    }

    pub(crate) fn status(&self) -> Status {
        Status { labels: self.labels.clone(), statuses: self.statuses.subscribe(), counters: self.counters.clone() }
    }

    pub(crate) fn publish(&self, host: usize, status: &HostStatus) {
        self.statuses.send_modify(|all| all[host].clone_from(status));
    }

    pub(crate) fn counters(&self, host: usize) -> Arc<HostCounters> {
        self.counters[host].clone()
    }
}

/// One host's counters; see [`HostStats`].
#[derive(Debug, Default)]
pub(crate) struct HostCounters {
    pub(crate) polls: AtomicU64,
    pub(crate) poll_failures: AtomicU64,
    pub(crate) skipped_polls: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) connect_attempts: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) mail_dropped: AtomicU64,
    /// Shared with the host's session, which counts its threads.
    pub(crate) connect_threads: Arc<AtomicUsize>,
}

impl HostCounters {
    fn snapshot(&self) -> HostStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        HostStats {
            polls: read(&self.polls),
            poll_failures: read(&self.poll_failures),
            skipped_polls: read(&self.skipped_polls),
            timeouts: read(&self.timeouts),
            connect_attempts: read(&self.connect_attempts),
            connect_failures: read(&self.connect_failures),
            mail_dropped: read(&self.mail_dropped),
            connect_threads: self.connect_threads.load(Ordering::Relaxed),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
