//! What the poller reports about domains, and how requests name them.
//!
//! Every type here is a mail body: it serializes with serde, so it crosses
//! the wire as it is, and reads back with [`Envelope::body`](polyceph::Envelope::body).
//! UUIDs are hyphenated strings in msgpack and JSON alike (the wire format
//! turns msgpack `bin` into an array of numbers in JSON, which a UUID could
//! not be read back from).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use virt::domain::{DomainState as VirtState, DomainStateEnum};

/// The state of a domain, as libvirt reports it.
///
/// Serialized in `snake_case`: `"running"`, `"pm_suspended"`, `{"unknown": 9}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainState {
    /// libvirt has no state for it.
    NoState,
    /// Running.
    Running,
    /// Blocked on a resource.
    Blocked,
    /// Paused, by a user (`suspend`) or by libvirt.
    Paused,
    /// Being shut down.
    ShuttingDown,
    /// Shut off: defined but not running.
    Shutoff,
    /// Crashed.
    Crashed,
    /// Suspended by guest power management.
    PmSuspended,
    /// A state this crate does not know, with libvirt's number for it.
    Unknown(u32),
}

impl DomainState {
    pub(crate) fn from_virt(state: DomainStateEnum) -> Self {
        match state {
            DomainStateEnum::Known(known) => match known {
                VirtState::NoState => Self::NoState,
                VirtState::Running => Self::Running,
                VirtState::Blocked => Self::Blocked,
                VirtState::Paused => Self::Paused,
                VirtState::Shutdown => Self::ShuttingDown,
                VirtState::Shutoff => Self::Shutoff,
                VirtState::Crashed => Self::Crashed,
                VirtState::PMSuspended => Self::PmSuspended,
            },
            DomainStateEnum::Unknown(raw) => Self::Unknown(raw),
        }
    }
}

/// One domain (virtual machine) on one host, as one poll saw it.
///
/// A domain is identified by its host and its [`uuid`](Self::uuid): a VM
/// deleted and created again under the same name is another domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DomainInfo {
    /// Its name, unique on its host at one time.
    pub name: String,
    /// Its UUID, which identifies it.
    #[serde(with = "uuid::serde::hyphenated")]
    pub uuid: Uuid,
    /// Its state.
    pub state: DomainState,
    /// The most memory it may use, in KiB.
    pub max_memory_kib: u64,
    /// The memory it uses now, in KiB.
    pub memory_kib: u64,
    /// Its virtual CPUs.
    pub vcpus: u32,
    /// The CPU time it has used, in nanoseconds.
    pub cpu_time_ns: u64,
}

/// How a request names a domain: by name or by UUID.
///
/// Serialized as `{"name": "web"}` or `{"uuid": "…"}`.
///
/// # Examples
///
/// ```
/// use polyceph_libvirt::DomainId;
///
/// assert_eq!(DomainId::from("web"), DomainId::Name("web".into()));
/// let uuid = uuid::Uuid::nil();
/// assert_eq!(DomainId::from(uuid).to_string(), "00000000-0000-0000-0000-000000000000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainId {
    /// By name.
    Name(String),
    /// By UUID.
    Uuid(#[serde(with = "uuid::serde::hyphenated")] Uuid),
}

impl From<&str> for DomainId {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for DomainId {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl From<Uuid> for DomainId {
    fn from(uuid: Uuid) -> Self {
        Self::Uuid(uuid)
    }
}

impl fmt::Display for DomainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Uuid(uuid) => uuid.fmt(f),
        }
    }
}

/// The body of a request about one domain: `get_info`, `suspend`, `resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRef {
    /// The host's label.
    pub host: String,
    /// The domain, by name or UUID.
    pub domain: DomainId,
}

impl DomainRef {
    /// The domain `domain` on the host labelled `host`.
    pub fn new(host: impl Into<String>, domain: impl Into<DomainId>) -> Self {
        Self { host: host.into(), domain: domain.into() }
    }
}

/// The body of a request about one host: `list_domains`, `poll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRef {
    /// The host's label.
    pub host: String,
}

impl HostRef {
    /// The host labelled `host`.
    pub fn new(host: impl Into<String>) -> Self {
        Self { host: host.into() }
    }
}

/// Every domain of one host: the body of each poll's `domains` mail, and
/// of the reply to `list_domains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Domains {
    /// The host's label.
    pub host: String,
    /// Its domains, running or not, in libvirt's order.
    pub domains: Vec<DomainInfo>,
}

/// A domain changed state between two polls: the body of a
/// `domain.state_changed` mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StateChanged {
    /// The host's label.
    pub host: String,
    /// The domain's UUID.
    #[serde(with = "uuid::serde::hyphenated")]
    pub uuid: Uuid,
    /// The domain's name.
    pub name: String,
    /// Its state at the poll before.
    pub from: DomainState,
    /// Its state now.
    pub to: DomainState,
}
