//! Proves that `EnvelopeCodec` carries envelopes over a byte stream in
//! order, in msgpack or JSON; that a bad frame, or one over the limit (even
//! one that arrives in pieces), costs only itself; that encoding over the
//! limit writes nothing and says why; that a decoded envelope forwarded
//! through the codec is the same frame; and that a stream ending inside a
//! frame is reported once.
//!
//! The codec is driven the way tokio-util's `FramedRead` drives it (`decode`
//! after each read, `decode_eof` at the end), over a Unix socket pair or
//! chunks of bytes: `FramedRead` itself needs the `Stream` trait from
//! `futures`, which is not a dependency.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

use bytes::BytesMut;
use polyceph::error::WireError;
use polyceph::prelude::*;
use polyceph::wire::{EnvelopeCodec, Format};
use tokio_util::codec::{Decoder, Encoder};

type Item = Result<Envelope, WireError>;

/// Everything `codec` decodes from `chunks`, fed one after the other as
/// reads from a stream would be, then the end of the stream. Checks that
/// the codec buffers at most one chunk beyond the frame it waits for.
fn decode_chunks<'a>(codec: &mut EnvelopeCodec, chunks: impl IntoIterator<Item = &'a [u8]>) -> io::Result<Vec<Item>> {
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(item) = codec.decode(&mut buf)? {
            items.push(item);
        }
        assert!(buf.len() <= codec.max_frame_len() + chunk.len(), "{} bytes buffered", buf.len());
    }
    while let Some(item) = codec.decode_eof(&mut buf)? {
        items.push(item);
    }
    Ok(items)
}

/// `bytes` in pieces of `size`.
fn decode_in_pieces(codec: &mut EnvelopeCodec, bytes: &[u8], size: usize) -> io::Result<Vec<Item>> {
    decode_chunks(codec, bytes.chunks(size))
}

/// Writes `bytes` into one end of a Unix socket pair, `write_size` bytes a
/// write, and decodes what the other end reads, `read_size` bytes a read.
fn through_a_socket(
    codec: &mut EnvelopeCodec,
    bytes: &[u8],
    write_size: usize,
    read_size: usize,
) -> io::Result<Vec<Item>> {
    let (mut writer, mut reader) = UnixStream::pair()?;
    // The reader moves into the scope, so a failing read drops it and
    // unblocks the writer instead of leaving the scope waiting on it.
    std::thread::scope(move |scope| {
        let written = scope.spawn(move || -> io::Result<()> {
            for piece in bytes.chunks(write_size) {
                writer.write_all(piece)?;
            }
            // Dropping the writer ends the stream.
            Ok(())
        });
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        let mut read = vec![0; read_size];
        loop {
            let n = reader.read(&mut read)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&read[..n]);
            while let Some(item) = codec.decode(&mut buf)? {
                items.push(item);
            }
        }
        while let Some(item) = codec.decode_eof(&mut buf)? {
            items.push(item);
        }
        written.join().expect("the writer does not panic")?;
        Ok(items)
    })
}

fn numbered(n: u32) -> Envelope {
    Envelope::new("counter", Address::topic("numbers"), "number", n).with_header("n", n).with_priority(-1)
}

/// The frames of `mails`, one after the other.
fn frames(codec: &mut EnvelopeCodec, mails: &[Envelope]) -> io::Result<BytesMut> {
    let mut out = BytesMut::new();
    for mail in mails {
        codec.encode(mail, &mut out)?;
    }
    Ok(out)
}

/// A frame's length prefix.
fn prefix(len: u32) -> [u8; 4] {
    len.to_be_bytes()
}

/// The number in each item, or the error.
fn numbers(items: Vec<Item>) -> Vec<Result<u32, WireError>> {
    items.into_iter().map(|item| item.map(|mail| mail.body::<u32>().expect("a number body"))).collect()
}

