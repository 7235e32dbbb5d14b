//! Property tests of the wire format: any envelope (any names, subject,
//! priority, nested header values and body; from outside, any id, thread,
//! index, time and incarnation) survives msgpack with every field and its
//! body, and JSON with every value JSON can carry; forwarding is byte for
//! byte; and no input (random bytes, a valid envelope with bytes flipped,
//! random frames) makes a decoder panic.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use polyceph::error::WireError;
use polyceph::prelude::*;
use polyceph::wire::EnvelopeCodec;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tokio_util::codec::Decoder;
use uuid::Uuid;

/// Which values a strategy makes.
#[derive(Clone, Copy)]
enum Carrier {
    /// Every value.
    MessagePack,
    /// What JSON carries faithfully: no bytes, no extensions.
    Json,
}

/// Finite floats with any bits.
fn any_finite() -> impl Strategy<Value = f64> {
    proptest::num::f64::POSITIVE
        | proptest::num::f64::NEGATIVE
        | proptest::num::f64::NORMAL
        | proptest::num::f64::SUBNORMAL
        | proptest::num::f64::ZERO
}

fn value(carrier: Carrier) -> impl Strategy<Value = Value> {
    let common = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::UInt),
        any::<String>().prop_map(Value::from),
    ];
    let leaf = match carrier {
        Carrier::MessagePack => prop_oneof![
            4 => common,
            1 => any_finite().prop_map(Value::Float),
            1 => vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            1 => (any::<i8>(), vec(any::<u8>(), 0..40)).prop_map(|(tag, data)| Value::Ext(tag, data)),
        ]
        .boxed(),
        Carrier::Json => prop_oneof![4 => common, 1 => any_finite().prop_map(Value::Float)].boxed(),
    };
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            btree_map(any::<String>(), inner, 0..6).prop_map(Value::Map),
        ]
    })
}

/// An actor name that reads back as an actor: the text form of an address
/// gives `*`, `group:` and `topic:` their own meaning.
fn actor_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("reads as another kind of address", |name| name != "*" && !name.contains(':'))
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        actor_name().prop_map(Address::actor),
        any::<String>().prop_map(Address::group),
        any::<String>().prop_map(Address::topic),
        Just(Address::Everyone),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
    samples: Vec<i64>,
    note: Option<String>,
}

fn reading(carrier: Carrier) -> impl Strategy<Value = Reading> {
    let _ = carrier;
    (any::<String>(), any_finite(), vec(any::<i64>(), 0..8), any::<Option<String>>())
        .prop_map(|(sensor, celsius, samples, note)| Reading { sensor, celsius, samples, note })
}

#[derive(Debug, Clone)]
enum Body {
    Value(Value),
    Reading(Reading),
}

fn envelope(carrier: Carrier) -> impl Strategy<Value = (Envelope, Body)> {
    let body = prop_oneof![value(carrier).prop_map(Body::Value), reading(carrier).prop_map(Body::Reading)];
    (any::<String>(), address(), any::<String>(), any::<i8>(), btree_map(any::<String>(), value(carrier), 0..6), body)
        .prop_map(|(sender, to, subject, priority, headers, body)| {
            let mail = match &body {
                Body::Value(v) => Envelope::new(sender, to, subject, v.clone()),
                Body::Reading(r) => Envelope::new(sender, to, subject, r.clone()),
            };
            let mail = headers.into_iter().fold(mail.with_priority(priority), |mail, (k, v)| mail.with_header(k, v));
            (mail, body)
        })
}

