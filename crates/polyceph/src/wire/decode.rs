//! Reading envelopes from untrusted msgpack.
//!
//! A hand-written reader rather than serde: it names each kind of bad input
//! with its own error, keeps the body's bytes without decoding them, and
//! never reserves memory for a length the remaining input cannot back.

use std::collections::BTreeMap;

use bytes::Bytes;
use rmp::Marker;
use uuid::Uuid;

use super::{EXPECTS_ACK, EXPECTS_REPLY, FORMAT_VERSION, MAX_DEPTH, SHARE_FROM, TIMESTAMP_EXT, field, tag};
use crate::envelope::{BodySlot, Expects, Head, Parts};
use crate::error::WireError;
use crate::{Envelope, Headers, Value};

/// Decodes one envelope that fills `bytes` exactly; its body is copied.
pub(crate) fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
    decode_with(bytes, BodySlot::wire)
}

/// Decodes one envelope that fills `bytes` exactly; a body of
/// [`SHARE_FROM`] bytes or more is a slice of `bytes`, not a copy.
pub(crate) fn decode_shared(bytes: &Bytes) -> Result<Envelope, WireError> {
    decode_with(bytes, |body| match body.len() {
        n if n >= SHARE_FROM => BodySlot::wire_shared(bytes.slice_ref(body)),
        _ => BodySlot::wire(body),
    })
}

/// Decodes one envelope that fills `bytes` exactly, making its body slot
/// from the body's bytes with `body`.
fn decode_with(bytes: &[u8], body: impl Fn(&[u8]) -> BodySlot) -> Result<Envelope, WireError> {
    match canonical(bytes, &body) {
        Some(envelope) => Ok(envelope),
        None => any_order(bytes, &body),
    }
}

/// Reads an envelope laid out as the encoder writes it: its fields in the
/// encoder's order, each name a `fixstr`. Each name is then a comparison
/// with a constant of known length, and no field can be missing or seen
/// twice, so none of the bookkeeping of [`any_order`] is needed.
///
/// `None` for anything else, including every malformed input: the caller
/// then reads `bytes` with [`any_order`], which accepts any order and names
/// what is wrong. So this reads values with the same [`Reader`] methods as
/// [`any_order`] and accepts nothing it would refuse: the two agree on
/// every input this one accepts.
fn canonical(bytes: &[u8], body: &impl Fn(&[u8]) -> BodySlot) -> Option<Envelope> {
    let mut r = Reader::new(bytes);
    let fields = match r.bytes.first()? {
        // 11 mandatory fields, up to 3 optional ones.
        &map @ 0x8b..=0x8e => map & 0x0f,
        _ => return None,
    };
    r.at = 1;
    let mut seen = 11;
    r.tag(&tag::VERSION)?;
    r.version().ok()?;
    r.tag(&tag::ID)?;
    let id = r.uuid(field::ID).ok()?;
    r.tag(&tag::THREAD)?;
    let thread = r.uuid(field::THREAD).ok()?;
    r.tag(&tag::THREAD_INDEX)?;
    let thread_index = r.thread_index().ok()?;
    r.tag(&tag::TIME)?;
    let time = r.timestamp(field::TIME).ok()?;
    r.tag(&tag::SENDER)?;
    // The three strings stay borrowed until the envelope is built, which
    // makes each straight into its place (see `Envelope::from_parts`).
    let sender = r.str(field::SENDER).ok()?;
    let incarnation = match r.tag(&tag::INCARNATION) {
        Some(()) => {
            seen += 1;
            r.uint(field::INCARNATION).ok()?
        }
        None => 0,
    };
    r.tag(&tag::RECIPIENT)?;
    let recipient = r.str(field::RECIPIENT).ok()?;
    r.tag(&tag::SUBJECT)?;
    let subject = r.str(field::SUBJECT).ok()?;
    r.tag(&tag::PRIORITY)?;
    let priority = r.priority().ok()?;
    r.tag(&tag::HEADERS)?;
    // Most mail has no headers: then no `Headers` is made at all.
    let headers = if r.empty_map() { None } else { Some(r.headers().ok()?) };
    let in_reply_to = match r.tag(&tag::IN_REPLY_TO) {
        Some(()) => {
            seen += 1;
            Some(r.uuid(field::IN_REPLY_TO).ok()?)
        }
        None => None,
    };
    let expects = match r.tag(&tag::EXPECTS) {
        Some(()) => {
            seen += 1;
            Some(r.expects().ok()?)
        }
        None => None,
    };
    r.tag(&tag::BODY)?;
    let body_bytes = r.raw_value(field::BODY).ok()?;
    if fields != seen || r.remaining() != 0 {
        return None;
    }
    Some(Envelope::from_parts(Parts {
        head: Head { id, time, thread_index, priority, incarnation, sender, recipient, subject },
        thread,
        headers,
        in_reply_to,
        expects,
        body: body(body_bytes),
    }))
}

