//! libvirt hypervisor domain state as polyceph actor mail.
//!
//! A [`LibvirtPoller`] is an actor that keeps one connection per libvirt
//! host, polls every host at its frequency and mails what it finds to a
//! recipient: each host's [`Domains`] (`domains`), every change of a
//! domain's state ([`StateChanged`], `domain.state_changed`) and every
//! change of a host's connection ([`HostStatusChanged`], `host.status`).
//! It answers requests too: `get_info`, `list_domains`, `poll`, `suspend`
//! and `resume`, each with a [`Reply`] whose errors say what went wrong
//! ([`LibvirtError`]). The [`subjects`] module lists every subject with
//! its body.
//!
//! Domains are known by host and UUID, looked up afresh by every call, so a
//! VM deleted and created again under its old name is a new domain.
//! libvirt blocks, and a hung hypervisor can block for minutes: every call
//! runs on a blocking thread within a timeout, at most one per host, and the
//! actor never waits for one. See `docs/libvirt.md`.
//!
//! This is the only polyceph crate that links libvirt (`libvirt-dev` and
//! `pkg-config` to build, `libvirt.so.0` to run).
//!
//! # Examples
//!
//! Poll libvirt's built-in test hypervisor, then pause its domain:
//!
//! ```standalone_crate
//! use std::time::Duration;
//! use polyceph::prelude::*;
//! use polyceph::testing::Probe;
//! use polyceph_libvirt::{DomainRef, DomainState, Domains, LibvirtPoller, Reply, StateChanged};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (monitor, mut mail) = Probe::new();
//! let poller = LibvirtPoller::builder()
//!     .host("local", "test:///default")
//!     .recipient("monitor")
//!     .frequency(10.0)
//!     .build()?;
//! let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;
//!
//! let polled = mail.expect(&Filter::subject("^domains$")?, Duration::from_secs(5)).await?;
//! let domains: Domains = polled.body()?;
//! assert_eq!(domains.domains[0].name, "test");
//! assert_eq!(domains.domains[0].state, DomainState::Running);
//!
//! let reply = app.request("libvirt", "suspend", DomainRef::new("local", "test"), Duration::from_secs(5)).await?;
//! reply.body::<Reply<()>>()??;
//! let changed = mail.expect(&Filter::subject("^domain.state_changed$")?, Duration::from_secs(5)).await?;
//! let changed: StateChanged = changed.body()?;
//! assert_eq!((changed.from, changed.to), (DomainState::Running, DomainState::Paused));
//! # app.shutdown().await;
//! # Ok(()) }
//! ```

mod builder;
mod domain;
mod error;
mod host;
mod link;
mod poller;
mod running;
mod session;
mod status;
pub mod subjects;
mod wake;
mod worker;

pub use builder::{Builder, DEFAULT_BACKOFF, DEFAULT_CALL_TIMEOUT, DEFAULT_FREQUENCY};
pub use domain::{DomainId, DomainInfo, DomainRef, DomainState, Domains, HostRef, StateChanged};
pub use error::{ConfigError, LibvirtError, Reply};
pub use poller::LibvirtPoller;
pub use status::{HostStats, HostStatus, HostStatusChanged, Status, WaitError};