/// The fields an envelope from outside sets that `Envelope::new` does not.
#[derive(Debug, Clone)]
struct Outside {
    id: Uuid,
    thread: Uuid,
    thread_index: u32,
    nanos: u64,
    incarnation: u64,
    in_reply_to: Option<Uuid>,
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn outside() -> impl Strategy<Value = Outside> {
    (uuid(), uuid(), 1..=u32::MAX, any::<u64>(), any::<u64>(), proptest::option::of(uuid())).prop_map(
        |(id, thread, thread_index, nanos, incarnation, in_reply_to)| Outside {
            id,
            thread,
            thread_index,
            nanos,
            incarnation,
            in_reply_to,
        },
    )
}

/// `mail` as a peer would write it with `from`'s fields, by hand with rmp
/// (the time in the 12-byte timestamp form, whatever it is).
fn from_outside(mail: &Envelope, from: &Outside) -> Vec<u8> {
    use rmp::encode as mp;
    let mut out = Vec::new();
    let fields = 12 + u32::from(from.in_reply_to.is_some());
    mp::write_map_len(&mut out, fields).expect("writes to a Vec");
    let str = |out: &mut Vec<u8>, s: &str| mp::write_str(out, s).expect("writes to a Vec");
    let bin = |out: &mut Vec<u8>, id: &Uuid| mp::write_bin(out, id.as_bytes()).expect("writes to a Vec");
    // Not in the order polyceph writes them.
    str(&mut out, "subject");
    str(&mut out, mail.subject());
    str(&mut out, "id");
    bin(&mut out, &from.id);
    str(&mut out, "time");
    mp::write_ext_meta(&mut out, 12, -1).expect("writes to a Vec");
    out.extend_from_slice(&u32::try_from(from.nanos % 1_000_000_000).expect("below 1e9").to_be_bytes());
    out.extend_from_slice(&(from.nanos / 1_000_000_000).to_be_bytes());
    str(&mut out, "thread");
    bin(&mut out, &from.thread);
    str(&mut out, "v");
    mp::write_uint(&mut out, 1).expect("writes to a Vec");
    str(&mut out, "thread_index");
    mp::write_uint(&mut out, u64::from(from.thread_index)).expect("writes to a Vec");
    str(&mut out, "sender");
    str(&mut out, mail.sender().as_str());
    str(&mut out, "incarnation");
    mp::write_uint(&mut out, from.incarnation).expect("writes to a Vec");
    str(&mut out, "recipient");
    str(&mut out, &mail.recipient().to_string());
    str(&mut out, "priority");
    mp::write_sint(&mut out, i64::from(mail.priority())).expect("writes to a Vec");
    str(&mut out, "headers");
    out.extend_from_slice(&rmp_serde::to_vec(mail.headers()).expect("headers encode"));
    if let Some(id) = &from.in_reply_to {
        str(&mut out, "in_reply_to");
        bin(&mut out, id);
    }
    str(&mut out, "body");
    out.extend_from_slice(
        &rmp_serde::to_vec_named(&mail.body::<Value>().expect("any body reads as a Value")).expect("encodes"),
    );
    out
}

/// Every field of `copy` is `original`'s, headers included.
fn same_fields(copy: &Envelope, original: &Envelope) -> Result<(), TestCaseError> {
    prop_assert_eq!(copy.id(), original.id());
    prop_assert_eq!(copy.thread(), original.thread());
    prop_assert_eq!(copy.thread_index(), original.thread_index());
    prop_assert_eq!(copy.time(), original.time());
    prop_assert_eq!(copy.sender().as_str(), original.sender().as_str());
    prop_assert_eq!(copy.sender_incarnation(), original.sender_incarnation());
    prop_assert_eq!(copy.recipient(), original.recipient());
    prop_assert_eq!(copy.subject(), original.subject());
    prop_assert_eq!(copy.priority(), original.priority());
    prop_assert_eq!(copy.headers(), original.headers());
    prop_assert_eq!(copy.in_reply_to(), original.in_reply_to());
    Ok(())
}

fn same_body(copy: &Envelope, body: &Body) -> Result<(), TestCaseError> {
    match body {
        Body::Value(v) => prop_assert_eq!(&copy.body::<Value>()?, v),
        Body::Reading(r) => prop_assert_eq!(&copy.body::<Reading>()?, r),
    }
    Ok(())
}

/// A valid encoding with something of everything in it, to mutate.
fn rich() -> Vec<u8> {
    let mail = Envelope::new(
        "Sensor",
        Address::group("loggers"),
        "Grüße",
        Reading { sensor: "kitchen".into(), celsius: 21.5, samples: vec![1, -1, i64::MIN], note: Some("ok".into()) },
    )
    .with_priority(-3)
    .with_header("text", "été")
    .with_header("uint", u64::MAX)
    .with_header("bytes", Value::bytes(*b"\x00\xff"))
    .with_header("ext", Value::Ext(4, vec![1, 2, 3, 4]))
    .with_header("nested", Value::from([("list", Value::from(vec![Value::Nil, Value::from(0.5)]))]));
    let from = Outside {
        id: Uuid::from_u128(1),
        thread: Uuid::from_u128(2),
        thread_index: 3,
        nanos: 1_700_000_000_123_456_789,
        incarnation: 4,
        in_reply_to: Some(Uuid::from_u128(5)),
    };
    from_outside(&mail, &from)
}

/// What a decoded envelope must allow: reading it, and writing it back in
/// a form that decodes to the same envelope (compared as bytes, since a
/// float header may be NaN).
fn usable(mail: &Envelope) -> Result<(), TestCaseError> {
    let _ = mail.body::<Value>();
    let _ = mail.to_string();
    let bytes = mail.to_msgpack()?;
    let again = Envelope::from_msgpack(&bytes)?;
    prop_assert_eq!(again.to_msgpack()?, bytes);
    Ok(())
}

proptest! {
    #[test]
    fn any_envelope_survives_msgpack((mail, body) in envelope(Carrier::MessagePack)) {
        let bytes = mail.to_msgpack()?;
        let copy = Envelope::from_msgpack(&bytes)?;
        same_fields(&copy, &mail)?;
        same_body(&copy, &body)?;
        // Forwarding writes the same bytes.
        prop_assert_eq!(copy.to_msgpack()?, bytes);
    }

    #[test]
    fn any_envelope_survives_msgpack_read_from_a_shared_buffer(
        (mail, body) in envelope(Carrier::MessagePack),
        blob in vec(any::<u8>(), 0..3000),
    ) {
        // The body as the strategy makes it (mostly small: copied), and
        // bytes often large enough to stay in the buffer.
        let large = (Envelope::new("camera", "store", "frame", Value::bytes(blob.clone())), Body::Value(Value::bytes(blob)));
        for (mail, body) in [(mail, body), large] {
            let bytes = Bytes::from(mail.to_msgpack()?);
            let copy = Envelope::from_msgpack_bytes(&bytes)?;
            same_fields(&copy, &mail)?;
            same_body(&copy, &body)?;
            prop_assert_eq!(copy.to_msgpack()?, bytes);
        }
    }

    #[test]
    fn any_envelope_json_can_carry_survives_json((mail, body) in envelope(Carrier::Json)) {
        let json = mail.to_json()?;
        let copy = Envelope::from_json(&json)?;
        same_fields(&copy, &mail)?;
        same_body(&copy, &body)?;
        prop_assert_eq!(copy.to_json()?, json);
        // And from JSON to msgpack and back.
        let copy = Envelope::from_msgpack(&copy.to_msgpack()?)?;
        same_fields(&copy, &mail)?;
        same_body(&copy, &body)?;
    }

    #[test]
    fn any_envelope_from_outside_survives_msgpack_and_json(
        (mail, body) in envelope(Carrier::Json),
        from in outside(),
    ) {
        let bytes = from_outside(&mail, &from);
        let decoded = Envelope::from_msgpack(&bytes)?;
        prop_assert_eq!(decoded.id(), from.id);
        prop_assert_eq!(decoded.thread(), from.thread);
        prop_assert_eq!(decoded.thread_index(), from.thread_index);
        let nanos = decoded.time().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).ok();
        prop_assert_eq!(nanos, Some(u128::from(from.nanos)));
        prop_assert_eq!(decoded.sender().as_str(), mail.sender().as_str());
        prop_assert_eq!(decoded.sender_incarnation(), from.incarnation);
        prop_assert_eq!(decoded.recipient(), mail.recipient());
        prop_assert_eq!(decoded.subject(), mail.subject());
        prop_assert_eq!(decoded.priority(), mail.priority());
        prop_assert_eq!(decoded.headers(), mail.headers());
        prop_assert_eq!(decoded.in_reply_to(), from.in_reply_to);
        same_body(&decoded, &body)?;

        let forwarded = decoded.to_msgpack()?;
        let copy = Envelope::from_msgpack(&forwarded)?;
        same_fields(&copy, &decoded)?;
        same_body(&copy, &body)?;
        prop_assert_eq!(copy.to_msgpack()?, forwarded);

        let copy = Envelope::from_json(&decoded.to_json()?)?;
        same_fields(&copy, &decoded)?;
        same_body(&copy, &body)?;
    }