/// Decodes one envelope whose fields come in any order, or says what is
/// wrong with it.
fn any_order(bytes: &[u8], body: &impl Fn(&[u8]) -> BodySlot) -> Result<Envelope, WireError> {
    let mut r = Reader::new(bytes);
    let fields = match r.marker("envelope")? {
        Marker::FixMap(n) => u32::from(n),
        Marker::Map16 => u32::from(r.be_u16("envelope")?),
        Marker::Map32 => r.be_u32("envelope")?,
        other => return Err(WireError::NotAMap { found: kind(other) }),
    };
    let mut f = Found::default();
    for _ in 0..fields {
        // Field names are compared as bytes: every known name is ASCII, so
        // only an unknown one needs its UTF-8 checked.
        let name = r.str_bytes(FIELD_NAME)?;
        match Key::of(name) {
            Some(Key::Version) => once(&mut f.version, field::VERSION, r.version()?)?,
            Some(Key::Id) => once(&mut f.id, field::ID, r.uuid(field::ID)?)?,
            Some(Key::Thread) => once(&mut f.thread, field::THREAD, r.uuid(field::THREAD)?)?,
            Some(Key::ThreadIndex) => once(&mut f.thread_index, field::THREAD_INDEX, r.thread_index()?)?,
            Some(Key::Time) => once(&mut f.time, field::TIME, r.timestamp(field::TIME)?)?,
            Some(Key::Sender) => once(&mut f.sender, field::SENDER, r.str(field::SENDER)?)?,
            Some(Key::Incarnation) => once(&mut f.incarnation, field::INCARNATION, r.uint(field::INCARNATION)?)?,
            Some(Key::Recipient) => once(&mut f.recipient, field::RECIPIENT, r.str(field::RECIPIENT)?)?,
            Some(Key::Subject) => once(&mut f.subject, field::SUBJECT, r.str(field::SUBJECT)?)?,
            Some(Key::Priority) => once(&mut f.priority, field::PRIORITY, r.priority()?)?,
            Some(Key::Headers) => once(&mut f.headers, field::HEADERS, r.headers()?)?,
            Some(Key::InReplyTo) => once(&mut f.in_reply_to, field::IN_REPLY_TO, r.uuid(field::IN_REPLY_TO)?)?,
            Some(Key::Expects) => once(&mut f.expects, field::EXPECTS, r.expects()?)?,
            Some(Key::Body) => once(&mut f.body, field::BODY, r.raw_value(field::BODY)?)?,
            // A newer peer's field: this version ignores it (the spec says
            // fields added without a version change must be safe to ignore).
            None => {
                std::str::from_utf8(name).map_err(|_| WireError::InvalidUtf8 { field: FIELD_NAME })?;
                r.skip("unknown field")?;
            }
        }
    }
    if r.remaining() != 0 {
        return Err(WireError::TrailingBytes { count: r.remaining() });
    }
    required(f.version, field::VERSION)?;
    let id = required(f.id, field::ID)?;
    Ok(Envelope::from_parts(Parts {
        head: Head {
            id,
            time: required(f.time, field::TIME)?,
            thread_index: f.thread_index.unwrap_or(1),
            priority: f.priority.unwrap_or(0),
            incarnation: f.incarnation.unwrap_or(0),
            sender: required(f.sender, field::SENDER)?,
            recipient: required(f.recipient, field::RECIPIENT)?,
            subject: required(f.subject, field::SUBJECT)?,
        },
        thread: f.thread.unwrap_or(id),
        headers: f.headers.filter(|headers| !headers.is_empty()),
        in_reply_to: f.in_reply_to,
        expects: f.expects,
        body: body(f.body.unwrap_or(NIL)),
    }))
}

const FIELD_NAME: &str = "field name";

/// The fields this version knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Version,
    Id,
    Thread,
    ThreadIndex,
    Time,
    Sender,
    Incarnation,
    Recipient,
    Subject,
    Priority,
    Headers,
    InReplyTo,
    Expects,
    Body,
}

impl Key {
    /// The field named `name`, compared as bytes before any UTF-8 check.
    /// The length and first byte pick the one candidate, and one
    /// comparison of a known length confirms it: a `match` on the names as
    /// byte strings would compare against each name in turn.
    fn of(name: &[u8]) -> Option<Self> {
        let is = |field: &str| name == field.as_bytes();
        let key = match (name.len(), name.first()?) {
            (1, b'v') if is(field::VERSION) => Self::Version,
            (2, b'i') if is(field::ID) => Self::Id,
            (6, b't') if is(field::THREAD) => Self::Thread,
            (12, b't') if is(field::THREAD_INDEX) => Self::ThreadIndex,
            (4, b't') if is(field::TIME) => Self::Time,
            (6, b's') if is(field::SENDER) => Self::Sender,
            (11, b'i') if is(field::INCARNATION) => Self::Incarnation,
            (9, b'r') if is(field::RECIPIENT) => Self::Recipient,
            (7, b's') if is(field::SUBJECT) => Self::Subject,
            (8, b'p') if is(field::PRIORITY) => Self::Priority,
            (7, b'h') if is(field::HEADERS) => Self::Headers,
            (11, b'i') if is(field::IN_REPLY_TO) => Self::InReplyTo,
            (7, b'e') if is(field::EXPECTS) => Self::Expects,
            (4, b'b') if is(field::BODY) => Self::Body,
            _ => return None,
        };
        Some(key)
    }
}