#[test]
fn many_envelopes_pass_in_order_over_a_socket() -> anyhow::Result<()> {
    for format in [Format::MessagePack, Format::Json] {
        let mails: Vec<Envelope> = (0..500).map(numbered).collect();
        let bytes = frames(&mut EnvelopeCodec::new().format(format), &mails)?;
        for (write_size, read_size) in [(bytes.len(), 64 * 1024), (1000, 7), (3, 4096)] {
            let items = through_a_socket(&mut EnvelopeCodec::new().format(format), &bytes, write_size, read_size)?;
            assert_eq!(items.len(), mails.len());
            for (item, mail) in items.into_iter().zip(&mails) {
                let copy = item?;
                assert_eq!(copy.id(), mail.id());
                assert_eq!(copy.time(), mail.time());
                assert_eq!(copy.recipient(), mail.recipient());
                assert_eq!(copy.headers(), mail.headers());
                assert_eq!(copy.priority(), -1);
                assert_eq!(copy.body::<u32>()?, mail.body::<u32>()?);
            }
        }
    }
    Ok(())
}

#[test]
fn a_garbage_frame_costs_only_itself() -> anyhow::Result<()> {
    let mut codec = EnvelopeCodec::new();
    let good = frames(&mut codec, &[numbered(1)])?;
    let valid = numbered(9).to_msgpack()?;
    let garbage: [(Vec<u8>, WireError); 4] = [
        (b"hello".to_vec(), WireError::NotAMap { found: "an integer" }),
        (Vec::new(), WireError::Truncated { field: "envelope" }),
        (valid[..valid.len() - 1].to_vec(), WireError::Truncated { field: "body" }),
        ([&valid[..], &[0xc0]].concat(), WireError::TrailingBytes { count: 1 }),
    ];
    for (frame, error) in garbage {
        let bytes = [&good[..], &prefix(u32::try_from(frame.len())?), &frame, &good].concat();
        for size in [1, 5, bytes.len()] {
            let items = decode_in_pieces(&mut EnvelopeCodec::new(), &bytes, size)?;
            assert_eq!(numbers(items), [Ok(1), Err(error.clone()), Ok(1)], "in pieces of {size}");
        }
        let items = through_a_socket(&mut EnvelopeCodec::new(), &bytes, 4, 3)?;
        assert_eq!(numbers(items), [Ok(1), Err(error), Ok(1)]);
    }
    Ok(())
}

#[test]
fn an_oversize_frame_is_skipped_unread_even_in_pieces() -> anyhow::Result<()> {
    const MAX: usize = 4096;
    let new = || EnvelopeCodec::new().max_frame(MAX);
    let good = frames(&mut new(), &[numbered(1)])?;
    let next = frames(&mut new(), &[numbered(2)])?;
    // The skipped frame holds what would look like frames, so skipping too
    // little or too much would show.
    let oversize = good.repeat(2 * MAX / good.len() + 1);
    let len = u32::try_from(oversize.len())?;
    let bytes = [&good[..], &prefix(len), &oversize, &next].concat();
    let expected = [Ok(1), Err(WireError::FrameTooLarge { len: u64::from(len), max: MAX }), Ok(2)];

    for size in [1, 2, 3, 5, 7, 100, MAX - 1, MAX, MAX + 1, bytes.len()] {
        let items = decode_in_pieces(&mut new(), &bytes, size)?;
        assert_eq!(numbers(items), expected, "in pieces of {size}");
    }
    // The length prefix itself split across reads.
    let at = good.len() + 2;
    let items = decode_chunks(&mut new(), [&bytes[..at], &bytes[at..at + 1], &bytes[at + 1..]])?;
    assert_eq!(numbers(items), expected);
    let items = through_a_socket(&mut new(), &bytes, 1000, 333)?;
    assert_eq!(numbers(items), expected);

    // The largest length a prefix can say.
    let bytes = [&good[..], &prefix(u32::MAX), b"abc"].concat();
    let items = decode_in_pieces(&mut new(), &bytes, 2)?;
    assert_eq!(numbers(items), [Ok(1), Err(WireError::FrameTooLarge { len: u64::from(u32::MAX), max: MAX })]);
    Ok(())
}

