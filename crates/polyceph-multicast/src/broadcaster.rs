//! [`MulticastBroadcaster`]: publishes envelopes, raw payloads and typed
//! values to a group, fragmenting what does not fit one datagram.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use polyceph::Envelope;
use serde::Serialize;
use tokio::net::UdpSocket;

use crate::config::MulticastConfig;
use crate::datagram::{self, Header, Kind};
use crate::error::{ConfigError, OpenError, PublishError, SocketError};
use crate::stats::{BroadcasterCounters, BroadcasterStats};

/// The longest topic, in bytes of UTF-8.
pub const MAX_TOPIC_LEN: usize = 255;

/// The payload bytes per datagram unless told otherwise: 60,000, as MCL.
/// On loopback (MTU 65,536) a datagram is never split further; on an
/// Ethernet LAN the IP layer splits it into ~41 frames and losing any one
/// loses the datagram, so a lossy LAN is better served by a fragment size
/// under the MTU (1,400 bytes).
pub const DEFAULT_FRAGMENT_SIZE: usize = 60_000;

/// The smallest fragment size.
pub const MIN_FRAGMENT_SIZE: usize = 64;

/// The largest fragment size: the largest IPv4 UDP payload (65,507 bytes)
/// less the longest header.
pub const MAX_FRAGMENT_SIZE: usize = 65_507 - datagram::FIXED_LEN - MAX_TOPIC_LEN;

/// The largest message unless told otherwise: 8 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 8 << 20;

/// Publishes to a multicast group: envelopes in the wire format, raw
/// payloads, or typed values ([`typed`](Self::typed)), each with an optional
/// topic.
///
/// The topic set at creation is the default; [`publish_to`](Self::publish_to)
/// and [`publish_envelope_to`](Self::publish_envelope_to) override it for one
/// message. A message larger than the [fragment
/// size](BroadcasterBuilder::fragment_size) is sent as several datagrams
/// that listeners reassemble.
///
/// Cheap to clone: clones share the socket, the counters and the closed
/// state. [`close`](Self::close) makes every later publish fail with
/// [`PublishError::Closed`]; the socket closes when the last clone is dropped.
///
/// Delivery is UDP's: no acknowledgement, no retry. A listener that cannot
/// keep up loses datagrams in its socket buffer and the sender never knows;
/// listeners count what they drop ([`ListenerStats`](crate::ListenerStats)).
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use polyceph::Envelope;
/// use polyceph_multicast::{MulticastBroadcaster, MulticastConfig};
/// use polyceph_multicast::error::PublishError;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
/// let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 2), port)?;
/// let broadcaster = MulticastBroadcaster::builder(config).topic("health").build()?;
/// broadcaster.publish(b"ok").await?; // topic "health"
/// broadcaster.publish_to("telemetry", b"21.5").await?;
/// broadcaster.publish_envelope(&Envelope::new("node-1", "monitor", "status", "fine")).await?;
/// assert_eq!(broadcaster.stats().published, 3);
///
/// broadcaster.close();
/// assert!(matches!(broadcaster.publish(b"late").await, Err(PublishError::Closed)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MulticastBroadcaster(Arc<Inner>);

struct Inner {
    socket: UdpSocket,
    config: MulticastConfig,
    topic: Option<String>,
    fragment_size: usize,
    max_message: usize,
    next_id: AtomicU64,
    closed: AtomicBool,
    counters: BroadcasterCounters,
}

impl MulticastBroadcaster {
    /// Starts describing a broadcaster to the group of `config`.
    pub fn builder(config: MulticastConfig) -> BroadcasterBuilder {
        BroadcasterBuilder {
            config,
            topic: None,
            fragment_size: DEFAULT_FRAGMENT_SIZE,
            max_message: DEFAULT_MAX_MESSAGE,
        }
    }

    /// A broadcaster to the group of `config` with no default topic.
    ///
    /// # Errors
    ///
    /// As [`BroadcasterBuilder::build`].
    pub fn new(config: MulticastConfig) -> Result<Self, OpenError> {
        Self::builder(config).build()
    }

    /// Publishes a raw payload with the default topic.
    ///
    /// # Errors
    ///
    /// [`PublishError::Closed`] after [`close`](Self::close),
    /// [`PublishError::TooLarge`], [`PublishError::Io`].
    pub async fn publish(&self, payload: &[u8]) -> Result<(), PublishError> {
        self.send(Kind::Raw, self.0.topic.as_deref(), payload).await
    }

    /// Publishes a raw payload with `topic` instead of the default.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), and [`PublishError::TopicTooLong`].
    pub async fn publish_to(&self, topic: &str, payload: &[u8]) -> Result<(), PublishError> {
        self.send(Kind::Raw, Some(topic), payload).await
    }

