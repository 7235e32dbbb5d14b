//! [`MulticastListener`]: an actor that joins a group and delivers what it
//! hears as mail; see its docs for how reception works.

mod decode;
mod delivery;
mod queue;
mod reader;
mod reassembly;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use polyceph::{Actor, Address, Body, Context, ExitReason, Result};
use serde::de::DeserializeOwned;
use tokio::net::UdpSocket;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

pub use queue::QueuePolicy;

use crate::broadcaster::{DEFAULT_MAX_MESSAGE, MAX_TOPIC_LEN};
use crate::config::MulticastConfig;
use crate::error::{ConfigError, SocketError};
use crate::stats::{Counters, Stat, StatsHandle};
use decode::{Decode, Typed, Untyped};
use delivery::Delivery;
use queue::Queue;
use reader::Reader;
use reassembly::Reassembly;

/// How many messages a listener queues unless told otherwise.
pub const DEFAULT_QUEUE_CAPACITY: usize = 16_384;

/// How many payload bytes a listener queues unless told otherwise: 64 MiB.
pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;

/// How long a fragmented message may take to complete unless told otherwise.
pub const DEFAULT_FRAGMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many bytes of incomplete messages a listener holds unless told
/// otherwise: 32 MiB.
pub const DEFAULT_REASSEMBLY_LIMIT: usize = 32 << 20;

/// An actor that joins a multicast group and delivers each message it hears
/// as mail to one recipient: an actor, a group or a topic.
///
/// * Envelopes (published with
///   [`publish_envelope`](crate::MulticastBroadcaster::publish_envelope))
///   arrive as they were sent (id, sender, subject, headers, body), readdressed
///   to the recipient.
/// * Raw payloads arrive as a `Vec<u8>` body from the listener, with the
///   topic as subject (`multicast` without one).
/// * A [typed](Self::typed) listener delivers raw payloads as its type `T`,
///   and checks that envelopes' bodies read as a `T`.
///
/// Every mail gets the [`SOURCE`](crate::header::SOURCE),
/// [`TIME_RECEIVED`](crate::header::TIME_RECEIVED) and (with a topic)
/// [`TOPIC`](crate::header::TOPIC) headers.
///
/// Several listeners on one host each get every datagram. Add the listener
/// after its recipient: the shutdown then stops it first. Its
/// [counters](Self::stats) say what it received, delivered and dropped, and
/// why.
///
/// # Reception
///
/// 1. The listener's **reader task** reads the socket as fast as datagrams
///    come, in bursts. It checks the header, refuses datagrams the topic
///    filter does not want, reassembles fragments, and puts each complete
///    message in a bounded **queue**. It never waits for anything else: when
///    the queue is full, a message is dropped by the [`QueuePolicy`] and
///    counted.
/// 2. The listener's **delivery task** takes messages from the queue,
///    decodes them (envelope, raw bytes, or the typed channel's type),
///    stamps the [headers](crate::header) and posts the mail to the
///    recipient, waiting for mailbox room if the recipient's mailbox policy
///    says so. A slow recipient therefore fills the queue, never the socket.
///
/// Both tasks start in the listener's `birth` and stop with it; a restarted
/// listener opens a new socket. Mail reaches the recipient in the order the
/// messages completed.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::time::Duration;
/// use polyceph::prelude::*;
/// use polyceph::testing::Probe;
/// use polyceph_multicast::{header, MulticastBroadcaster, MulticastConfig, MulticastListener};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
/// let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 4), port)?;
/// let (probe, mut recorded) = Probe::new();
/// let listener = MulticastListener::builder(config.clone(), "probe").topic("health").build()?;
/// let app = Application::builder()
///     .actor("probe", probe)
///     .actor("listener", listener)
///     .start()
///     .await?;
///
/// let broadcaster = MulticastBroadcaster::builder(config).topic("health").build()?;
/// broadcaster.publish(b"ok").await?;
/// let mail = recorded.next(Duration::from_secs(5)).await?;
/// assert_eq!(mail.subject(), "health");
/// assert_eq!(mail.body::<Vec<u8>>()?, b"ok");
/// assert_eq!(header::source(&mail), Some(broadcaster.local_addr()?));
/// assert!(header::time_received(&mail).is_some());
/// app.shutdown().await;
/// # Ok(()) }
/// ```
pub struct MulticastListener {
    shared: Arc<Shared>,
    running: Option<Running>,
}

