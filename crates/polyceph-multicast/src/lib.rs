//! UDP multicast into and out of polyceph actor mailboxes (IPv4 and IPv6),
//! with topics, typed messages and fragmentation; and group buffers that
//! keep the latest values per group and key.
//!
//! Many nodes on a LAN broadcast health and telemetry; one application
//! listens, keeps the latest N of each per node, and acts on them:
//!
//! * [`MulticastConfig`]: a group (address and port), the interface, the
//!   TTL, loopback. [`MulticastConfig::host_local`] keeps everything on this
//!   host.
//! * [`MulticastBroadcaster`]: publishes envelopes (in the polyceph wire
//!   format), raw payloads or [typed](MulticastBroadcaster::typed) values,
//!   with an optional topic, fragmenting large messages.
//! * [`MulticastListener`]: an actor that joins the group, filters by topic,
//!   reassembles, stamps the arrival time and the sender's address
//!   ([`header`]), and delivers each message as mail to an actor, a group or
//!   a topic. Its socket is drained by its own task into a bounded queue, so
//!   slow handlers never stall reception; what it drops is counted
//!   ([`ListenerStats`]).
//! * [`GroupBuffers`] and [`GroupBuffersActor`]: per group and key, a ring of
//!   the latest values, read as snapshots.
//!
//! The guide, `docs/multicast.md`, covers the choices and their trade-offs.
//!
//! # Examples
//!
//! ```
//! use std::net::Ipv4Addr;
//! use std::sync::Arc;
//! use std::time::Duration;
//! use polyceph::prelude::*;
//! use polyceph_multicast::{GroupBuffers, GroupBuffersActor, MulticastBroadcaster, MulticastConfig, MulticastListener, SNAPSHOT};
//!
//! #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
//! struct Health {
//!     ok: bool,
//!     load: f32,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A port of this run's own: parallel runs never hear each other.
//! # let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
//! // Tests and examples keep multicast on this host: loopback interface, TTL 0.
//! let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 1), port)?;
//!
//! // The monitor: a listener delivering typed health reports to group buffers.
//! let buffers = Arc::new(GroupBuffers::<Health>::new(["health"], 10)?);
//! let listener = MulticastListener::typed::<Health>(config.clone(), "buffers").topic("health").build()?;
//! let stats = listener.stats();
//! let app = Application::builder()
//!     .actor("buffers", GroupBuffersActor::new(buffers.clone()))
//!     .actor("listener", listener)
//!     .start()
//!     .await?;
//!
//! // A node publishes envelopes from "node-1" with a typed body on topic "health".
//! let node = MulticastBroadcaster::builder(config).topic("health").build()?;
//! node.publish_envelope(&Envelope::new("node-1", "monitor", "health", Health { ok: true, load: 0.25 })).await?;
//!
//! // Once delivered, the report is in the buffers' mailbox, before this request.
//! tokio::time::timeout(Duration::from_secs(5), stats.wait_until(|s| s.delivered == 1)).await?;
//! let reply = app.request("buffers", SNAPSHOT, ("health", "node-1"), Duration::from_secs(5)).await?;
//! assert_eq!(reply.body::<Vec<Health>>()?, [Health { ok: true, load: 0.25 }]);
//! assert_eq!(buffers.stats().written, 1);
//! app.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The datagram format
//!
//! Every datagram starts with a 21-byte header (integers big-endian), then
//! the topic, then the payload or one fragment of it. `docs/multicast.md`
//! specifies it fully, with a Python client.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `PM` |
//! | 2 | 1 | version: 1 |
//! | 3 | 1 | kind: 1 an envelope in the wire format, 2 a raw payload |
//! | 4 | 8 | message id |
//! | 12 | 2 | fragment index, from 0 |
//! | 14 | 2 | fragment count, at least 1 |
//! | 16 | 4 | message length: the whole payload's bytes |
//! | 20 | 1 | topic length T, 0 for no topic |
//! | 21 | T | topic, UTF-8 |
//! | 21 + T | … | payload bytes |

mod broadcaster;
mod buffers;
mod config;
mod datagram;
pub mod error;
pub mod header;
mod listener;
mod socket;
mod stats;

pub use broadcaster::{
    BroadcasterBuilder, DEFAULT_FRAGMENT_SIZE, DEFAULT_MAX_MESSAGE, MAX_FRAGMENT_SIZE, MAX_TOPIC_LEN,
    MIN_FRAGMENT_SIZE, MulticastBroadcaster, TypedBroadcaster,
};
pub use buffers::{BufferStats, GroupBuffers, GroupBuffersActor, KeyFrom, SNAPSHOT, SNAPSHOT_GROUP};
pub use config::{ConfigBuilder, DEFAULT_PORT, DEFAULT_RECEIVE_BUFFER, DEFAULT_TTL, Interface, MulticastConfig};
pub use listener::{
    DEFAULT_FRAGMENT_TIMEOUT, DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_CAPACITY, DEFAULT_REASSEMBLY_LIMIT, ListenerBuilder,
    MulticastListener, QueuePolicy,
};
pub use stats::{BroadcasterStats, ListenerStats, StatsHandle};