#[test]
fn a_frame_of_exactly_the_limit_passes() -> anyhow::Result<()> {
    let mail = numbered(7);
    let len = mail.to_msgpack()?.len();
    let mut codec = EnvelopeCodec::new().max_frame(len);
    let bytes = frames(&mut codec, &[mail.clone(), mail])?;
    assert_eq!(bytes.len(), 2 * (4 + len));
    assert_eq!(numbers(decode_in_pieces(&mut codec, &bytes, 10)?), [Ok(7), Ok(7)]);

    let mut smaller = EnvelopeCodec::new().max_frame(len - 1);
    let items = decode_in_pieces(&mut smaller, &bytes, 10)?;
    let too_large = WireError::FrameTooLarge { len: len as u64, max: len - 1 };
    assert_eq!(numbers(items), [Err(too_large.clone()), Err(too_large)]);
    Ok(())
}

#[test]
fn encoding_over_the_limit_fails_and_writes_nothing() -> anyhow::Result<()> {
    for format in [Format::MessagePack, Format::Json] {
        let mut codec = EnvelopeCodec::new().format(format).max_frame(400);
        let mut out = frames(&mut codec, &[numbered(1)])?;
        let before = out.clone();

        let big = Envelope::new("a", "b", "s", "x".repeat(500));
        let err = codec.encode(&big, &mut out).expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let wire = err.get_ref().and_then(|e| e.downcast_ref::<WireError>());
        assert!(matches!(wire, Some(WireError::FrameTooLarge { len, max: 400 }) if *len > 500), "{err:?}");
        assert_eq!(out, before, "nothing was written");

        // The codec goes on encoding.
        codec.encode(&numbered(2), &mut out)?;
        assert_eq!(numbers(decode_in_pieces(&mut codec, &out, 64)?), [Ok(1), Ok(2)]);
    }
    Ok(())
}

#[test]
fn a_decoded_envelope_forwarded_through_the_codec_is_the_same_frame() -> anyhow::Result<()> {
    // A small body (copied on decoding) and a large one (left in the frame,
    // and written from there when forwarded).
    for body in [Value::bytes(vec![1_u8; 40]), Value::bytes(vec![2_u8; 5000])] {
        let mut codec = EnvelopeCodec::new();
        let mail = Envelope::new("a", "b", "blob", body.clone()).with_header("n", 7);
        let mut frame = frames(&mut codec, &[mail])?;
        let sent = frame.clone();
        let copy = codec.decode(&mut frame)?.expect("a whole frame")?;
        assert_eq!(copy.body::<Value>()?, body);

        let mut again = BytesMut::new();
        codec.encode(&copy, &mut again)?;
        assert_eq!(again, sent, "forwarding writes the same bytes");

        // Over the limit, a forwarded body is refused like any other.
        let mut small = EnvelopeCodec::new().max_frame(64);
        let mut out = BytesMut::new();
        let err = small.encode(&copy, &mut out).expect_err("over the limit");
        let wire = err.get_ref().and_then(|e| e.downcast_ref::<WireError>());
        assert!(matches!(wire, Some(WireError::FrameTooLarge { max: 64, .. })), "{err:?}");
        assert!(out.is_empty(), "nothing was written");
    }
    Ok(())
}

/// A body whose `Serialize` fails.
struct Unserializable;

impl serde::Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot be serialized"))
    }
}

#[test]
fn a_body_that_does_not_serialize_fails_and_writes_nothing() -> anyhow::Result<()> {
    for format in [Format::MessagePack, Format::Json] {
        let mut codec = EnvelopeCodec::new().format(format);
        let mut out = frames(&mut codec, &[numbered(1)])?;
        let before = out.clone();
        let err = codec.encode(&Envelope::new("a", "b", "s", Unserializable), &mut out).expect_err("fails");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let wire = err.get_ref().and_then(|e| e.downcast_ref::<WireError>());
        assert!(matches!(wire, Some(WireError::Encode(_))), "{err:?}");
        assert_eq!(out, before, "nothing was written");
    }
    Ok(())
}