/// What every incarnation of one listener shares.
struct Shared {
    config: MulticastConfig,
    recipient: Address,
    topics: Arc<Topics>,
    queue_capacity: usize,
    queue_bytes: usize,
    policy: QueuePolicy,
    fragment_timeout: Duration,
    reassembly_limit: usize,
    max_message: usize,
    decode: Arc<dyn Decode>,
    failures_to: Option<Address>,
    counters: Arc<Counters>,
}

impl MulticastListener {
    /// Starts describing a listener on the group of `config` that delivers
    /// envelopes and raw payloads to `recipient`.
    pub fn builder(config: MulticastConfig, recipient: impl Into<Address>) -> ListenerBuilder {
        ListenerBuilder::new(config, recipient.into(), Arc::new(Untyped))
    }

    /// Starts describing a typed listener: raw payloads must decode as a `T`
    /// (rmp-serde, a map with named fields as
    /// [`TypedBroadcaster`](crate::TypedBroadcaster) writes it, or any
    /// msgpack of that shape) and are delivered as a `T` body; envelopes'
    /// bodies must read as a `T`.
    ///
    /// What does not decode (a missing mandatory field, a wrong shape) is
    /// refused with a [`DecodeError`](crate::error::DecodeError): counted in
    /// [`ListenerStats::decode_failed`](crate::ListenerStats::decode_failed),
    /// logged, and, if asked, [reported](ListenerBuilder::decode_failures_to).
    /// The listener goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::net::Ipv4Addr;
    /// # use polyceph_multicast::{MulticastConfig, MulticastListener};
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Health {
    ///     node: String,
    ///     ok: bool,
    /// }
    ///
    /// # let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 5), 26000)?;
    /// let listener = MulticastListener::typed::<Health>(config, "monitor")
    ///     .topic("health")
    ///     .decode_failures_to("monitor")
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn typed<T: Body + DeserializeOwned + Clone>(
        config: MulticastConfig,
        recipient: impl Into<Address>,
    ) -> ListenerBuilder {
        ListenerBuilder::new(config, recipient.into(), Arc::new(Typed::<T>::new()))
    }

    /// A live view of the counters, valid across restarts and after the
    /// listener has stopped.
    pub fn stats(&self) -> StatsHandle {
        StatsHandle(self.shared.counters.clone())
    }

    /// The group it listens on.
    pub fn config(&self) -> &MulticastConfig {
        &self.shared.config
    }

    /// Opens the socket and starts the reader and delivery tasks.
    fn open(&mut self, ctx: &Context<Self>) -> std::result::Result<(), SocketError> {
        let shared = &*self.shared;
        let socket = shared.config.bind_receiver()?;
        let socket = UdpSocket::from_std(socket).map_err(|e| SocketError::new("register the socket with Tokio", e))?;
        let queue = Arc::new(Queue::new(shared.queue_capacity, shared.queue_bytes, shared.policy));
        let reader = Reader {
            socket,
            topics: shared.topics.clone(),
            reassembly: Reassembly::new(shared.reassembly_limit, shared.fragment_timeout),
            queue: queue.clone(),
            counters: shared.counters.clone(),
            max_message: shared.max_message,
            overflow: 0,
            burst: Vec::new(),
        };
        let delivery = Delivery {
            app: ctx.app(),
            me: ctx.name().clone(),
            recipient: shared.recipient.clone(),
            decode: shared.decode.clone(),
            failures_to: shared.failures_to.clone(),
            counters: shared.counters.clone(),
            failing: 0,
            source_text: None,
        };
        // The tasks log within the actor's span (birth runs in it).
        self.running = Some(Running {
            reader: AbortOnDropHandle::new(tokio::spawn(reader.run().in_current_span())),
            delivery: AbortOnDropHandle::new(tokio::spawn(delivery.run(queue.clone()).in_current_span())),
            queue,
            counters: shared.counters.clone(),
        });
        Ok(())
    }
}

impl Actor for MulticastListener {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        self.open(ctx)?;
        let shared = &self.shared;
        tracing::info!(
            group = %shared.config,
            interface = %shared.config.interface(),
            recipient = %shared.recipient,
            topics = %shared.topics,
            "listening"
        );
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, _reason: &ExitReason) {
        // Dropping stops the tasks and counts what was left.
        self.running = None;
    }
}

