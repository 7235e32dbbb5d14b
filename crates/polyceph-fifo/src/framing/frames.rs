//! Reading marked frames out of a byte stream, finding the next frame after
//! bytes that are not one.

use std::ops::Deref;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use polyceph::wire::SHARE_FROM;

use super::{HEADER_LEN, MAGIC, Malformed, Reason, find_magic};

/// A frame's payload, as the decoder hands it to be parsed.
#[derive(Debug)]
pub(crate) enum Payload<'a> {
    /// A small payload, still in the read buffer: whatever keeps it copies.
    InBuffer(&'a [u8]),
    /// A payload of at least [`SHARE_FROM`] bytes, split off the read
    /// buffer: a message may keep it (a large body, a raw frame) without
    /// copying it.
    Split(&'a Bytes),
}

impl Deref for Payload<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::InBuffer(bytes) => bytes,
            Self::Split(bytes) => bytes,
        }
    }
}

/// Cuts marked frames out of a stream.
///
/// A bad stretch (bytes that are no frame, a frame over the limit, a frame
/// whose payload does not parse) is reported once, as one [`Malformed`],
/// when the next good frame is found or the input ends. The reader then
/// goes on from the byte after the bad stretch's first marker, never from
/// a length it cannot trust, so frames hidden behind a bad length are
/// found too.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    max: usize,
    /// The bad stretch being skipped.
    run: Option<Malformed>,
}