#[test]
fn a_stream_ending_inside_a_frame_is_reported_once() -> anyhow::Result<()> {
    let mut codec = EnvelopeCodec::new();
    let bytes = frames(&mut codec, &[numbered(1), numbered(2)])?;
    let second = frames(&mut codec, &[numbered(1)])?.len();
    for cut in second + 1..bytes.len() {
        if cut == second + 4 {
            continue; // see below
        }
        for size in [1, 4, cut] {
            let items = decode_in_pieces(&mut EnvelopeCodec::new(), &bytes[..cut], size)?;
            assert_eq!(numbers(items), [Ok(1), Err(WireError::Truncated { field: "frame" })], "cut at {cut}");
        }
    }
    // Over a socket too, and once the end is reported, the stream stays ended.
    let items = through_a_socket(&mut codec, &bytes[..bytes.len() - 3], 5, 5)?;
    assert_eq!(numbers(items), [Ok(1), Err(WireError::Truncated { field: "frame" })]);
    assert!(codec.decode_eof(&mut BytesMut::new())?.is_none());

    // A stream ending between frames, or inside a frame that is being
    // skipped as too large (already reported), just ends.
    assert_eq!(numbers(decode_in_pieces(&mut EnvelopeCodec::new(), &bytes, 3)?), [Ok(1), Ok(2)]);
    let cut_oversize = [&bytes[..second], &prefix(u32::MAX), b"abc"].concat();
    let items = decode_in_pieces(&mut EnvelopeCodec::new().max_frame(1000), &cut_oversize, 3)?;
    assert_eq!(numbers(items), [Ok(1), Err(WireError::FrameTooLarge { len: u64::from(u32::MAX), max: 1000 })]);
    Ok(())
}

#[test]
fn a_stream_ending_right_after_a_length_prefix_is_truncated() -> anyhow::Result<()> {
    // The inner LengthDelimitedCodec consumes the prefix; the cut is still
    // inside a frame.
    let mut codec = EnvelopeCodec::new();
    let bytes = frames(&mut codec, &[numbered(1), numbered(2)])?;
    let cut = frames(&mut codec, &[numbered(1)])?.len() + 4;
    for size in [1, 3, cut] {
        let items = decode_in_pieces(&mut EnvelopeCodec::new(), &bytes[..cut], size)?;
        assert_eq!(numbers(items), [Ok(1), Err(WireError::Truncated { field: "frame" })], "in pieces of {size}");
    }
    Ok(())
}

#[test]
fn json_frames_round_trip_and_hold_json() -> anyhow::Result<()> {
    let mut codec = EnvelopeCodec::new().format(Format::Json);
    let reply_like = Envelope::new("Sensor", Address::Everyone, "Grüße", vec![1.5, -2.0])
        .with_header("unicode", "🦀")
        .with_header("nested", Value::from([("list", vec![1, 2])]))
        .with_priority(i8::MIN);
    let mails = [numbered(1), reply_like.clone(), numbered(3)];
    let bytes = frames(&mut codec, &mails)?;

    // Each frame is a JSON document.
    let len = usize::try_from(u32::from_be_bytes(bytes[..4].try_into()?))?;
    let first: serde_json::Value = serde_json::from_slice(&bytes[4..4 + len])?;
    assert_eq!(first["v"], 1);
    assert_eq!(first["body"], 1);

    let items = decode_in_pieces(&mut codec, &bytes, 9)?;
    assert_eq!(items.len(), 3);
    let copy = items.into_iter().nth(1).expect("three items")?;
    assert_eq!(copy.id(), reply_like.id());
    assert_eq!(copy.time(), reply_like.time());
    assert_eq!(copy.recipient(), &Address::Everyone);
    assert_eq!(copy.subject(), "Grüße");
    assert_eq!(copy.priority(), i8::MIN);
    assert_eq!(copy.headers(), reply_like.headers());
    assert_eq!(copy.body::<Vec<f64>>()?, [1.5, -2.0]);

    // A msgpack frame to a JSON reader is a JSON error, and the next frame still comes.
    let msgpack = frames(&mut EnvelopeCodec::new(), &[numbered(4)])?;
    let json = frames(&mut codec, &[numbered(5)])?;
    let items = decode_in_pieces(&mut codec, &[&msgpack[..], &json].concat(), 6)?;
    let numbers = numbers(items);
    assert!(matches!(numbers[..], [Err(WireError::Json { .. }), Ok(5)]), "{numbers:?}");
    Ok(())
}
