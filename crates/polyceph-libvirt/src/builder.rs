//! The [`Builder`] of a [`LibvirtPoller`] and its defaults.

use std::sync::Arc;
use std::time::Duration;

use polyceph::error::{InvalidFrequency, MAX_FREQUENCY, MIN_FREQUENCY};
use polyceph::{Address, Backoff};

use crate::status::Board;
use crate::{ConfigError, LibvirtPoller};

/// The poll frequency when neither the poller nor the application sets one: 1 Hz.
pub const DEFAULT_FREQUENCY: f64 = 1.0;

/// How long a call to libvirt may take before it counts as failed: 5 s.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The wait before reconnecting: 1 s after the first failure, doubling up to 60 s.
pub const DEFAULT_BACKOFF: Backoff = Backoff { first: Duration::from_secs(1), max: Duration::from_secs(60) };

/// A poller's configuration, shared by its restarts.
#[derive(Debug)]
pub(crate) struct Config {
    /// Labels and URIs, in the order added.
    pub(crate) hosts: Vec<(String, String)>,
    pub(crate) recipient: Address,
    pub(crate) frequency: Option<f64>,
    pub(crate) call_timeout: Duration,
    pub(crate) backoff: Backoff,
}
/// Configures a [`LibvirtPoller`]: hosts, recipient, frequency, timeouts.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use polyceph_libvirt::LibvirtPoller;
///
/// let poller = LibvirtPoller::builder()
///     .host("rack1", "qemu+ssh://root@rack1/system")
///     .host("rack2", "qemu+ssh://root@rack2/system")
///     .recipient("inventory")
///     .frequency(0.2) // every 5 s
///     .call_timeout(Duration::from_secs(10))
///     .backoff(Duration::from_secs(2), Duration::from_secs(120))
///     .build()?;
/// # let _ = poller;
/// # Ok::<(), polyceph_libvirt::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct Builder {
    hosts: Vec<(String, String)>,
    recipient: Option<Address>,
    frequency: Option<f64>,
    call_timeout: Duration,
    backoff: Backoff,
}

impl Builder {
    /// Adds a host: its label (which mail and requests name it by) and its
    /// libvirt URI (`qemu:///system`, `qemu+ssh://host/system`, `test:///default`, ...).
    pub fn host(mut self, label: impl Into<String>, uri: impl Into<String>) -> Self {
        self.hosts.push((label.into(), uri.into()));
        self
    }

    /// Where the poller's mail goes (required).
    pub fn recipient(mut self, to: impl Into<Address>) -> Self {
        self.recipient = Some(to.into());
        self
    }

    /// Polls `hz` times per second (see [`LibvirtPoller`] for the default).
    pub fn frequency(mut self, hz: f64) -> Self {
        self.frequency = Some(hz);
        self
    }

    /// How long one libvirt call may take (default [`DEFAULT_CALL_TIMEOUT`]);
    /// connecting is one call. A call past it fails with
    /// [`LibvirtError::TimedOut`](crate::LibvirtError::TimedOut) and its host reports
    /// [`HostStatus::Failed`](crate::HostStatus::Failed) until the call returns.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The wait before each reconnect: `first` after a failure, doubling
    /// with each further one, at most `max` (default [`DEFAULT_BACKOFF`]).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Backoff { first, max };
        self
    }

    /// Makes the poller.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for no host, an empty or repeated label, no
    /// recipient, a frequency out of range, a zero timeout or an invalid
    /// back-off.
    pub fn build(self) -> Result<LibvirtPoller, ConfigError> {
        if self.hosts.is_empty() {
            return Err(ConfigError::NoHosts);
        }
        for (at, (label, _)) in self.hosts.iter().enumerate() {
            if label.is_empty() {
                return Err(ConfigError::EmptyLabel);
            }
            if self.hosts[..at].iter().any(|(other, _)| other == label) {
                return Err(ConfigError::DuplicateHost(label.clone()));
            }
        }
        let recipient = self.recipient.ok_or(ConfigError::NoRecipient)?;
        if let Some(hz) = self.frequency
            && !(MIN_FREQUENCY..=MAX_FREQUENCY).contains(&hz)
        {
            return Err(InvalidFrequency(hz).into());
        }
        if self.call_timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let Backoff { first, max } = self.backoff;
        if first.is_zero() || first > max {
            return Err(ConfigError::Backoff { first, max });
        }
        let board = Arc::new(Board::new(self.hosts.iter().map(|(label, _)| label.clone()).collect()));
        let config = Config {
            hosts: self.hosts,
            recipient,
            frequency: self.frequency,
            call_timeout: self.call_timeout,
            backoff: self.backoff,
        };
        Ok(LibvirtPoller::new(Arc::new(config), board))
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            hosts: Vec::new(),
            recipient: None,
            frequency: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            backoff: DEFAULT_BACKOFF,
        }
    }
}
