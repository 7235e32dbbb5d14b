//! Length-delimited frames of envelopes, for byte streams.

use std::io;

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec, LengthDelimitedCodecError};

use super::DEFAULT_MAX_FRAME;
use crate::Envelope;
use crate::error::WireError;

/// How envelopes are written inside frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// The msgpack map ([`Envelope::to_msgpack`]): compact and fast.
    #[default]
    MessagePack,
    /// The JSON form ([`Envelope::to_json`]): readable.
    Json,
}

/// Envelopes in length-delimited frames: a 4-byte big-endian length, then
/// that many bytes holding one envelope (tokio-util's
/// [`LengthDelimitedCodec`] reads the frames).
///
/// Use it with [`tokio_util::codec::Framed`] (or `FramedRead` /
/// `FramedWrite`) on any byte stream: a pipe, a Unix or TCP socket.
///
/// A decoded envelope's body of 1 KiB or more is not copied out of its
/// frame: it shares the read buffer (see [`Envelope::from_msgpack_bytes`]).
///
/// A frame that does not hold a valid envelope is not the end of the
/// stream: the decoder yields `Some(Err(WireError))` for it and reads on, so
/// one bad frame costs that frame only. A frame over the limit is skipped
/// without being buffered. Only I/O errors end the stream.
///
/// Encoding an envelope whose frame would be over the limit, or whose body
/// does not serialize, fails with an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData) wrapping the [`WireError`],
/// and writes nothing.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use polyceph::Envelope;
/// use polyceph::error::WireError;
/// use polyceph::wire::EnvelopeCodec;
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = EnvelopeCodec::new().max_frame(4096);
/// let mut buf = BytesMut::new();
/// codec.encode(&Envelope::new("a", "b", "greeting", "hi"), &mut buf)?;
/// buf.extend_from_slice(&[0, 0, 0, 3, 0xff, 0xff, 0xff]); // a frame of garbage
/// codec.encode(&Envelope::new("a", "b", "greeting", "again"), &mut buf)?;
///
/// let first = codec.decode(&mut buf)?.unwrap()?;
/// assert_eq!(first.body::<String>()?, "hi");
/// assert!(matches!(codec.decode(&mut buf)?, Some(Err(WireError::NotAMap { .. }))));
/// let third = codec.decode(&mut buf)?.unwrap()?;
/// assert_eq!(third.body::<String>()?, "again");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EnvelopeCodec {
    frames: LengthDelimitedCodec,
    format: Format,
    max_frame: usize,
    /// Bytes of an oversized frame still to skip.
    discard: usize,
    /// Whether the frame codec has read a length and waits for its frame.
    in_frame: bool,
    /// Reused for encoding an envelope's fields, so a steady stream
    /// allocates nothing.
    scratch: Vec<u8>,
}

/// The length prefix of a frame.
const HEADER: usize = 4;

impl EnvelopeCodec {
    /// A codec for msgpack envelopes in frames of at most
    /// [`DEFAULT_MAX_FRAME`] bytes.
    pub fn new() -> Self {
        Self {
            frames: LengthDelimitedCodec::builder().max_frame_length(DEFAULT_MAX_FRAME).new_codec(),
            format: Format::MessagePack,
            max_frame: DEFAULT_MAX_FRAME,
            discard: 0,
            in_frame: false,
            scratch: Vec::new(),
        }
    }

    /// Sets the largest frame (not counting its 4-byte length) this codec
    /// reads or writes.
    #[must_use]
    pub fn max_frame(mut self, bytes: usize) -> Self {
        let bytes = bytes.min(u32::MAX as usize);
        self.max_frame = bytes;
        self.frames.set_max_frame_length(bytes);
        self
    }

    /// Sets the format of the envelopes inside the frames.
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The largest frame this codec reads or writes.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame
    }

    /// A large body stays in the frame, not copied (see
    /// [`Envelope::from_msgpack_bytes`]).
    fn decode_frame(&self, frame: BytesMut) -> Result<Envelope, WireError> {
        match self.format {
            Format::MessagePack => super::decode_shared(&frame.freeze()),
            Format::Json => super::json::decode(&frame),
        }
    }

    /// Skips what remains of an oversized frame; whether it is all gone.
    fn skip_discarded(&mut self, src: &mut BytesMut) -> bool {
        let n = self.discard.min(src.len());
        src.advance(n);
        self.discard -= n;
        self.discard == 0
    }
}

impl Default for EnvelopeCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for EnvelopeCodec {
    type Item = Result<Envelope, WireError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        if !self.skip_discarded(src) {
            return Ok(None);
        }
        let before = src.len();
        match self.frames.decode(src) {
            Ok(Some(frame)) => {
                self.in_frame = false;
                Ok(Some(self.decode_frame(frame)))
            }
            Ok(None) => {
                self.in_frame |= src.len() < before;
                Ok(None)
            }
            // The length is over the limit. The frame codec leaves the
            // header in place when it says so: skip the header and the frame.
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<LengthDelimitedCodecError>()) => {
                let len = src.get_u32();
                self.discard = len as usize;
                self.skip_discarded(src);
                Ok(Some(Err(WireError::FrameTooLarge { len: u64::from(len), max: self.max_frame })))
            }
            Err(e) => Err(e),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        // The stream ended inside a frame: report it once, then end.
        let partial = (!src.is_empty() || self.in_frame) && self.discard == 0;
        src.clear();
        self.discard = 0;
        self.in_frame = false;
        self.frames = LengthDelimitedCodec::builder().max_frame_length(self.max_frame).new_codec();
        Ok(partial.then_some(Err(WireError::Truncated { field: "frame" })))
    }
}

impl Encoder<&Envelope> for EnvelopeCodec {
    type Error = io::Error;

    /// The envelope is written to a reused scratch buffer (many small
    /// writes, which a `Vec` takes fastest) and copied into `dst` at once,
    /// except for a body that is already msgpack (a body from the wire,
    /// forwarded), which is copied into `dst` straight from the envelope.
    fn encode(&mut self, envelope: &Envelope, dst: &mut BytesMut) -> io::Result<()> {
        let invalid = |error: WireError| io::Error::new(io::ErrorKind::InvalidData, error);
        self.scratch.clear();
        let forwarded: &[u8] = match (self.format, envelope.body_slot().encoded()) {
            (Format::MessagePack, Some(body)) => {
                super::encode::head(envelope, &mut self.scratch).map_err(invalid)?;
                body
            }
            (Format::MessagePack, None) => {
                super::encode(envelope, &mut self.scratch).map_err(invalid)?;
                &[]
            }
            (Format::Json, _) => {
                self.scratch = super::json::encode(envelope).map_err(invalid)?;
                &[]
            }
        };
        let len = self.scratch.len() + forwarded.len();
        if len > self.max_frame {
            return Err(invalid(WireError::FrameTooLarge { len: len as u64, max: self.max_frame }));
        }
        dst.reserve(HEADER + len);
        // At most `max_frame`, which is at most `u32::MAX`.
        dst.put_u32(len as u32);
        dst.extend_from_slice(&self.scratch);
        dst.extend_from_slice(forwarded);
        Ok(())
    }
}

impl Encoder<Envelope> for EnvelopeCodec {
    type Error = io::Error;

    fn encode(&mut self, envelope: Envelope, dst: &mut BytesMut) -> io::Result<()> {
        self.encode(&envelope, dst)
    }
}