/// Clones share the counters and the settings; a clone is not listening
/// until it is born. For a restartable listener:
/// `.actor_with("listener", move || listener.clone())`.
impl Clone for MulticastListener {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone(), running: None }
    }
}

impl fmt::Debug for MulticastListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &*self.shared;
        f.debug_struct("MulticastListener")
            .field("group", &shared.config.to_string())
            .field("recipient", &shared.recipient)
            .field("topics", &shared.topics.to_string())
            .field("type", &shared.decode.type_name())
            .field("listening", &self.running.is_some())
            .field("stats", &self.stats().get())
            .finish_non_exhaustive()
    }
}

/// The tasks of a listening incarnation; dropping it stops them.
struct Running {
    reader: AbortOnDropHandle<()>,
    delivery: AbortOnDropHandle<()>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.reader.abort();
        self.delivery.abort();
        let dropped = self.queue.close();
        self.counters.add(Stat::DroppedAtStop, dropped);
        if dropped > 0 {
            tracing::warn!(dropped, "listener stopped with messages still queued");
        }
    }
}

/// Which topics a listener takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Topics {
    /// Every datagram, with a topic or without.
    All,
    /// Only datagrams whose topic is one of these (exact, case-sensitive).
    Only(Vec<String>),
}

impl Topics {
    pub(crate) fn accepts(&self, topic: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Only(wanted) => topic.is_some_and(|topic| wanted.iter().any(|w| w == topic)),
        }
    }
}

impl fmt::Display for Topics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Only(topics) => f.write_str(&topics.join(", ")),
        }
    }
}

/// Describes a [`MulticastListener`].
#[must_use = "a listener is made by .build()"]
pub struct ListenerBuilder {
    config: MulticastConfig,
    recipient: Address,
    topics: Vec<String>,
    queue_capacity: usize,
    queue_bytes: usize,
    policy: QueuePolicy,
    fragment_timeout: Duration,
    reassembly_limit: usize,
    max_message: usize,
    decode: Arc<dyn Decode>,
    failures_to: Option<Address>,
}

impl ListenerBuilder {
    fn new(config: MulticastConfig, recipient: Address, decode: Arc<dyn Decode>) -> Self {
        Self {
            config,
            recipient,
            topics: Vec::new(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            policy: QueuePolicy::default(),
            fragment_timeout: DEFAULT_FRAGMENT_TIMEOUT,
            reassembly_limit: DEFAULT_REASSEMBLY_LIMIT,
            max_message: DEFAULT_MAX_MESSAGE,
            decode,
            failures_to: None,
        }
    }

    /// Takes datagrams with this topic (exact match, case-sensitive); call
    /// again for more. Without any, the listener takes every datagram; with
    /// some, it refuses datagrams without a topic.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topics.push(topic.into());
        self
    }

    /// Takes datagrams with any of these topics; see [`topic`](Self::topic).
    pub fn topics<S: Into<String>>(mut self, topics: impl IntoIterator<Item = S>) -> Self {
        self.topics.extend(topics.into_iter().map(Into::into));
        self
    }

