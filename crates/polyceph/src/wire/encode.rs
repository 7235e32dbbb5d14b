//! Writing envelopes as msgpack, with rmp's primitives.

use std::fmt::Debug;

use rmp::encode as mp;
use uuid::Uuid;

use super::{EXPECTS_ACK, EXPECTS_REPLY, FORMAT_VERSION, MAX_DEPTH, TIMESTAMP_EXT, field, tag};
use crate::envelope::Expects;
use crate::error::WireError;
use crate::{Address, Envelope, Value};

/// rmp writes through `std::io::Write`, whose errors cannot happen when the
/// target is a `Vec` (running out of memory aborts instead).
trait Unfailing {
    fn unfailing(self);
}

impl<T, E: Debug> Unfailing for Result<T, E> {
    fn unfailing(self) {
        if let Err(e) = self {
            debug_assert!(false, "writing to a Vec failed: {e:?}");
        }
    }
}

/// Appends `envelope` in the wire format to `out`. On error `out` may hold
/// part of the envelope; the caller discards it.
pub(crate) fn encode(envelope: &Envelope, out: &mut Vec<u8>) -> Result<(), WireError> {
    head(envelope, out)?;
    let start = out.len();
    envelope.body_slot().write_msgpack(out)?;
    check_body(envelope, &out[start..])
}

/// Appends everything of `envelope` up to its body's value (the body's
/// field name is the last thing written), so that the body can be written
/// elsewhere: straight into a frame buffer, without a copy. On error `out`
/// may hold part of it; the caller discards it.
pub(crate) fn head(envelope: &Envelope, out: &mut Vec<u8>) -> Result<(), WireError> {
    let incarnation = envelope.sender_incarnation();
    let in_reply_to = envelope.in_reply_to();
    let expects = envelope.expects();
    let sender = envelope.sender().as_str();
    let recipient_text;
    let recipient = match envelope.recipient() {
        Address::Actor(name) => name.as_str(),
        other => {
            recipient_text = other.to_string();
            &recipient_text
        }
    };
    let subject = envelope.subject();
    // All of it but the headers, so that the writes below do not grow `out`.
    out.reserve(MOST_FIXED + sender.len() + recipient.len() + subject.len());

    // At most 14 fields: a `fixmap`. The field names are written as the
    // constants the decoder compares them with (`tag`).
    let fields = 11 + u8::from(incarnation != 0) + u8::from(in_reply_to.is_some()) + u8::from(expects.is_some());
    out.push(0x80 | fields);
    // The version first, so a reader knows how to read the rest.
    out.extend_from_slice(&tag::VERSION);
    uint(out, u64::from(FORMAT_VERSION));
    out.extend_from_slice(&tag::ID);
    uuid(out, envelope.id());
    out.extend_from_slice(&tag::THREAD);
    uuid(out, envelope.thread());
    out.extend_from_slice(&tag::THREAD_INDEX);
    uint(out, u64::from(envelope.thread_index()));
    out.extend_from_slice(&tag::TIME);
    timestamp(out, envelope.time_nanos());
    out.extend_from_slice(&tag::SENDER);
    str(out, sender);
    if incarnation != 0 {
        out.extend_from_slice(&tag::INCARNATION);
        uint(out, incarnation);
    }
    out.extend_from_slice(&tag::RECIPIENT);
    str(out, recipient);
    out.extend_from_slice(&tag::SUBJECT);
    str(out, subject);
    out.extend_from_slice(&tag::PRIORITY);
    match envelope.priority() {
        // A positive or negative `fixint`: the byte itself.
        p @ -32..=127 => out.push(p as u8),
        p => mp::write_sint(out, i64::from(p)).unfailing(),
    }
    out.extend_from_slice(&tag::HEADERS);
    let headers = envelope.headers();
    match u8::try_from(headers.len()) {
        Ok(len) if len < 16 => out.push(0x80 | len),
        _ => mp::write_map_len(out, len_u32(headers.len())).unfailing(),
    }
    for (name, value) in headers.iter() {
        if too_deep(value, 1) {
            return Err(WireError::TooDeep { field: field::HEADERS });
        }
        str(out, name);
        self::value(out, value);
    }
    if let Some(id) = in_reply_to {
        out.extend_from_slice(&tag::IN_REPLY_TO);
        uuid(out, id);
    }
    if let Some(expects) = expects {
        out.extend_from_slice(&tag::EXPECTS);
        str(
            out,
            match expects {
                Expects::Reply => EXPECTS_REPLY,
                Expects::Ack => EXPECTS_ACK,
            },
        );
    }
    out.extend_from_slice(&tag::BODY);
    Ok(())
}

