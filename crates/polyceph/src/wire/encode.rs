//! Writing envelopes as msgpack, with rmp's primitives.

use std::fmt::Debug;

use rmp::encode as mp;
use uuid::Uuid;

use super::{EXPECTS_ACK, EXPECTS_REPLY, FORMAT_VERSION, MAX_DEPTH, TIMESTAMP_EXT, field};
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
    let fields = 11 + u32::from(incarnation != 0) + u32::from(in_reply_to.is_some()) + u32::from(expects.is_some());
    mp::write_map_len(out, fields).unfailing();

    // The version first, so a reader knows how to read the rest.
    str(out, field::VERSION);
    mp::write_pfix(out, FORMAT_VERSION).unfailing();
    str(out, field::ID);
    uuid(out, envelope.id());
    str(out, field::THREAD);
    uuid(out, envelope.thread());
    str(out, field::THREAD_INDEX);
    mp::write_uint(out, u64::from(envelope.thread_index())).unfailing();
    str(out, field::TIME);
    timestamp(out, envelope.time_nanos());
    str(out, field::SENDER);
    str(out, envelope.sender().as_str());
    if incarnation != 0 {
        str(out, field::INCARNATION);
        mp::write_uint(out, incarnation).unfailing();
    }
    str(out, field::RECIPIENT);
    match envelope.recipient() {
        Address::Actor(name) => str(out, name.as_str()),
        other => str(out, &other.to_string()),
    }
    str(out, field::SUBJECT);
    str(out, envelope.subject());
    str(out, field::PRIORITY);
    mp::write_sint(out, i64::from(envelope.priority())).unfailing();
    str(out, field::HEADERS);
    let headers = envelope.headers();
    mp::write_map_len(out, len_u32(headers.len())).unfailing();
    for (name, value) in headers.iter() {
        if too_deep(value, 1) {
            return Err(WireError::TooDeep { field: field::HEADERS });
        }
        str(out, name);
        self::value(out, value);
    }
    if let Some(id) = in_reply_to {
        str(out, field::IN_REPLY_TO);
        uuid(out, id);
    }
    if let Some(expects) = expects {
        str(out, field::EXPECTS);
        str(
            out,
            match expects {
                Expects::Reply => EXPECTS_REPLY,
                Expects::Ack => EXPECTS_ACK,
            },
        );
    }
    str(out, field::BODY);
    Ok(())
}

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

fn str(out: &mut Vec<u8>, s: &str) {
    mp::write_str(out, s).unfailing();
}

/// A UUID is `bin 16`, its bytes in RFC 4122 order (Python's `UUID.bytes`).
fn uuid(out: &mut Vec<u8>, id: Uuid) {
    mp::write_bin(out, id.as_bytes()).unfailing();
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
            mp::write_ext_meta(out, 8, TIMESTAMP_EXT).unfailing();
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
