//! Error types, one per family of operations.

use std::io;
use std::net::IpAddr;

use polyceph::error::{BodyError, WireError};

/// A configuration was refused at construction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The group address is not a multicast address (224.0.0.0/4 or ff00::/8).
    #[error("{0} is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)")]
    NotMulticast(IpAddr),
    /// Port 0 means "any port", which two ends cannot agree on.
    #[error("port 0 is not a group port")]
    ZeroPort,
    /// The TTL (IPv4) or hop limit (IPv6) is above 255.
    #[error("ttl {0} is above 255")]
    TtlTooHigh(u32),
    /// The interface is of the other address family than the group.
    #[error(
        "interface {interface} does not fit group {group}: an IPv4 group takes an IPv4 address, an IPv6 group an interface index"
    )]
    InterfaceFamily {
        /// The group.
        group: IpAddr,
        /// The interface, as text.
        interface: String,
    },
    /// A group given as text did not parse.
    #[error("invalid group {text:?}: expected `239.1.2.3`, `239.1.2.3:26000`, `ff15::1` or `[ff15::1]:26000`")]
    Parse {
        /// The text given.
        text: String,
    },
    /// A topic is longer than [`MAX_TOPIC_LEN`](crate::MAX_TOPIC_LEN) bytes.
    #[error("topic of {len} bytes is longer than {} bytes", crate::MAX_TOPIC_LEN)]
    TopicTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// An empty topic in a topic filter: an empty topic is no topic, which
    /// a filtering listener refuses.
    #[error("an empty topic cannot be filtered for")]
    EmptyTopic,
    /// The fragment size is outside [`MIN_FRAGMENT_SIZE`](crate::MIN_FRAGMENT_SIZE)
    /// ..= [`MAX_FRAGMENT_SIZE`](crate::MAX_FRAGMENT_SIZE).
    #[error("fragment size {0} is outside {min}..={max} bytes", min = crate::MIN_FRAGMENT_SIZE, max = crate::MAX_FRAGMENT_SIZE)]
    FragmentSize(usize),
    /// A size or count that must be positive is zero.
    #[error("{0} must not be zero")]
    Zero(&'static str),
    /// The largest message is larger than 65,535 fragments can carry, or
    /// than the reassembly memory can hold.
    #[error("max message of {max_message} bytes is above the limit of {limit} bytes ({why})")]
    MaxMessage {
        /// The size asked for.
        max_message: usize,
        /// The limit it broke.
        limit: usize,
        /// Which limit.
        why: &'static str,
    },
}

/// A socket could not be opened or configured.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action}")]
pub struct SocketError {
    /// What was being done, e.g. `join group 239.255.0.1 on 127.0.0.1`.
    pub action: String,
    /// What the system said.
    #[source]
    pub source: io::Error,
}

impl SocketError {
    pub(crate) fn new(action: impl Into<String>, source: io::Error) -> Self {
        Self { action: action.into(), source }
    }
}

/// A broadcaster could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// An option was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The socket could not be opened.
    #[error(transparent)]
    Socket(#[from] SocketError),
}

/// A message could not be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The broadcaster was closed.
    #[error("the broadcaster is closed")]
    Closed,
    /// The topic is longer than [`MAX_TOPIC_LEN`](crate::MAX_TOPIC_LEN) bytes.
    #[error("topic of {len} bytes is longer than {} bytes", crate::MAX_TOPIC_LEN)]
    TopicTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The message is larger than the broadcaster's
    /// [max message](crate::BroadcasterBuilder::max_message).
    #[error("message of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// The message's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The envelope did not encode.
    #[error(transparent)]
    Encode(#[from] WireError),
    /// The typed value did not serialize.
    #[error("a {found} does not serialize: {reason}")]
    Serialize {
        /// Its Rust type.
        found: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// The system refused to send a datagram.
    #[error("cannot send to the group")]
    Io(#[source] io::Error),
}

/// A datagram is not in the [datagram format](crate#the-datagram-format):
/// counted in [`ListenerStats::malformed`](crate::ListenerStats::malformed)
/// and logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramError {
    /// Shorter than its header.
    #[error("datagram of {len} bytes is shorter than its header")]
    Truncated {
        /// The datagram's length.
        len: usize,
    },
    /// Does not start with the magic bytes `PM`.
    #[error("not a polyceph datagram (no `PM` magic)")]
    BadMagic,
    /// A version this build does not read.
    #[error("unknown datagram version {0}")]
    UnknownVersion(u8),
    /// An unknown kind of payload.
    #[error("unknown payload kind {0}")]
    UnknownKind(u8),
    /// The topic is not UTF-8.
    #[error("topic is not valid UTF-8")]
    TopicNotUtf8,
    /// The fragment index, count or length do not add up.
    #[error("bad fragment: {0}")]
    BadFragment(&'static str),
}

/// A received message could not be decoded: counted in
/// [`ListenerStats::decode_failed`](crate::ListenerStats::decode_failed),
/// logged, and delivered as a `decode_failed` mail if the listener
/// [asks for it](crate::ListenerBuilder::decode_failures_to).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A datagram of the envelope kind does not hold an envelope in the
    /// wire format.
    #[error("invalid envelope: {0}")]
    Envelope(#[from] WireError),
    /// A raw payload is not a msgpack value of the typed channel's type:
    /// a mandatory field is missing, or the shape is wrong.
    #[error("payload is not a {expected}: {reason}")]
    Payload {
        /// The Rust type expected.
        expected: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// An envelope's body is not of the typed channel's type.
    #[error("envelope body: {0}")]
    Body(#[from] BodyError),
}

/// A group-buffer operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BufferError {
    /// The group was not named at construction.
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
    /// A ring length of zero.
    #[error("ring length must not be zero")]
    ZeroLength,
    /// A group is named twice at construction.
    #[error("group {0:?} is named twice")]
    DuplicateGroup(String),
    /// Mail to a [`GroupBuffersActor`](crate::GroupBuffersActor) lacks the
    /// header that names its group (or its key).
    #[error("mail {subject:?} has no {header:?} header")]
    MissingHeader {
        /// The header expected.
        header: String,
        /// The mail's subject.
        subject: String,
    },
}
