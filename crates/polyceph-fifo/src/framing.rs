//! How bytes in a FIFO are cut into messages: marked frames, fixed-size
//! records for several readers, or lines. `docs/fifo.md` specifies all three
//! for writers in other languages.
//!
//! A **frame** is the wire format's length-delimited frame behind a
//! two-byte marker, [`MAGIC`]: `C1 46`, a big-endian `u32` length, then that
//! many bytes of payload. The marker lets a reader find the next frame after
//! bytes that are not one: without it, a bad length prefix would make the
//! reader take everything after it as one frame, and it could never find
//! its way back. `0xC1` is the one byte msgpack never uses and never occurs
//! in UTF-8 text, so neither text nor envelopes written by mistake look
//! like a frame.
//!
//! A **record** is a frame padded with zero bytes to exactly
//! [`RECORD_LEN`] (= [`PIPE_BUF`]) bytes: written with one `write` and read
//! with one `read` of that size, it reaches exactly one of several competing
//! readers, whole.
//!
//! A **line** ends with `\n`.

mod frames;
mod lines;
mod records;

use std::fmt;

use bytes::{BufMut, BytesMut};
use polyceph::error::WireError;

pub(crate) use frames::{FrameDecoder, Payload};
pub(crate) use lines::{LineDecoder, parse_line};
pub(crate) use records::{read_record, realignment};

/// The largest write a pipe takes atomically (Linux): frames up to this size
/// from several writers never interleave.
pub const PIPE_BUF: usize = 4096;

/// The marker every frame and record starts with: `0xC1`, then `F`.
pub const MAGIC: [u8; 2] = [0xC1, b'F'];

/// The marker and the length that precede a frame's payload.
pub const HEADER_LEN: usize = 6;

/// The size of a record in the shared-reader mode ([`Framing::Records`]).
pub const RECORD_LEN: usize = PIPE_BUF;

/// The largest payload a record holds.
pub const MAX_RECORD_PAYLOAD: usize = RECORD_LEN - HEADER_LEN;

/// How messages are cut out of the byte stream. Writer and reader of one
/// FIFO must agree.
///
/// | framing | each message is | several writers | several readers |
/// |---|---|---|---|
/// | [`Frames`](Framing::Frames) (default) | `C1 46`, `u32` length, payload | yes, frames ≤ [`PIPE_BUF`] | no: frames tear between readers |
/// | [`Records`](Framing::Records) | a frame padded to 4096 bytes | yes | yes: each record reaches one of them, whole |
/// | [`Lines`](Framing::Lines) | text up to `\n` | yes, lines ≤ [`PIPE_BUF`] | no |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Framing {
    /// Marked, length-prefixed frames; the payload is an envelope in the
    /// wire format's msgpack form, or raw bytes.
    #[default]
    Frames,
    /// Fixed-size records of [`RECORD_LEN`] bytes, for several readers
    /// sharing the load of one FIFO.
    Records,
    /// Lines of text for people and shell scripts: a JSON envelope, or
    /// `subject<TAB>body`.
    Lines,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Frames => "frames",
            Self::Records => "records",
            Self::Lines => "lines",
        })
    }
}

/// Appends a frame's header for a payload of `len` bytes.
pub(crate) fn put_header(out: &mut BytesMut, len: usize) {
    out.put_slice(&MAGIC);
    // The caller checked the length against a limit below 4 GiB.
    out.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
}

/// Where the next marker starts in `bytes`, if anywhere; a lone `0xC1` at
/// the very end counts, since its `F` may be on its way.
pub(crate) fn find_magic(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = bytes[from..].iter().position(|&b| b == MAGIC[0]) {
        let at = from + at;
        match bytes.get(at + 1) {
            None => return Some(at),
            Some(&b) if b == MAGIC[1] => return Some(at),
            Some(_) => from = at + 1,
        }
    }
    None
}

/// A stretch of input that held no message, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Malformed {
    /// How many bytes were skipped.
    pub(crate) bytes: u64,
    pub(crate) reason: Reason,
}

/// Why input was skipped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reason {
    /// Bytes between frames that do not start a frame.
    NotAFrame,
    /// A frame whose length is over the reader's limit.
    TooLarge { len: u64, max: usize },
    /// A frame the end of the input cut short.
    Truncated { len: u64, got: usize },
    /// A frame, record or line whose payload is no envelope.
    Envelope(WireError),
    /// A line that is not UTF-8.
    NotUtf8,
    /// A line longer than the reader's limit.
    LineTooLong { max: usize },
    /// A short line with a tab but nothing before it.
    NoSubject,
    /// A read that is not one whole record.
    NotARecord(&'static str),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAFrame => f.write_str("bytes that are not a frame"),
            Self::TooLarge { len, max } => write!(f, "frame of {len} bytes over the limit of {max} bytes"),
            Self::Truncated { len, got } => write!(f, "frame of {len} bytes cut short after {got} bytes"),
            Self::Envelope(error) => write!(f, "not an envelope: {error}"),
            Self::NotUtf8 => f.write_str("line is not UTF-8"),
            Self::LineTooLong { max } => write!(f, "line longer than {max} bytes"),
            Self::NoSubject => f.write_str("line has a tab but no subject before it"),
            Self::NotARecord(why) => write!(f, "not a record: {why}"),
        }
    }
}

impl From<WireError> for Reason {
    fn from(error: WireError) -> Self {
        Self::Envelope(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_marker_and_a_marker_cut_at_the_end() {
        assert_eq!(find_magic(b"abc"), None);
        assert_eq!(find_magic(b"ab\xC1Fc"), Some(2));
        assert_eq!(find_magic(b"\xC1x\xC1Fc"), Some(2));
        assert_eq!(find_magic(b"abc\xC1"), Some(3));
        assert_eq!(find_magic(b"\xC1\xC1F"), Some(1));
    }
}
