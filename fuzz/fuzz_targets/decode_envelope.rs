//! Feeds arbitrary bytes to every envelope decoder: the msgpack form, the
//! JSON form and the length-delimited frame codec (both with the default
//! frame limit and with a tiny one, so oversized frames are skipped too).
//!
//! Decoding may fail, but must never panic, hang or run out of memory; and
//! whatever decodes must encode again into bytes that decode to the same
//! envelope (`decode(encode(x))` succeeds and keeps every field).

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use polyceph::Envelope;
use polyceph::wire::EnvelopeCodec;
use tokio_util::codec::{Decoder, Encoder};

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = Envelope::from_msgpack(data) {
        round_trip(&mail);
    }
    if let Ok(mail) = Envelope::from_json(data) {
        round_trip(&mail);
        // What came as JSON can always go back to JSON.
        mail.to_json().expect("an envelope decoded from JSON encodes as JSON");
    }
    frames(data, EnvelopeCodec::new());
    frames(data, EnvelopeCodec::new().max_frame(64));
});

/// Decodes `data` as a stream of frames, as `FramedRead` does: `decode`
/// until it needs more bytes, then `decode_eof` until the end.
fn frames(data: &[u8], mut codec: EnvelopeCodec) {
    let mut buf = BytesMut::from(data);
    // Every item consumes a 4-byte header or ends the stream: more items
    // than that means the codec stopped making progress.
    let most = data.len() / 4 + 2;
    let mut items = 0;
    loop {
        // An in-memory buffer has no I/O errors, and bad frames are items.
        match codec.decode(&mut buf).expect("only I/O errors end a stream") {
            Some(item) => check_item(item),
            None => break,
        }
        items += 1;
        assert!(items <= most, "the decoder yields items without consuming input");
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("only I/O errors end a stream") {
        check_item(item);
        items += 1;
        assert!(items <= most, "decode_eof yields items without consuming input");
    }
}

fn check_item(item: Result<Envelope, polyceph::error::WireError>) {
    if let Ok(mail) = item {
        round_trip(&mail);
    }
}

/// Encodes `mail` in both forms and through the codec, and checks that each
/// decodes again, to an envelope that encodes to the very same bytes.
fn round_trip(mail: &Envelope) {
    let bytes = mail.to_msgpack().expect("a decoded envelope encodes as msgpack");
    let again = Envelope::from_msgpack(&bytes).expect("decode(encode(x)) succeeds for msgpack");
    assert_same_fields(mail, &again);
    assert!(again.to_msgpack().unwrap() == bytes, "decode(encode(x)) encodes as encode(x)");

    // A msgpack body is not decoded on arrival, so it may hold what JSON
    // cannot (a string that is not UTF-8): encoding it as JSON may fail,
    // with an error. JSON cannot tell every msgpack type apart either (bin
    // becomes a list): the first trip may change types, later ones nothing.
    if let Ok(json) = mail.to_json() {
        let again = Envelope::from_json(&json).expect("decode(encode(x)) succeeds for JSON");
        assert_same_fields(mail, &again);
        assert!(again.to_json().unwrap() == json, "decode(encode(x)) encodes as encode(x) in JSON");
    }

    let mut codec = EnvelopeCodec::new().max_frame(u32::MAX as usize);
    let mut buf = BytesMut::new();
    codec.encode(mail, &mut buf).expect("a decoded envelope fits a frame");
    let again = codec.decode(&mut buf).expect("no I/O error").expect("a whole frame").expect("the frame decodes");
    assert!(buf.is_empty(), "one frame, read whole");
    assert!(again.to_msgpack().unwrap() == bytes, "the codec carries the envelope unchanged");
}

/// Every field but the headers and body, which may change type in JSON.
fn assert_same_fields(a: &Envelope, b: &Envelope) {
    assert_eq!(a.id(), b.id());
    assert_eq!(a.thread(), b.thread());
    assert_eq!(a.thread_index(), b.thread_index());
    assert_eq!(a.time(), b.time());
    assert_eq!(a.sender(), b.sender());
    assert_eq!(a.sender_incarnation(), b.sender_incarnation());
    assert_eq!(a.recipient(), b.recipient());
    assert_eq!(a.subject(), b.subject());
    assert_eq!(a.priority(), b.priority());
    assert_eq!(a.in_reply_to(), b.in_reply_to());
    assert_eq!(a.headers().len(), b.headers().len());
}