impl FrameDecoder {
    /// A decoder of frames whose payload is at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self { max, run: None }
    }

    /// The next message, or bad stretch, in `buf`; `None` when more input
    /// is needed. `parse` turns a payload into a message; when it fails,
    /// the frame is a bad stretch.
    ///
    /// A large payload is split off `buf`, not copied (see [`Payload`]).
    pub(crate) fn decode<T>(
        &mut self,
        buf: &mut BytesMut,
        parse: &mut impl FnMut(Payload<'_>) -> Result<T, Reason>,
    ) -> Option<Result<T, Malformed>> {
        loop {
            match find_magic(buf) {
                None => {
                    let all = buf.len();
                    self.skip(buf, all, Reason::NotAFrame);
                    return None;
                }
                Some(0) => {}
                Some(at) => self.skip(buf, at, Reason::NotAFrame),
            }
            if buf.len() < HEADER_LEN {
                return None;
            }
            let len = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]) as usize;
            if len > self.max {
                self.skip(buf, MAGIC.len(), Reason::TooLarge { len: len as u64, max: self.max });
                continue;
            }
            if buf.len() < HEADER_LEN + len {
                buf.reserve(HEADER_LEN + len - buf.len());
                return None;
            }
            // A whole frame: whatever was skipped before it ends here.
            if let Some(run) = self.run.take() {
                return Some(Err(run));
            }
            if len < SHARE_FROM {
                match parse(Payload::InBuffer(&buf[HEADER_LEN..HEADER_LEN + len])) {
                    Ok(message) => {
                        buf.advance(HEADER_LEN + len);
                        return Some(Ok(message));
                    }
                    Err(reason) => {
                        self.skip(buf, MAGIC.len(), reason);
                        continue;
                    }
                }
            }
            let header: [u8; HEADER_LEN] = buf[..HEADER_LEN].try_into().unwrap_or_default();
            let mut payload = buf.split_to(HEADER_LEN + len).freeze();
            payload.advance(HEADER_LEN);
            match parse(Payload::Split(&payload)) {
                Ok(message) => return Some(Ok(message)),
                Err(reason) => {
                    // Not a frame after all: put it back (a copy, on this
                    // rare path only) and look for one after its marker.
                    let mut back = BytesMut::with_capacity(HEADER_LEN + len + buf.len());
                    back.put_slice(&header);
                    back.put_slice(&payload);
                    back.put_slice(buf);
                    *buf = back;
                    self.skip(buf, MAGIC.len(), reason);
                }
            }
        }
    }

    /// As [`decode`](Self::decode), once the input has ended (every writer
    /// closed): a frame cut short is a bad stretch, and so is whatever is
    /// left. Call it until it returns `None`; the decoder is then ready for
    /// the next writer.
    pub(crate) fn decode_eof<T>(
        &mut self,
        buf: &mut BytesMut,
        parse: &mut impl FnMut(Payload<'_>) -> Result<T, Reason>,
    ) -> Option<Result<T, Malformed>> {
        loop {
            if let Some(item) = self.decode(buf, parse) {
                return Some(item);
            }
            if buf.is_empty() {
                return self.run.take().map(Err);
            }
            // What is left starts with a marker: the frame it begins was cut short.
            let reason = if buf.len() >= HEADER_LEN {
                let len = u64::from(u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]));
                Reason::Truncated { len, got: buf.len() - HEADER_LEN }
            } else {
                Reason::NotAFrame
            };
            let marker = MAGIC.len().min(buf.len());
            self.skip(buf, marker, reason);
        }
    }

    /// Skips `n` bytes as part of the current bad stretch, which starts now
    /// with `reason` if none was under way.
    fn skip(&mut self, buf: &mut BytesMut, n: usize, reason: Reason) {
        if n == 0 {
            return;
        }
        buf.advance(n);
        self.run.get_or_insert(Malformed { bytes: 0, reason }).bytes += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use bytes::BufMut;

    use super::*;
    use crate::framing::put_header;

    fn frame(out: &mut BytesMut, payload: &[u8]) {
        put_header(out, payload.len());
        out.put_slice(payload);
    }

    /// Payloads starting with `!` do not parse.
    fn parse(payload: Payload<'_>) -> Result<Vec<u8>, Reason> {
        if payload.first() == Some(&b'!') { Err(Reason::NotARecord("test")) } else { Ok(payload.to_vec()) }
    }

    fn drain(decoder: &mut FrameDecoder, buf: &mut BytesMut, eof: bool) -> Vec<Result<Vec<u8>, Malformed>> {
        let mut out = Vec::new();
        loop {
            let next = if eof { decoder.decode_eof(buf, &mut parse) } else { decoder.decode(buf, &mut parse) };
            match next {
                Some(item) => out.push(item),
                None => return out,
            }
        }
    }

    #[test]
    fn frames_come_out_whole_even_a_byte_at_a_time() {
        let mut input = BytesMut::new();
        frame(&mut input, b"one");
        frame(&mut input, b"");
        frame(&mut input, b"three");
        let mut decoder = FrameDecoder::new(100);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in input {
            buf.put_u8(byte);
            got.extend(drain(&mut decoder, &mut buf, false));
        }
        assert_eq!(got, vec![Ok(b"one".to_vec()), Ok(vec![]), Ok(b"three".to_vec())]);
    }

    #[test]
    fn garbage_is_one_bad_stretch_reported_before_the_next_frame() {
        let mut buf = BytesMut::from(&b"hello\n\xff\x00 \xC1x"[..]);
        frame(&mut buf, b"ok");
        let mut decoder = FrameDecoder::new(100);
        let got = drain(&mut decoder, &mut buf, false);
        assert_eq!(got, vec![Err(Malformed { bytes: 11, reason: Reason::NotAFrame }), Ok(b"ok".to_vec())]);
    }

    #[test]
    fn a_length_over_the_limit_does_not_swallow_the_frames_behind_it() {
        let mut buf = BytesMut::new();
        buf.put_slice(&MAGIC);
        buf.put_u32(1_000_000);
        buf.put_slice(b"xy");
        frame(&mut buf, b"after");
        let mut decoder = FrameDecoder::new(100);
        let got = drain(&mut decoder, &mut buf, false);
        assert_eq!(
            got,
            vec![
                Err(Malformed { bytes: 8, reason: Reason::TooLarge { len: 1_000_000, max: 100 } }),
                Ok(b"after".to_vec()),
            ]
        );
    }

    #[test]
    fn a_frame_that_does_not_parse_is_skipped_and_a_frame_inside_it_is_found() {
        // A bad frame whose declared length covers a good frame.
        let mut inner = BytesMut::new();
        frame(&mut inner, b"inner");
        let mut buf = BytesMut::new();
        put_header(&mut buf, 1 + inner.len());
        buf.put_u8(b'!');
        buf.put_slice(&inner);
        let mut decoder = FrameDecoder::new(100);
        let got = drain(&mut decoder, &mut buf, false);
        assert_eq!(got, vec![Err(Malformed { bytes: 7, reason: Reason::NotARecord("test") }), Ok(b"inner".to_vec()),]);
    }

    #[test]
    fn a_large_frame_is_split_off_whole_and_one_that_does_not_parse_is_put_back() {
        let large = vec![b'x'; SHARE_FROM + 100];
        let mut inner = BytesMut::new();
        frame(&mut inner, b"inner");
        let padding = [0_u8; SHARE_FROM];
        let mut buf = BytesMut::new();
        frame(&mut buf, &large);
        // A large bad frame whose declared length covers a good frame.
        put_header(&mut buf, 1 + inner.len() + padding.len());
        buf.put_u8(b'!');
        buf.put_slice(&inner);
        buf.put_slice(&padding);
        frame(&mut buf, b"after");
        let mut decoder = FrameDecoder::new(4 * SHARE_FROM);
        let got = drain(&mut decoder, &mut buf, false);
        assert_eq!(
            got,
            vec![
                Ok(large),
                Err(Malformed { bytes: 7, reason: Reason::NotARecord("test") }),
                Ok(b"inner".to_vec()),
                Err(Malformed { bytes: padding.len() as u64, reason: Reason::NotAFrame }),
                Ok(b"after".to_vec()),
            ]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn at_the_end_a_cut_frame_and_leftovers_are_reported_and_the_decoder_starts_afresh() {
        let mut buf = BytesMut::new();
        put_header(&mut buf, 10);
        buf.put_slice(b"abc");
        let mut decoder = FrameDecoder::new(100);
        assert!(drain(&mut decoder, &mut buf, false).is_empty());
        let got = drain(&mut decoder, &mut buf, true);
        assert_eq!(got, vec![Err(Malformed { bytes: 9, reason: Reason::Truncated { len: 10, got: 3 } })]);
        assert!(buf.is_empty());
        frame(&mut buf, b"next writer");
        assert_eq!(drain(&mut decoder, &mut buf, false), vec![Ok(b"next writer".to_vec())]);
    }

    #[test]
    fn random_input_never_panics_and_always_ends() {
        // A deterministic xorshift: bytes with many markers in them.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut decoder = FrameDecoder::new(64);
        for _ in 0..200 {
            let mut buf = BytesMut::new();
            for _ in 0..512 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let byte = match state % 5 {
                    0 => MAGIC[0],
                    1 => MAGIC[1],
                    2 => 0,
                    _ => (state >> 8) as u8,
                };
                buf.put_u8(byte);
            }
            let got = drain(&mut decoder, &mut buf, true);
            let skipped: u64 = got.iter().filter_map(|r| r.as_ref().err()).map(|m| m.bytes).sum();
            let kept: usize = got.iter().filter_map(|r| r.as_ref().ok()).map(|p| p.len() + HEADER_LEN).sum();
            assert_eq!(skipped as usize + kept, 512, "every byte is either in a frame or skipped");
            assert!(buf.is_empty());
        }
    }
}