    #[test]
    fn decoding_any_bytes_never_panics(bytes in vec(any::<u8>(), 0..2048)) {
        let copied = Envelope::from_msgpack(&bytes);
        if let Ok(mail) = &copied {
            usable(mail)?;
        }
        // Sharing the buffer decides the same.
        let shared = Envelope::from_msgpack_bytes(&Bytes::from(bytes.clone()));
        prop_assert_eq!(shared.map(|mail| mail.to_msgpack().ok()), copied.map(|mail| mail.to_msgpack().ok()));
        if let Ok(mail) = Envelope::from_json(&bytes) {
            usable(&mail)?;
        }
    }

    #[test]
    fn decoding_any_map_never_panics(fields in 0..20_u8, bytes in vec(any::<u8>(), 0..512)) {
        // Random bytes rarely start with a map; these do, so the decoder goes further.
        let input = [&[0x80 | fields.min(15)][..], &bytes].concat();
        if let Ok(mail) = Envelope::from_msgpack(&input) {
            usable(&mail)?;
        }
    }

    #[test]
    fn a_valid_envelope_with_bytes_flipped_never_panics(
        flips in vec((any::<prop::sample::Index>(), 1..=255_u8), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let valid = rich();
        let end = cut.index(valid.len());
        let truncated = Envelope::from_msgpack(&valid[..end]);
        prop_assert!(matches!(truncated, Err(WireError::Truncated { .. })), "{:?}", truncated);
        let mut bytes = valid;
        for (at, mask) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        if let Ok(mail) = Envelope::from_msgpack(&bytes) {
            usable(&mail)?;
        }
    }

    #[test]
    fn a_valid_json_envelope_with_bytes_flipped_never_panics(
        flips in vec((any::<prop::sample::Index>(), 1..=255_u8), 1..8),
    ) {
        let mut bytes = Envelope::from_msgpack(&rich())?.to_json()?;
        for (at, mask) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        if let Ok(mail) = Envelope::from_json(&bytes) {
            usable(&mail)?;
        }
    }

    #[test]
    fn decoding_any_frames_never_panics_nor_fails_the_stream(
        chunks in vec(vec(any::<u8>(), 0..64), 0..16),
        max in 0..128_usize,
    ) {
        let mut codec = EnvelopeCodec::new().max_frame(max);
        let mut buf = BytesMut::new();
        for chunk in &chunks {
            buf.extend_from_slice(chunk);
            // Bad frames are items; only I/O errors would end the stream.
            while let Some(item) = codec.decode(&mut buf)? {
                if let Ok(mail) = item {
                    usable(&mail)?;
                }
            }
        }
        while codec.decode_eof(&mut buf)?.is_some() {}
        prop_assert!(buf.is_empty());
    }
}

#[test]
fn strategies_reach_every_value_type() {
    // A guard on the strategies above: over a few hundred values, each type shows up.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeMap::new();
    for _ in 0..500 {
        let value = value(Carrier::MessagePack).new_tree(&mut runner).expect("a value").current();
        let kind = match value {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Ext(..) => "ext",
            _ => "other",
        };
        *seen.entry(kind).or_insert(0) += 1;
    }
    let kinds: Vec<&str> = seen.keys().copied().collect();
    assert_eq!(kinds, ["bool", "bytes", "ext", "float", "int", "list", "map", "nil", "str", "uint"], "{seen:?}");
}