/// A missing body is msgpack `nil`.
const NIL: &[u8] = &[0xc0];

/// The fields seen so far.
#[derive(Default)]
struct Found<'a> {
    version: Option<()>,
    id: Option<Uuid>,
    thread: Option<Uuid>,
    thread_index: Option<u32>,
    time: Option<u64>,
    sender: Option<&'a str>,
    incarnation: Option<u64>,
    recipient: Option<&'a str>,
    subject: Option<&'a str>,
    priority: Option<i8>,
    headers: Option<Headers>,
    in_reply_to: Option<Uuid>,
    expects: Option<Expects>,
    body: Option<&'a [u8]>,
}

/// A mandatory field's value. (Not `ok_or`: it builds and drops an error
/// on every call, which showed in profiles.)
fn required<T>(slot: Option<T>, field: &'static str) -> Result<T, WireError> {
    match slot {
        Some(value) => Ok(value),
        None => Err(WireError::MissingField { field }),
    }
}

fn once<T>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), WireError> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(WireError::DuplicateField { field }),
    }
}

fn out_of_range(field: &'static str, reason: String) -> WireError {
    WireError::OutOfRange { field, reason }
}

fn wrong(field: &'static str, expected: &'static str, found: Marker) -> WireError {
    WireError::WrongType { field, expected, found: kind(found) }
}

/// The msgpack type a marker starts, for error messages.
fn kind(marker: Marker) -> &'static str {
    match marker {
        Marker::Null => "nil",
        Marker::True | Marker::False => "a boolean",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "an integer",
        Marker::F32 | Marker::F64 => "a float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "a string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "bin",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "an array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "a map",
        Marker::Reserved => "the reserved byte 0xc1",
        // What is left: the extensions.
        _ => "an extension",
    }
}