/// The most bytes the head takes besides the three names' text and the
/// headers: the map's marker; every field name; the version, the two
/// UUIDs, the index, the time, the incarnation, the priority and the reply's
/// id at their largest; the markers of four strings, the headers' map and
/// the `expects` value.
const MOST_FIXED: usize = 1
    + tag::VERSION.len()
    + 1
    + tag::ID.len()
    + 18
    + tag::THREAD.len()
    + 18
    + tag::THREAD_INDEX.len()
    + 5
    + tag::TIME.len()
    + 15
    + tag::SENDER.len()
    + 5
    + tag::INCARNATION.len()
    + 9
    + tag::RECIPIENT.len()
    + 5
    + tag::SUBJECT.len()
    + 5
    + tag::PRIORITY.len()
    + 2
    + tag::HEADERS.len()
    + 5
    + tag::IN_REPLY_TO.len()
    + 18
    + tag::EXPECTS.len()
    + 1
    + EXPECTS_REPLY.len()
    + tag::BODY.len();

/// Checks the bytes just written for `envelope`'s body: a local body must
/// not nest deeper than readers accept (a body from the wire was checked
/// when it was read).
fn check_body(envelope: &Envelope, written: &[u8]) -> Result<(), WireError> {
    match envelope.body_slot().encoded() {
        Some(_) => Ok(()),
        None => super::decode::check_body(written),
    }
}

/// Appends one [`Value`] as msgpack.
pub(crate) fn value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Nil => mp::write_nil(out).unfailing(),
        Value::Bool(b) => mp::write_bool(out, *b).unfailing(),
        Value::Int(i) => mp::write_sint(out, *i).map(drop).unfailing(),
        Value::UInt(u) => mp::write_uint(out, *u).map(drop).unfailing(),
        Value::Float(x) => mp::write_f64(out, *x).unfailing(),
        Value::Str(s) => str(out, s),
        Value::Bytes(b) => mp::write_bin(out, b).unfailing(),
        Value::List(items) => {
            mp::write_array_len(out, len_u32(items.len())).unfailing();
            items.iter().for_each(|item| self::value(out, item));
        }
        Value::Map(entries) => {
            mp::write_map_len(out, len_u32(entries.len())).unfailing();
            for (key, item) in entries {
                str(out, key);
                self::value(out, item);
            }
        }
        Value::Ext(tag, data) => {
            mp::write_ext_meta(out, len_u32(data.len()), *tag).unfailing();
            out.extend_from_slice(data);
        }
    }
}

/// Whether `value`, found at `depth`, nests deeper than readers accept.
pub(crate) fn too_deep(value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    match value {
        Value::List(items) => items.iter().any(|item| too_deep(item, depth + 1)),
        Value::Map(entries) => entries.values().any(|item| too_deep(item, depth + 1)),
        _ => false,
    }
}

/// A string in its shortest form; most are a `fixstr` (under 32 bytes).
#[inline]
fn str(out: &mut Vec<u8>, s: &str) {
    match u8::try_from(s.len()) {
        Ok(len) if len < 32 => {
            out.push(0xa0 | len);
            out.extend_from_slice(s.as_bytes());
        }
        _ => mp::write_str(out, s).unfailing(),
    }
}

/// An unsigned integer in its shortest form; most are a positive `fixint`.
#[inline]
fn uint(out: &mut Vec<u8>, n: u64) {
    match u8::try_from(n) {
        Ok(byte) if byte < 0x80 => out.push(byte),
        _ => mp::write_uint(out, n).unfailing(),
    }
}

/// A UUID is `bin 16`, its bytes in RFC 4122 order (Python's `UUID.bytes`).
#[inline]
fn uuid(out: &mut Vec<u8>, id: Uuid) {
    out.extend_from_slice(&[0xc4, 16]);
    out.extend_from_slice(id.as_bytes());
}

/// The msgpack timestamp extension, in its smallest form that holds the time.
fn timestamp(out: &mut Vec<u8>, nanos: u64) {
    let secs = nanos / 1_000_000_000;
    let subsec = nanos % 1_000_000_000;
    if secs >> 34 == 0 {
        if subsec == 0 && secs <= u64::from(u32::MAX) {
            mp::write_ext_meta(out, 4, TIMESTAMP_EXT).unfailing();
            out.extend_from_slice(&(secs as u32).to_be_bytes());
        } else {
            // `fixext 8` of the timestamp type: what the decoder reads first.
            out.extend_from_slice(&[0xd7, TIMESTAMP_EXT as u8]);
            out.extend_from_slice(&((subsec << 34) | secs).to_be_bytes());
        }
    } else {
        mp::write_ext_meta(out, 12, TIMESTAMP_EXT).unfailing();
        out.extend_from_slice(&(subsec as u32).to_be_bytes());
        out.extend_from_slice(&(secs as i64).to_be_bytes());
    }
}

/// Lengths on the wire are 32-bit; a frame is far smaller than 4 GiB, and
/// the frame limit refuses anything larger before it is sent.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