    /// Publishes an envelope in the wire format with the default topic.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), and [`PublishError::Encode`] if its
    /// body does not serialize.
    pub async fn publish_envelope(&self, envelope: &Envelope) -> Result<(), PublishError> {
        self.send_envelope(self.0.topic.as_deref(), envelope).await
    }

    /// Publishes an envelope with `topic` instead of the default.
    ///
    /// # Errors
    ///
    /// As [`publish_envelope`](Self::publish_envelope), and
    /// [`PublishError::TopicTooLong`].
    pub async fn publish_envelope_to(&self, topic: &str, envelope: &Envelope) -> Result<(), PublishError> {
        self.send_envelope(Some(topic), envelope).await
    }

    /// A typed view of this broadcaster, publishing `T`s as msgpack maps
    /// with named fields: what [`MulticastListener::typed`](crate::MulticastListener::typed)
    /// reads.
    pub fn typed<T: Serialize>(&self) -> TypedBroadcaster<T> {
        TypedBroadcaster { broadcaster: self.clone(), _type: PhantomData }
    }

    /// Refuses every later publish, from every clone. Idempotent.
    pub fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }

    /// The default topic.
    pub fn topic(&self) -> Option<&str> {
        self.0.topic.as_deref()
    }

    /// The group it publishes to.
    pub fn config(&self) -> &MulticastConfig {
        &self.0.config
    }

    /// The address datagrams are sent from: what listeners put in the
    /// [`SOURCE`](crate::header::SOURCE) header.
    ///
    /// # Errors
    ///
    /// If the system cannot tell.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.socket.local_addr()
    }

    /// The counters, shared by all clones.
    pub fn stats(&self) -> BroadcasterStats {
        self.0.counters.snapshot()
    }

    async fn send_envelope(&self, topic: Option<&str>, envelope: &Envelope) -> Result<(), PublishError> {
        let payload = envelope.to_msgpack().inspect_err(|_| self.failed())?;
        self.send(Kind::Envelope, topic, &payload).await
    }

    /// Sends one message: one datagram, or one per fragment.
    async fn send(&self, kind: Kind, topic: Option<&str>, payload: &[u8]) -> Result<(), PublishError> {
        let inner = &*self.0;
        let refused = if self.is_closed() {
            Some(PublishError::Closed)
        } else if let Some(topic) = topic.filter(|t| t.len() > MAX_TOPIC_LEN) {
            Some(PublishError::TopicTooLong { len: topic.len() })
        } else if payload.len() > inner.max_message {
            Some(PublishError::TooLarge { len: payload.len(), max: inner.max_message })
        } else {
            None
        };
        if let Some(error) = refused {
            self.failed();
            return Err(error);
        }
        let mut header = Header {
            kind,
            message_id: inner.next_id.fetch_add(1, Ordering::Relaxed),
            index: 0,
            // Both fit: max_message <= 65,535 fragments and <= u32::MAX (checked at build).
            count: u16::try_from(payload.len().div_ceil(inner.fragment_size).max(1)).expect("checked at build"),
            message_len: u32::try_from(payload.len()).expect("checked at build"),
            topic: topic.filter(|t| !t.is_empty()),
        };
        let mut datagram = Vec::with_capacity(header.len() + payload.len().min(inner.fragment_size));
        let mut chunks = payload.chunks(inner.fragment_size);
        let first: &[u8] = chunks.next().unwrap_or_default();
        for chunk in std::iter::once(first).chain(chunks) {
            datagram.clear();
            datagram.resize(header.len(), 0);
            header.write(&mut datagram);
            datagram.extend_from_slice(chunk);
            if let Err(e) = inner.socket.send(&datagram).await {
                self.failed();
                tracing::warn!(group = %inner.config, error = %e, "cannot send a datagram");
                return Err(PublishError::Io(e));
            }
            inner.counters.datagrams.fetch_add(1, Ordering::Relaxed);
            header.index = header.index.wrapping_add(1);
        }
        inner.counters.published.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn failed(&self) {
        self.0.counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for MulticastBroadcaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MulticastBroadcaster")
            .field("group", &self.0.config.to_string())
            .field("topic", &self.0.topic)
            .field("closed", &self.is_closed())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Describes a [`MulticastBroadcaster`].
#[derive(Debug, Clone)]
#[must_use = "a broadcaster is opened by .build()"]
pub struct BroadcasterBuilder {
    config: MulticastConfig,
    topic: Option<String>,
    fragment_size: usize,
    max_message: usize,
}

impl BroadcasterBuilder {
    /// The default topic (none unless set; an empty topic is none).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into()).filter(|t| !t.is_empty());
        self
    }

    /// The payload bytes per datagram (default [`DEFAULT_FRAGMENT_SIZE`]).
    pub fn fragment_size(mut self, bytes: usize) -> Self {
        self.fragment_size = bytes;
        self
    }

    /// The largest message it publishes (default [`DEFAULT_MAX_MESSAGE`]).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Opens the socket ([`MulticastConfig::bind_sender`]). Must be called
    /// inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`OpenError::Config`] for a topic longer than [`MAX_TOPIC_LEN`], a
    /// fragment size outside [`MIN_FRAGMENT_SIZE`] ..= [`MAX_FRAGMENT_SIZE`],
    /// a max message of 0 or above what 65,535 fragments carry;
    /// [`OpenError::Socket`] if the system refuses the socket.
    pub fn build(self) -> Result<MulticastBroadcaster, OpenError> {
        if let Some(topic) = &self.topic
            && topic.len() > MAX_TOPIC_LEN
        {
            return Err(ConfigError::TopicTooLong { len: topic.len() }.into());
        }
        check_sizes(self.fragment_size, self.max_message)?;
        let socket = self.config.bind_sender()?;
        let socket = UdpSocket::from_std(socket).map_err(|e| SocketError::new("register the socket with Tokio", e))?;
        Ok(MulticastBroadcaster(Arc::new(Inner {
            socket,
            config: self.config,
            topic: self.topic,
            fragment_size: self.fragment_size,
            max_message: self.max_message,
            // Random, so a restarted sender on the same port does not reuse
            // the ids of messages listeners may still be reassembling.
            next_id: AtomicU64::new(uuid::Uuid::new_v4().as_u64_pair().0),
            closed: AtomicBool::new(false),
            counters: BroadcasterCounters::default(),
        })))
    }
}

/// Checks a fragment size and the largest message it must carry.
pub(crate) fn check_sizes(fragment_size: usize, max_message: usize) -> Result<(), ConfigError> {
    if !(MIN_FRAGMENT_SIZE..=MAX_FRAGMENT_SIZE).contains(&fragment_size) {
        return Err(ConfigError::FragmentSize(fragment_size));
    }
    if max_message == 0 {
        return Err(ConfigError::Zero("max message"));
    }
    let limit = (fragment_size * usize::from(u16::MAX)).min(u32::MAX as usize);
    if max_message > limit {
        return Err(ConfigError::MaxMessage { max_message, limit, why: "65,535 fragments" });
    }
    Ok(())
}

/// A [`MulticastBroadcaster`] that publishes `T`s, encoded as msgpack with
/// named fields (rmp-serde's `to_vec_named`): a Python client reads a map.
///
/// Made by [`MulticastBroadcaster::typed`].
///
/// # Examples
///
/// ```
/// # use std::net::Ipv4Addr;
/// # use polyceph_multicast::{MulticastBroadcaster, MulticastConfig};
/// #[derive(serde::Serialize)]
/// struct Health {
///     node: String,
///     ok: bool,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
/// # let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 3), port)?;
/// let health = MulticastBroadcaster::builder(config).topic("health").build()?.typed::<Health>();
/// health.publish(&Health { node: "node-1".into(), ok: true }).await?;
/// # Ok(()) }
/// ```
pub struct TypedBroadcaster<T> {
    broadcaster: MulticastBroadcaster,
    _type: PhantomData<fn(&T)>,
}

impl<T: Serialize> TypedBroadcaster<T> {
    /// Publishes `value` with the default topic.
    ///
    /// # Errors
    ///
    /// As [`MulticastBroadcaster::publish`], and [`PublishError::Serialize`].
    pub async fn publish(&self, value: &T) -> Result<(), PublishError> {
        let payload = self.encode(value)?;
        self.broadcaster.publish(&payload).await
    }

    /// Publishes `value` with `topic` instead of the default.
    ///
    /// # Errors
    ///
    /// As [`MulticastBroadcaster::publish_to`], and [`PublishError::Serialize`].
    pub async fn publish_to(&self, topic: &str, value: &T) -> Result<(), PublishError> {
        let payload = self.encode(value)?;
        self.broadcaster.publish_to(topic, &payload).await
    }

    /// The untyped broadcaster.
    pub fn untyped(&self) -> &MulticastBroadcaster {
        &self.broadcaster
    }

    fn encode(&self, value: &T) -> Result<Vec<u8>, PublishError> {
        rmp_serde::to_vec_named(value).map_err(|e| {
            self.broadcaster.failed();
            PublishError::Serialize { found: type_name::<T>(), reason: e.to_string() }
        })
    }
}

impl<T> Clone for TypedBroadcaster<T> {
    fn clone(&self) -> Self {
        Self { broadcaster: self.broadcaster.clone(), _type: PhantomData }
    }
}

impl<T> fmt::Debug for TypedBroadcaster<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedBroadcaster")
            .field("type", &type_name::<T>())
            .field("broadcaster", &self.broadcaster)
            .finish()
    }
}
