//! Errors: what a request's reply carries, and what a configuration can get wrong.

use std::time::Duration;

use polyceph::error::InvalidFrequency;
use serde::{Deserialize, Serialize};

use crate::DomainId;

/// The body of every reply from a [`LibvirtPoller`](crate::LibvirtPoller):
/// `Ok` with the answer, or the reason there is none.
///
/// Read it with `reply.body::<Reply<T>>()`; the `T` of each subject is in
/// the [`subjects`](crate::subjects) table.
pub type Reply<T> = Result<T, LibvirtError>;

/// Why a request to the poller failed: each cause is its own variant, never
/// a silent `false`.
///
/// Serialized in `snake_case`, externally tagged: `{"unknown_host": {"host": "db"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LibvirtError {
    /// No host has that label.
    #[error("no host labelled {host:?}")]
    UnknownHost {
        /// The label asked for.
        host: String,
    },
    /// The host has no connection: the last attempt failed and the next one
    /// waits for its back-off, or the attempt made for this call failed.
    #[error("host {host} is not connected: {reason}")]
    NotConnected {
        /// The host's label.
        host: String,
        /// Why: the error of the last connection attempt.
        reason: String,
    },
    /// The host has no such domain.
    #[error("host {host} has no domain {domain}")]
    UnknownDomain {
        /// The host's label.
        host: String,
        /// The domain asked for.
        domain: DomainId,
    },
    /// libvirt refused the call.
    #[error("libvirt error on host {host}: {message} (code {code})")]
    Libvirt {
        /// The host's label.
        host: String,
        /// libvirt's error number (`virErrorNumber`).
        code: u32,
        /// libvirt's message.
        message: String,
    },
    /// The call did not finish within the call timeout, or could not start
    /// because an earlier call to that host is stuck past its own.
    #[error("no answer from host {host} within {timeout:?}")]
    TimedOut {
        /// The host's label.
        host: String,
        /// The call timeout.
        timeout: Duration,
    },
    /// Too many calls are already waiting for that host.
    #[error("too many calls waiting for host {host}")]
    Busy {
        /// The host's label.
        host: String,
    },
}

/// A [`Builder`](crate::Builder) that cannot make a poller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No host was added.
    #[error("a poller needs at least one host")]
    NoHosts,
    /// Two hosts share a label.
    #[error("two hosts are labelled {0:?}")]
    DuplicateHost(String),
    /// A host's label is empty.
    #[error("a host label must not be empty")]
    EmptyLabel,
    /// No recipient was set for the poller's mail.
    #[error("a poller needs a recipient for its mail")]
    NoRecipient,
    /// The poll frequency is out of range.
    #[error(transparent)]
    Frequency(#[from] InvalidFrequency),
    /// The call timeout is zero.
    #[error("the call timeout must be longer than zero")]
    ZeroTimeout,
    /// The reconnect back-off's first delay is zero, or longer than its longest.
    #[error("invalid back-off: first {first:?}, max {max:?}")]
    Backoff {
        /// The first delay given.
        first: Duration,
        /// The longest delay given.
        max: Duration,
    },
}