fn is_ext(marker: Marker) -> bool {
    matches!(
        marker,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

/// In [`FIXED_SIZE`]: the first byte does not tell the value's size.
const NOT_FIXED: u8 = u8::MAX;

/// For each first byte of a msgpack value, how many bytes follow it when
/// that byte alone tells (nil, booleans, the integers and floats, `fixstr`,
/// `fixext`), or [`NOT_FIXED`] (lists, maps, longer strings, `bin`, `ext`,
/// and 0xc1). One lookup passes over most scalars.
const FIXED_SIZE: [u8; 256] = {
    let mut size = [NOT_FIXED; 256];
    let mut byte = 0;
    while byte < 256 {
        size[byte] = match byte as u8 {
            // nil, booleans and the fixed integers are all marker.
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => 0,
            b @ 0xa0..=0xbf => b & 0x1f,
            0xcc | 0xd0 => 1,
            0xcd | 0xd1 => 2,
            0xca | 0xce | 0xd2 => 4,
            0xcb | 0xcf | 0xd3 => 8,
            // fixext 1, 2, 4, 8, 16: the type byte, then the data.
            0xd4 => 2,
            0xd5 => 3,
            0xd6 => 5,
            0xd7 => 9,
            0xd8 => 17,
            _ => NOT_FIXED,
        };
        byte += 1;
    }
    size
};

/// A cursor over untrusted msgpack.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Passes over `expected` if the input goes on with it; otherwise stays
    /// where it is. `N` is known, so this is a comparison or two, not a call.
    #[inline]
    fn tag<const N: usize>(&mut self, expected: &[u8; N]) -> Option<()> {
        let next: &[u8; N] = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        if next != expected {
            return None;
        }
        self.at += N;
        Some(())
    }

    /// The next `n` bytes; `Truncated` if the input is shorter.
    #[inline]
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Truncated { field });
        }
        let taken = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn marker(&mut self, field: &'static str) -> Result<Marker, WireError> {
        let [byte] = self.array(field)?;
        Ok(Marker::from_u8(byte))
    }

    fn peek(&self) -> Option<Marker> {
        self.bytes.get(self.at).map(|&b| Marker::from_u8(b))
    }

    fn be_u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    fn be_u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn be_u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn be_u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Any msgpack integer, as an `i128` so every one fits.
    fn integer(&mut self, field: &'static str, marker: Marker) -> Result<Option<i128>, WireError> {
        Ok(Some(match marker {
            Marker::FixPos(n) => i128::from(n),
            Marker::FixNeg(n) => i128::from(n),
            Marker::U8 => i128::from(self.be_u8(field)?),
            Marker::U16 => i128::from(self.be_u16(field)?),
            Marker::U32 => i128::from(self.be_u32(field)?),
            Marker::U64 => i128::from(self.be_u64(field)?),
            Marker::I8 => i128::from(self.be_u8(field)? as i8),
            Marker::I16 => i128::from(self.be_u16(field)? as i16),
            Marker::I32 => i128::from(self.be_u32(field)? as i32),
            Marker::I64 => i128::from(self.be_u64(field)? as i64),
            _ => return Ok(None),
        }))
    }

    /// A non-negative integer.
    #[inline(always)]
    fn uint(&mut self, field: &'static str) -> Result<u64, WireError> {
        if let Some(&byte) = self.bytes.get(self.at)
            && byte < 0x80
        {
            self.at += 1;
            return Ok(u64::from(byte));
        }
        self.uint_slow(field)
    }

    #[inline(never)]
    fn uint_slow(&mut self, field: &'static str) -> Result<u64, WireError> {
        let marker = self.marker(field)?;
        let n = self.integer(field, marker)?.ok_or_else(|| wrong(field, "an unsigned integer", marker))?;
        u64::try_from(n).map_err(|_| out_of_range(field, format!("{n} is negative")))
    }

    /// A signed integer that fits an `i64`.
    #[inline(always)]
    fn int(&mut self, field: &'static str) -> Result<i64, WireError> {
        if let Some(&byte) = self.bytes.get(self.at)
            && !(0x80..0xe0).contains(&byte)
        {
            self.at += 1;
            return Ok(i64::from(byte as i8));
        }
        self.int_slow(field)
    }

    #[inline(never)]
    fn int_slow(&mut self, field: &'static str) -> Result<i64, WireError> {
        let marker = self.marker(field)?;
        let n = self.integer(field, marker)?.ok_or_else(|| wrong(field, "an integer", marker))?;
        i64::try_from(n).map_err(|_| out_of_range(field, format!("{n} is above {}", i64::MAX)))
    }

    fn len(&mut self, field: &'static str, marker: Marker) -> Result<usize, WireError> {
        Ok(match marker {
            Marker::FixStr(n) | Marker::FixArray(n) | Marker::FixMap(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 | Marker::Ext8 => usize::from(self.be_u8(field)?),
            Marker::Str16 | Marker::Bin16 | Marker::Ext16 | Marker::Array16 | Marker::Map16 => {
                usize::from(self.be_u16(field)?)
            }
            _ => self.be_u32(field)? as usize,
        })
    }

    /// The data length of an extension (not counting its type byte).
    fn ext_len(&mut self, field: &'static str, marker: Marker) -> Result<usize, WireError> {
        Ok(match marker {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            _ => self.len(field, marker)?,
        })
    }

    /// A string's bytes, not yet checked to be UTF-8.
    #[inline(always)]
    fn str_bytes(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        // Most strings here are short: a fixstr, its length in the marker.
        if let Some(&byte) = self.bytes.get(self.at)
            && byte & 0xe0 == 0xa0
        {
            let len = usize::from(byte & 0x1f);
            if let Some(text) = self.bytes.get(self.at + 1..self.at + 1 + len) {
                self.at += 1 + len;
                return Ok(text);
            }
        }
        self.str_bytes_slow(field)
    }

    #[inline(never)]
    fn str_bytes_slow(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        let marker = self.marker(field)?;
        let len = match marker {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Str16 | Marker::Str32 => self.len(field, marker)?,
            _ => return Err(wrong(field, "a string", marker)),
        };
        self.take(len, field)
    }

    #[inline(always)]
    fn str(&mut self, field: &'static str) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.str_bytes(field)?).map_err(|_| WireError::InvalidUtf8 { field })
    }

    // One reader per field with rules of its own, for both ways of reading
    // an envelope (`canonical`, `any_order`): one place for each rule.

    /// The format version, which must be this build's.
    #[inline(always)]
    fn version(&mut self) -> Result<(), WireError> {
        match self.uint(field::VERSION)? {
            v if v == u64::from(FORMAT_VERSION) => Ok(()),
            found => Err(WireError::UnknownVersion { found }),
        }
    }

    /// A thread index: 1 or more, within a `u32`.
    #[inline(always)]
    fn thread_index(&mut self) -> Result<u32, WireError> {
        let index = self.uint(field::THREAD_INDEX)?;
        match u32::try_from(index) {
            Ok(index) if index >= 1 => Ok(index),
            _ => Err(out_of_range(field::THREAD_INDEX, format!("{index} is not in 1..=4294967295"))),
        }
    }

    /// A priority: within an `i8`.
    #[inline(always)]
    fn priority(&mut self) -> Result<i8, WireError> {
        let priority = self.int(field::PRIORITY)?;
        i8::try_from(priority).map_err(|_| out_of_range(field::PRIORITY, format!("{priority} is not in -128..=127")))
    }

    /// What the sender waits for: `"reply"` or `"ack"`.
    fn expects(&mut self) -> Result<Expects, WireError> {
        match self.str(field::EXPECTS)? {
            EXPECTS_REPLY => Ok(Expects::Reply),
            EXPECTS_ACK => Ok(Expects::Ack),
            other => Err(out_of_range(field::EXPECTS, format!("{other:?} is neither \"reply\" nor \"ack\""))),
        }
    }

    fn bin(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        let marker = self.marker(field)?;
        if !matches!(marker, Marker::Bin8 | Marker::Bin16 | Marker::Bin32) {
            return Err(wrong(field, "bin", marker));
        }
        let len = self.len(field, marker)?;
        self.take(len, field)
    }

    /// A UUID: `bin 16` in RFC 4122 byte order.
    #[inline(always)]
    fn uuid(&mut self, field: &'static str) -> Result<Uuid, WireError> {
        if let Some(&[0xc4, 16, ref bytes @ ..]) = self.bytes.get(self.at..self.at + 18) {
            self.at += 18;
            let mut id = [0; 16];
            id.copy_from_slice(bytes);
            return Ok(Uuid::from_bytes(id));
        }
        self.uuid_slow(field)
    }

    #[inline(never)]
    fn uuid_slow(&mut self, field: &'static str) -> Result<Uuid, WireError> {
        let bytes = self.bin(field)?;
        Uuid::from_slice(bytes).map_err(|_| out_of_range(field, format!("a UUID is 16 bytes, not {}", bytes.len())))
    }

    /// A msgpack timestamp (extension -1, in any of its three sizes), as
    /// nanoseconds since the Unix epoch.
    #[inline(always)]
    fn timestamp(&mut self, field: &'static str) -> Result<u64, WireError> {
        // What the encoder writes for any time from 1970 to 2514: `fixext 8`
        // of type -1 (0xff), 30 bits of nanoseconds over 34 of seconds.
        if let Some(&[0xd7, 0xff, ref packed @ ..]) = self.bytes.get(self.at..self.at + 10)
            && let Ok(packed) = <[u8; 8]>::try_from(packed)
        {
            let packed = u64::from_be_bytes(packed);
            let (secs, nanos) = (packed & ((1 << 34) - 1), packed >> 34);
            if nanos < 1_000_000_000 {
                self.at += 10;
                // Below 2^34 s and 10^9 ns: well within a u64 of nanoseconds.
                return Ok(secs * 1_000_000_000 + nanos);
            }
        }
        self.timestamp_slow(field)
    }

    #[inline(never)]
    fn timestamp_slow(&mut self, field: &'static str) -> Result<u64, WireError> {
        let marker = self.marker(field)?;
        let len = match marker {
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::Ext8 => usize::from(self.be_u8(field)?),
            _ => return Err(wrong(field, "a timestamp", marker)),
        };
        let [tag] = self.array(field)?;
        if tag as i8 != TIMESTAMP_EXT {
            return Err(WireError::WrongType { field, expected: "a timestamp", found: "another extension" });
        }
        let (secs, nanos) = match len {
            4 => (i64::from(self.be_u32(field)?), 0),
            8 => {
                let packed = self.be_u64(field)?;
                ((packed & ((1 << 34) - 1)) as i64, (packed >> 34) as u32)
            }
            12 => {
                let nanos = self.be_u32(field)?;
                (self.be_u64(field)? as i64, nanos)
            }
            other => return Err(out_of_range(field, format!("a timestamp is 4, 8 or 12 bytes, not {other}"))),
        };
        if nanos >= 1_000_000_000 {
            return Err(out_of_range(field, format!("{nanos} nanoseconds is a second or more")));
        }
        u64::try_from(secs)
            .ok()
            .and_then(|secs| secs.checked_mul(1_000_000_000))
            .and_then(|n| n.checked_add(u64::from(nanos)))
            .ok_or_else(|| out_of_range(field, format!("{secs} s is not between 1970 and 2554")))
    }

    /// Whether the next value is an empty map, passed over if so.
    #[inline(always)]
    fn empty_map(&mut self) -> bool {
        let empty = self.bytes.get(self.at) == Some(&0x80);
        self.at += usize::from(empty);
        empty
    }

    fn headers(&mut self) -> Result<Headers, WireError> {
        // Most mail has none: an empty `fixmap`.
        if self.bytes.get(self.at) == Some(&0x80) {
            self.at += 1;
            return Ok(Headers::new());
        }
        self.headers_slow()
    }

    #[inline(never)]
    fn headers_slow(&mut self) -> Result<Headers, WireError> {
        const FIELD: &str = field::HEADERS;
        let marker = self.marker(FIELD)?;
        if !matches!(marker, Marker::FixMap(_) | Marker::Map16 | Marker::Map32) {
            return Err(wrong(FIELD, "a map", marker));
        }
        let len = self.len(FIELD, marker)?;
        let mut headers = Headers::new();
        for _ in 0..len {
            let name = self.str("header name")?;
            let value = self.value(FIELD, 1)?;
            if headers.insert(name, value).is_some() {
                return Err(WireError::DuplicateField { field: "header name" });
            }
        }
        Ok(headers)
    }

    /// One complete value, as its bytes.
    fn raw_value(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        let start = self.at;
        self.skip(field)?;
        Ok(&self.bytes[start..self.at])
    }

    /// Passes over one value, checking its structure but not its strings.
    ///
    /// A loop, not a recursion: a scalar costs one table lookup
    /// ([`FIXED_SIZE`]), and a list or map in a list or map no call but a
    /// count per level of nesting ([`skip_nested`](Self::skip_nested)).
    /// Items nested deeper than [`MAX_DEPTH`] are refused.
    fn skip(&mut self, field: &'static str) -> Result<(), WireError> {
        // A value that is no list or map needs no count of levels, and
        // neither does a list or map of such values (most struct bodies).
        let Some(mut rest) = self.step(field)? else {
            return Ok(());
        };
        while rest > 0 {
            rest -= 1;
            if let Some(items) = self.step(field)?
                && items > 0
            {
                return self.skip_nested(field, rest, items);
            }
        }
        Ok(())
    }

    /// Goes on from [`skip`](Self::skip) where a list or map of `items`
    /// values opened inside the outer one, which has `rest` values left.
    /// `left[d]` counts the values still to pass at nesting `d`; opening a
    /// list or map moves one level in.
    fn skip_nested(&mut self, field: &'static str, rest: usize, items: usize) -> Result<(), WireError> {
        const { assert!(MAX_DEPTH >= 2, "the outer value's items and theirs are within the limit") };
        let mut left = [0_usize; MAX_DEPTH + 1];
        left[1] = rest;
        left[2] = items;
        let mut depth = 2;
        loop {
            while left[depth] == 0 {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
            }
            left[depth] -= 1;
            if let Some(items) = self.step(field)?
                && items > 0
            {
                if depth == MAX_DEPTH {
                    return Err(WireError::TooDeep { field });
                }
                depth += 1;
                left[depth] = items;
            }
        }
    }

    /// Passes over the next value if it is no list or map; for a list or
    /// map, passes over its header and returns how many values it holds
    /// (a map's keys and values both count).
    #[inline(always)]
    fn step(&mut self, field: &'static str) -> Result<Option<usize>, WireError> {
        let Some(&byte) = self.bytes.get(self.at) else {
            return Err(WireError::Truncated { field });
        };
        self.at += 1;
        let bytes = match FIXED_SIZE[usize::from(byte)] {
            NOT_FIXED => match byte {
                0x90..=0x9f => return Ok(Some(usize::from(byte & 0x0f))),
                0x80..=0x8f => return Ok(Some(usize::from(byte & 0x0f) * 2)),
                0xdc => return Ok(Some(usize::from(self.be_u16(field)?))),
                0xdd => return Ok(Some(self.be_u32(field)? as usize)),
                0xde => return Ok(Some(usize::from(self.be_u16(field)?) * 2)),
                0xdf => return Ok(Some((self.be_u32(field)? as usize).saturating_mul(2))),
                // str 8, bin 8; ext 8 also has its type byte.
                0xd9 | 0xc4 => usize::from(self.be_u8(field)?),
                0xc7 => 1 + usize::from(self.be_u8(field)?),
                0xda | 0xc5 => usize::from(self.be_u16(field)?),
                0xc8 => 1 + usize::from(self.be_u16(field)?),
                0xdb | 0xc6 => self.be_u32(field)? as usize,
                0xc9 => 1 + self.be_u32(field)? as usize,
                // 0xc1, the one byte msgpack reserves.
                _ => return Err(wrong(field, "a msgpack value", Marker::from_u8(byte))),
            },
            fixed => usize::from(fixed),
        };
        if bytes > self.remaining() {
            return Err(WireError::Truncated { field });
        }
        self.at += bytes;
        Ok(None)
    }

    /// One value as a [`Value`]. Lengths are checked against what remains
    /// (every item takes at least one byte) before anything is reserved.
    fn value(&mut self, field: &'static str, depth: usize) -> Result<Value, WireError> {
        if depth > MAX_DEPTH {
            return Err(WireError::TooDeep { field });
        }
        let marker = self.marker(field)?;
        if let Some(n) = self.integer(field, marker)? {
            return Ok(i64::try_from(n).map_or_else(|_| Value::UInt(n as u64), Value::Int));
        }
        Ok(match marker {
            Marker::Null => Value::Nil,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::F32 => Value::Float(f64::from(f32::from_bits(self.be_u32(field)?))),
            Marker::F64 => Value::Float(f64::from_bits(self.be_u64(field)?)),
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let len = self.len(field, marker)?;
                let text = std::str::from_utf8(self.take(len, field)?).map_err(|_| WireError::InvalidUtf8 { field })?;
                Value::Str(text.into())
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let len = self.len(field, marker)?;
                Value::Bytes(self.take(len, field)?.to_vec())
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                let len = self.len(field, marker)?;
                if len > self.remaining() {
                    return Err(WireError::Truncated { field });
                }
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.value(field, depth + 1)?);
                }
                Value::List(items)
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                let len = self.len(field, marker)?;
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    // Scalar keys that are not strings (valid msgpack) keep
                    // their text form. Lists, maps and extensions as keys
                    // are refused: their text form re-escapes at each level
                    // and could grow without bound.
                    let key = match self.peek() {
                        Some(Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32) => {
                            self.str(field)?.to_owned()
                        }
                        Some(
                            marker @ (Marker::FixArray(_)
                            | Marker::Array16
                            | Marker::Array32
                            | Marker::FixMap(_)
                            | Marker::Map16
                            | Marker::Map32),
                        ) => return Err(wrong(field, "a scalar map key", marker)),
                        Some(marker) if is_ext(marker) => return Err(wrong(field, "a scalar map key", marker)),
                        _ => self.value(field, depth + 1)?.to_string(),
                    };
                    entries.insert(key, self.value(field, depth + 1)?);
                }
                Value::Map(entries)
            }
            m if is_ext(m) => {
                let len = self.ext_len(field, m)?;
                let [tag] = self.array(field)?;
                Value::Ext(tag as i8, self.take(len, field)?.to_vec())
            }
            _ => return Err(wrong(field, "a msgpack value", marker)),
        })
    }
}

