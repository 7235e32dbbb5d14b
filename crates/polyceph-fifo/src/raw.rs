//! The body of mail made from a raw frame, record or line.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// The bytes of a raw frame, record or line, as the body of the mail a
/// [`FifoReader`](crate::FifoReader) in raw mode delivers.
///
/// Read it without copying with `mail.body_ref::<RawFrame>()`, or take it
/// with `mail.into_body::<RawFrame>()`. It serializes as msgpack `bin`, so
/// forwarded over a wire it arrives as bytes (Python `bytes`).
///
/// # Examples
///
/// ```
/// use polyceph::Envelope;
/// use polyceph_fifo::RawFrame;
///
/// let mail = Envelope::new("$fifo", "main", "raw", RawFrame::from(&b"\x00\x01hello"[..]));
/// assert_eq!(&mail.body_ref::<RawFrame>()?[2..], b"hello");
/// // Across the wire, the same bytes.
/// let copy = Envelope::from_msgpack(&mail.to_msgpack()?)?;
/// assert_eq!(copy.body::<RawFrame>()?, RawFrame::from(&b"\x00\x01hello"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct RawFrame(pub Bytes);

impl RawFrame {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as text, if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl Deref for RawFrame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Bytes> for RawFrame {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for RawFrame {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }
}

impl From<&[u8]> for RawFrame {
    fn from(bytes: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(bytes))
    }
}

impl fmt::Debug for RawFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => write!(f, "RawFrame({text:?})"),
            None => write!(f, "RawFrame({} bytes)", self.0.len()),
        }
    }
}

impl serde::Serialize for RawFrame {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for RawFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }
}

/// Accepts bytes, a string (its UTF-8 bytes) or a list of integers.
struct BytesVisitor;

impl<'de> serde::de::Visitor<'de> for BytesVisitor {
    type Value = RawFrame;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<RawFrame, E> {
        Ok(RawFrame::from(bytes))
    }

    fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<RawFrame, E> {
        Ok(RawFrame::from(bytes))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RawFrame, E> {
        Ok(RawFrame::from(text.as_bytes()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawFrame, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(RawFrame::from(bytes))
    }
}
