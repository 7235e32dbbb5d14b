//! The mail headers a [`MulticastListener`](crate::MulticastListener)
//! stamps on what it delivers, and readers for them.
//!
//! | header | value | set |
//! |---|---|---|
//! | [`SOURCE`] | the sender's socket address as text (`127.0.0.1:40312`, `[fd00::2]:40312`) | always |
//! | [`TIME_RECEIVED`] | nanoseconds since the Unix epoch (integer), when the message was complete | always |
//! | [`TOPIC`] | the datagram's topic | when it has one |
//! | [`ERROR`] | why the message did not decode | on `decode_failed` mail only |
//!
//! A decoded envelope keeps its own headers; these four overwrite any of
//! the same name.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polyceph::{Envelope, Value};

/// The sender's socket address.
pub const SOURCE: &str = "source";

/// When the message was received (its last fragment, for a fragmented one).
pub const TIME_RECEIVED: &str = "time_received";

/// The datagram's topic.
pub const TOPIC: &str = "topic";

/// Why a message did not decode (`decode_failed` mail).
pub const ERROR: &str = "error";

/// The subject of mail for a message that did not decode.
pub const DECODE_FAILED: &str = "decode_failed";

/// The subject of mail for a raw or typed message without a topic (with a
/// topic, the topic is the subject).
pub const NO_TOPIC_SUBJECT: &str = "multicast";

/// The [`SOURCE`] header, parsed.
///
/// # Examples
///
/// ```
/// use polyceph::Envelope;
/// use polyceph_multicast::header;
///
/// let mail = Envelope::new("a", "b", "s", ()).with_header(header::SOURCE, "127.0.0.1:4000");
/// assert_eq!(header::source(&mail), Some("127.0.0.1:4000".parse().unwrap()));
/// ```
pub fn source(mail: &Envelope) -> Option<SocketAddr> {
    mail.headers().get(SOURCE)?.as_str()?.parse().ok()
}

/// The [`TIME_RECEIVED`] header as a time.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use polyceph::Envelope;
/// use polyceph_multicast::header;
///
/// let mail = Envelope::new("a", "b", "s", ()).with_header(header::TIME_RECEIVED, 1_500_000_000_i64);
/// assert_eq!(header::time_received(&mail), Some(UNIX_EPOCH + Duration::from_millis(1_500)));
/// ```
pub fn time_received(mail: &Envelope) -> Option<SystemTime> {
    let nanos = u64::try_from(mail.headers().get(TIME_RECEIVED)?.as_i64()?).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// The [`TOPIC`] header.
pub fn topic(mail: &Envelope) -> Option<&str> {
    mail.headers().get(TOPIC)?.as_str()
}

/// Sets [`SOURCE`] (the text of a socket address), [`TIME_RECEIVED`] and,
/// if there is one, [`TOPIC`].
pub(crate) fn stamp(mail: &mut Envelope, source: String, received: SystemTime, topic: Option<String>) {
    let nanos = received.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let headers = mail.headers_mut();
    headers.insert(SOURCE, source);
    headers.insert(TIME_RECEIVED, Value::Int(i64::try_from(nanos).unwrap_or(i64::MAX)));
    if let Some(topic) = topic {
        headers.insert(TOPIC, topic);
    }
}