/// Reads one msgpack value as a [`Value`], all of `bytes`.
pub(crate) fn value(bytes: &[u8], field: &'static str) -> Result<Value, WireError> {
    let mut r = Reader::new(bytes);
    let value = r.value(field, 0)?;
    match r.remaining() {
        0 => Ok(value),
        count => Err(WireError::TrailingBytes { count }),
    }
}

/// Checks that a body just written is one value readers accept (nesting
/// within [`MAX_DEPTH`]).
pub(crate) fn check_body(bytes: &[u8]) -> Result<(), WireError> {
    Reader::new(bytes).skip(field::BODY)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// Whether the envelope's body bytes lie inside `buffer`.
    fn body_in(mail: &Envelope, buffer: &[u8]) -> bool {
        let body = mail.body_slot().encoded().expect("a body from the wire");
        buffer.as_ptr_range().contains(&body.as_ptr())
    }

    #[test]
    fn a_large_body_stays_in_a_shared_buffer_and_a_small_one_is_copied() {
        // A `bin` body's msgpack adds a 3-byte header to bytes of this size.
        for (len, shared) in [(SHARE_FROM, true), (4096, true), (SHARE_FROM - 16, false), (8, false)] {
            let mail = Envelope::new("a", "b", "blob", Value::bytes(vec![7_u8; len]));
            let frame = Bytes::from(mail.to_msgpack().expect("encodes"));
            let copy = decode_shared(&frame).expect("decodes");
            assert_eq!(body_in(&copy, &frame), shared, "a body of {len} bytes");
            assert_eq!(copy.body::<Value>().expect("a value"), Value::bytes(vec![7_u8; len]));
            // Decoding from a slice always copies.
            assert!(!body_in(&decode(&frame).expect("decodes"), &frame));
        }
    }

    #[test]
    fn every_field_name_and_only_it_is_known() {
        let names = [
            (field::VERSION, Key::Version),
            (field::ID, Key::Id),
            (field::THREAD, Key::Thread),
            (field::THREAD_INDEX, Key::ThreadIndex),
            (field::TIME, Key::Time),
            (field::SENDER, Key::Sender),
            (field::INCARNATION, Key::Incarnation),
            (field::RECIPIENT, Key::Recipient),
            (field::SUBJECT, Key::Subject),
            (field::PRIORITY, Key::Priority),
            (field::HEADERS, Key::Headers),
            (field::IN_REPLY_TO, Key::InReplyTo),
            (field::EXPECTS, Key::Expects),
            (field::BODY, Key::Body),
        ];
        for (name, key) in names {
            assert_eq!(Key::of(name.as_bytes()), Some(key), "{name}");
            // Same length and first byte, one byte off; another case; a prefix.
            let mut off = name.as_bytes().to_vec();
            *off.last_mut().unwrap() ^= 1;
            assert_eq!(Key::of(&off), None, "{off:?}");
            assert_eq!(Key::of(name.to_uppercase().as_bytes()), None);
            assert_eq!(Key::of(&name.as_bytes()[..name.len() - 1]), None);
        }
        assert_eq!(Key::of(b""), None);
        assert_eq!(Key::of(b"incarnatioN"), None);
        assert_eq!(Key::of(b"in_reply_tx"), None);
    }

    fn parts(thread_index: u32, incarnation: u64, reply: Option<Expects>, headers: Headers) -> Parts<'static> {
        let id = Uuid::new_v4();
        Parts {
            head: Head {
                id,
                time: 1_763_800_000_123_456_789,
                thread_index,
                priority: -3,
                incarnation,
                sender: "Sensor-Ä",
                recipient: "group:loggers",
                subject: "reading",
            },
            thread: if thread_index > 1 { Uuid::new_v4() } else { id },
            headers: Some(headers).filter(|headers| !headers.is_empty()),
            in_reply_to: reply.map(|_| Uuid::new_v4()),
            expects: reply,
            body: BodySlot::wire(&[0x93, 1, 2, 3]),
        }
    }

    #[test]
    fn what_the_encoder_writes_is_read_in_its_order_and_agrees_with_any_order() {
        let mut headers = Headers::new();
        headers.insert("unit", Value::from("C"));
        headers.insert("n", Value::List(vec![Value::Int(-1), Value::Nil]));
        let mut many = Headers::new();
        for i in 0..20 {
            many.insert(format!("h{i}"), Value::Int(i));
        }
        // Each integer and length at the edges of its shortest form.
        let (names, subjects) = (["s".repeat(31), "s".repeat(32)], ["t".repeat(32), "t".repeat(300)]);
        let edges = |priority, sender, subject| {
            let mut case = parts(128, 128, None, many.clone());
            case.head = Head { priority, sender, subject, ..case.head };
            case
        };
        let cases = [
            parts(1, 0, None, Headers::new()),
            parts(300, 7, None, Headers::new()),
            parts(70_000, u64::MAX, Some(Expects::Reply), headers.clone()),
            parts(2, 0, Some(Expects::Ack), headers),
            edges(-32, &names[0], &subjects[0]),
            edges(-33, &names[1], ""),
            edges(127, "", &subjects[1]),
            edges(-128, "a", "b"),
        ];
        let no_copy = |body: &[u8]| BodySlot::wire(body);
        for case in cases {
            let bytes = Envelope::from_parts(case).to_msgpack().expect("encodes");
            let fast = canonical(&bytes, &no_copy).expect("the encoder's layout is read in its order");
            let slow = any_order(&bytes, &no_copy).expect("decodes");
            // The encoding is deterministic and carries every field.
            assert_eq!(fast.to_msgpack().expect("encodes"), bytes);
            assert_eq!(slow.to_msgpack().expect("encodes"), bytes);
            // Any deviation is left to the reader that names what is wrong.
            for cut in 1..bytes.len() {
                assert!(canonical(&bytes[..cut], &no_copy).is_none(), "cut at {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0xc0);
            assert!(canonical(&longer, &no_copy).is_none());
            assert_eq!(decode(&longer).unwrap_err(), WireError::TrailingBytes { count: 1 });
        }
    }

    /// Whatever the in-order reader accepts, the general reader reads the
    /// same way: every byte of what the encoder wrote set to every value,
    /// one at a time (the layout's markers, lengths and values all change).
    #[test]
    fn the_in_order_reader_agrees_with_the_general_one_on_every_one_byte_change() {
        let mut headers = Headers::new();
        headers.insert("unit", Value::from("C"));
        let no_copy = |body: &[u8]| BodySlot::wire(body);
        for case in [parts(3, 0, None, Headers::new()), parts(2, 9, Some(Expects::Ack), headers)] {
            let bytes = Envelope::from_parts(case).to_msgpack().expect("encodes");
            let mut changed = bytes.clone();
            let mut accepted = 0;
            for at in 0..bytes.len() {
                for byte in 0..=u8::MAX {
                    changed[at] = byte;
                    if let Some(fast) = canonical(&changed, &no_copy) {
                        accepted += 1;
                        let slow = any_order(&changed, &no_copy).unwrap_or_else(|e| {
                            panic!("byte {at} set to {byte:#04x}: only the in-order reader accepts it ({e})")
                        });
                        assert_eq!(fast.to_msgpack().expect("encodes"), slow.to_msgpack().expect("encodes"));
                    }
                }
                changed[at] = bytes[at];
            }
            // Most changes of a UUID, a name's letters or the time are still envelopes.
            assert!(accepted > bytes.len(), "{accepted} changed envelopes accepted");
        }
    }

    #[test]
    fn fields_in_another_order_or_counted_wrong_are_read_by_the_general_reader() {
        let no_copy = |body: &[u8]| BodySlot::wire(body);
        let bytes = Envelope::new("a", "b", "s", 1_u8).to_msgpack().expect("encodes");
        // The version moved behind the id: same fields, another order.
        let (version, rest) = bytes[1..].split_at(3);
        let (id, rest) = rest.split_at(3 + 18);
        let moved = [&bytes[..1], id, version, rest].concat();
        assert!(canonical(&moved, &no_copy).is_none());
        let copy = any_order(&moved, &no_copy).expect("any order is valid");
        assert_eq!(copy.to_msgpack().expect("encodes"), bytes);
        // A map header that counts one field more than there are.
        let mut miscounted = bytes.clone();
        miscounted[0] += 1;
        assert!(canonical(&miscounted, &no_copy).is_none());
        assert!(decode(&miscounted).is_err());
    }

    #[test]
    fn a_shared_body_outlives_the_frame_handle_it_came_from() {
        let mail = Envelope::new("a", "b", "blob", Value::bytes(vec![9_u8; 2048]));
        let frame = Bytes::from(mail.to_msgpack().expect("encodes"));
        let copy = decode_shared(&frame).expect("decodes");
        drop(frame);
        assert_eq!(copy.body::<Value>().expect("a value"), Value::bytes(vec![9_u8; 2048]));
    }
}
