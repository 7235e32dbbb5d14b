//! The wire format: how an [`Envelope`] travels between processes.
//!
//! Every bridge (named pipes, UDP multicast, process mode, later MQTT and
//! Unix sockets) speaks this one encoding, specified in
//! `docs/wire-format.md` so that a client in any language can join:
//!
//! - an envelope is a **msgpack map with named fields** and a format version
//!   `v` ([`FORMAT_VERSION`]); ids are 16-byte `bin` UUIDs, the time a
//!   msgpack timestamp, the headers a map, the body any msgpack value;
//! - **JSON** is the readable alternative with the same field names
//!   ([`Envelope::to_json`], [`Envelope::from_json`]);
//! - on streams, envelopes travel in **length-delimited frames** of at most
//!   [`DEFAULT_MAX_FRAME`] bytes (configurable): see [`EnvelopeCodec`];
//!   datagram transports carry one envelope per datagram.
//!
//! Decoding untrusted input never panics, never reserves memory for a length
//! the input cannot back, and names what is wrong with a distinct
//! [`WireError`]. The body is not decoded on arrival: it stays msgpack bytes
//! until [`Envelope::body`] reads it, so a bridge that forwards mail never
//! decodes a body.
//!
//! # Examples
//!
//! ```
//! use polyceph::Envelope;
//! use polyceph::error::WireError;
//!
//! let mail = Envelope::new("sensor", "logger", "reading", 21.5_f64).with_header("unit", "C");
//! let bytes = mail.to_msgpack()?;
//! let copy = Envelope::from_msgpack(&bytes)?;
//! assert_eq!(copy.id(), mail.id());
//! assert_eq!(copy.body::<f64>()?, 21.5);
//!
//! // Bad input is an error that says what is wrong, never a panic.
//! assert_eq!(Envelope::from_msgpack(&bytes[..10]).unwrap_err(), WireError::Truncated { field: "id" });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod decode;
mod encode;
pub(crate) mod json;

pub use codec::{EnvelopeCodec, Format};
pub(crate) use decode::{decode, decode_shared};
pub(crate) use encode::encode;

#[cfg(doc)]
use crate::Envelope;
#[cfg(doc)]
use crate::error::WireError;

/// The version of the wire format this build writes and reads, carried in
/// every envelope's `v` field.
pub const FORMAT_VERSION: u8 = 1;

/// The default limit on one frame (and so one envelope): 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// A body of at least this many bytes, decoded with
/// [`Envelope::from_msgpack_bytes`] (as [`EnvelopeCodec`] does), shares the
/// buffer it was read into instead of being copied out of it. Smaller ones
/// are copied: they cost less to copy than to share (an atomic count on
/// each clone and drop), and would keep a whole read buffer alive for a few
/// bytes. Bridges that hand out raw frames follow the same rule.
pub const SHARE_FROM: usize = 1024;

/// How deep lists and maps may nest in headers and bodies. Deeper input is
/// refused, so decoding cannot exhaust the stack.
pub const MAX_DEPTH: usize = 32;

/// The values of the `expects` field.
const EXPECTS_REPLY: &str = "reply";
const EXPECTS_ACK: &str = "ack";

/// The msgpack extension type of a timestamp.
const TIMESTAMP_EXT: i8 = -1;

/// The field names, as they appear on the wire.
mod field {
    pub(super) const VERSION: &str = "v";
    pub(super) const ID: &str = "id";
    pub(super) const THREAD: &str = "thread";
    pub(super) const THREAD_INDEX: &str = "thread_index";
    pub(super) const TIME: &str = "time";
    pub(super) const SENDER: &str = "sender";
    pub(super) const INCARNATION: &str = "incarnation";
    pub(super) const RECIPIENT: &str = "recipient";
    pub(super) const SUBJECT: &str = "subject";
    pub(super) const PRIORITY: &str = "priority";
    pub(super) const HEADERS: &str = "headers";
    pub(super) const IN_REPLY_TO: &str = "in_reply_to";
    pub(super) const EXPECTS: &str = "expects";
    pub(super) const BODY: &str = "body";
}

/// The field names with their `fixstr` marker, as the encoder writes them
/// and the decoder looks for them.
mod tag {
    use super::field;

    /// `name` as a msgpack `fixstr`: its marker, then its bytes. Checked
    /// when the constants below are evaluated, at compile time.
    const fn fixstr<const N: usize>(name: &str) -> [u8; N] {
        let name = name.as_bytes();
        assert!(name.len() + 1 == N && name.len() < 32, "a fixstr is its marker and up to 31 bytes");
        let mut out = [0; N];
        out[0] = 0xa0 | name.len() as u8;
        let mut i = 0;
        while i < name.len() {
            out[i + 1] = name[i];
            i += 1;
        }
        out
    }

    pub(super) const VERSION: [u8; 2] = fixstr(field::VERSION);
    pub(super) const ID: [u8; 3] = fixstr(field::ID);
    pub(super) const THREAD: [u8; 7] = fixstr(field::THREAD);
    pub(super) const THREAD_INDEX: [u8; 13] = fixstr(field::THREAD_INDEX);
    pub(super) const TIME: [u8; 5] = fixstr(field::TIME);
    pub(super) const SENDER: [u8; 7] = fixstr(field::SENDER);
    pub(super) const INCARNATION: [u8; 12] = fixstr(field::INCARNATION);
    pub(super) const RECIPIENT: [u8; 10] = fixstr(field::RECIPIENT);
    pub(super) const SUBJECT: [u8; 8] = fixstr(field::SUBJECT);
    pub(super) const PRIORITY: [u8; 9] = fixstr(field::PRIORITY);
    pub(super) const HEADERS: [u8; 8] = fixstr(field::HEADERS);
    pub(super) const IN_REPLY_TO: [u8; 12] = fixstr(field::IN_REPLY_TO);
    pub(super) const EXPECTS: [u8; 8] = fixstr(field::EXPECTS);
    pub(super) const BODY: [u8; 5] = fixstr(field::BODY);
}