    /// At most this many messages wait for delivery (default
    /// [`DEFAULT_QUEUE_CAPACITY`]).
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.queue_capacity = messages;
        self
    }

    /// At most this many payload bytes wait for delivery (default
    /// [`DEFAULT_QUEUE_BYTES`]).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// Which message a full queue drops (default [`QueuePolicy::DropOldest`]).
    pub fn policy(mut self, policy: QueuePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a fragmented message may take to complete (default
    /// [`DEFAULT_FRAGMENT_TIMEOUT`]).
    pub fn fragment_timeout(mut self, timeout: Duration) -> Self {
        self.fragment_timeout = timeout;
        self
    }

    /// How many bytes of incomplete messages are held at most (default
    /// [`DEFAULT_REASSEMBLY_LIMIT`]); beyond it the oldest are evicted.
    pub fn reassembly_limit(mut self, bytes: usize) -> Self {
        self.reassembly_limit = bytes;
        self
    }

    /// The largest message taken (default
    /// [`DEFAULT_MAX_MESSAGE`](crate::DEFAULT_MAX_MESSAGE)); larger ones
    /// are dropped unread and counted as
    /// [`oversized`](crate::ListenerStats::oversized).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Also mails every message that does not decode to `to`, subject
    /// [`DECODE_FAILED`](crate::header::DECODE_FAILED), the payload as a
    /// `Vec<u8>` body and the reason in the [`ERROR`](crate::header::ERROR)
    /// header (default: counted and logged only).
    pub fn decode_failures_to(mut self, to: impl Into<Address>) -> Self {
        self.failures_to = Some(to.into());
        self
    }

    /// Checks the settings. The socket is opened when the listener is born.
    ///
    /// # Errors
    ///
    /// [`ConfigError::EmptyTopic`], [`ConfigError::TopicTooLong`],
    /// [`ConfigError::Zero`] for a zero queue, timeout or max message,
    /// [`ConfigError::MaxMessage`] for a max message above the reassembly
    /// limit.
    pub fn build(self) -> std::result::Result<MulticastListener, ConfigError> {
        for topic in &self.topics {
            if topic.is_empty() {
                return Err(ConfigError::EmptyTopic);
            }
            if topic.len() > MAX_TOPIC_LEN {
                return Err(ConfigError::TopicTooLong { len: topic.len() });
            }
        }
        let zero = [
            (self.queue_capacity == 0, "queue capacity"),
            (self.queue_bytes == 0, "queue bytes"),
            (self.max_message == 0, "max message"),
            (self.fragment_timeout.is_zero(), "fragment timeout"),
        ];
        if let Some((_, what)) = zero.into_iter().find(|&(is_zero, _)| is_zero) {
            return Err(ConfigError::Zero(what));
        }
        if self.max_message > self.reassembly_limit {
            return Err(ConfigError::MaxMessage {
                max_message: self.max_message,
                limit: self.reassembly_limit,
                why: "reassembly limit",
            });
        }
        let topics = if self.topics.is_empty() { Topics::All } else { Topics::Only(self.topics) };
        Ok(MulticastListener {
            shared: Arc::new(Shared {
                config: self.config,
                recipient: self.recipient,
                topics: Arc::new(topics),
                queue_capacity: self.queue_capacity,
                queue_bytes: self.queue_bytes,
                policy: self.policy,
                fragment_timeout: self.fragment_timeout,
                reassembly_limit: self.reassembly_limit,
                max_message: self.max_message,
                decode: self.decode,
                failures_to: self.failures_to,
                counters: Arc::default(),
            }),
            running: None,
        })
    }
}

impl fmt::Debug for ListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerBuilder")
            .field("group", &self.config.to_string())
            .field("recipient", &self.recipient)
            .field("topics", &self.topics)
            .field("type", &self.decode.type_name())
            .finish_non_exhaustive()
    }
}
