//! Proves that an envelope survives the wire format, msgpack and JSON: every
//! field (ids, thread, index, time to the nanosecond, sender, incarnation,
//! each kind of recipient, subject, priority, headers of every value type,
//! in_reply_to) and typed bodies; that the msgpack map carries the body as a
//! msgpack value, the time as a timestamp extension and ids as 16-byte bin;
//! and that a bridge forwarding mail re-encodes it byte for byte.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use polyceph::Name;
use polyceph::prelude::*;
use serde::{Deserialize, Serialize};
use support::{bin, map, mp};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
    tags: Vec<String>,
}

fn kitchen() -> Reading {
    Reading { sensor: "kitchen".into(), celsius: 21.5, tags: vec!["indoor".into(), "été".into()] }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Command {
    Stop,
    Move(i32),
    Resize(u32, u32),
    Rename { from: String, to: String },
}

/// A header of every value type, nested ones included.
fn every_value() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("nil", Value::Nil),
        ("true", Value::from(true)),
        ("false", Value::from(false)),
        ("zero", Value::from(0)),
        ("negative", Value::from(-33)),
        ("min", Value::from(i64::MIN)),
        ("max", Value::from(i64::MAX)),
        ("above i64", Value::from(u64::MAX)),
        ("just above i64", Value::from(i64::MAX as u64 + 1)),
        ("float", Value::from(-2.5)),
        ("tiny float", Value::from(TINY)),
        ("text", Value::from("plain")),
        ("unicode", Value::from("Grüße, 世界 🦀")),
        ("empty", Value::from("")),
        ("bytes", Value::bytes(*b"\x00\xff\x7f")),
        ("list", Value::from(vec![Value::Nil, Value::from(1), Value::from("two"), Value::from(vec![3.5])])),
        ("map", Value::from([("inner", Value::from([("deeper", Value::from(vec![true]))])), ("n", Value::from(7))])),
        ("ext", Value::Ext(42, vec![1, 2, 3])),
        ("ext of eight", Value::Ext(-7, vec![9; 8])),
        ("empty ext", Value::Ext(0, Vec::new())),
    ])
}

/// A float whose shortest decimal form serde_json, without its
/// `float_roundtrip` feature, parses one unit in the last place off.
const TINY: f64 = -1.25e-300;

/// The headers whose JSON form does not read back as it was: JSON has no
/// bytes or extensions, and reads `TINY` back wrong (see below).
const JSON_LOSSY: [&str; 5] = ["bytes", "ext", "ext of eight", "empty ext", "tiny float"];

fn json_faithful(name: &str) -> bool {
    !JSON_LOSSY.contains(&name)
}

fn with_every_header(mut mail: Envelope) -> Envelope {
    for (name, value) in every_value() {
        mail = mail.with_header(name, value);
    }
    mail
}

/// Every field but the headers and the body.
fn assert_same_fields(copy: &Envelope, original: &Envelope) {
    assert_eq!(copy.id(), original.id());
    assert_eq!(copy.thread(), original.thread());
    assert_eq!(copy.thread_index(), original.thread_index());
    assert_eq!(copy.time(), original.time());
    // Names compare ignoring case: check the spelling too.
    assert_eq!(copy.sender().as_str(), original.sender().as_str());
    assert_eq!(copy.sender_incarnation(), original.sender_incarnation());
    assert_eq!(copy.recipient(), original.recipient());
    assert_eq!(copy.recipient().to_string(), original.recipient().to_string());
    assert_eq!(copy.subject(), original.subject());
    assert_eq!(copy.priority(), original.priority());
    assert_eq!(copy.in_reply_to(), original.in_reply_to());
}

fn via_msgpack(mail: &Envelope) -> anyhow::Result<Envelope> {
    Ok(Envelope::from_msgpack(&mail.to_msgpack()?)?)
}

fn via_json(mail: &Envelope) -> anyhow::Result<Envelope> {
    Ok(Envelope::from_json(&mail.to_json()?)?)
}

/// A msgpack timestamp in its 8-byte form.
fn timestamp64(secs: u64, nanos: u32) -> Vec<u8> {
    mp(Value::Ext(-1, ((u64::from(nanos) << 34) | secs).to_be_bytes().to_vec()))
}

/// The mandatory fields of an envelope from outside.
fn from_outside(id: Uuid, time: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("v", mp(1)),
        ("id", bin(id)),
        ("time", time),
        ("sender", mp("outside")),
        ("recipient", mp("inside")),
        ("subject", mp("hello")),
    ]
}

/// The msgpack map an envelope encodes to, read by rmp-serde.
fn as_map(bytes: &[u8]) -> anyhow::Result<BTreeMap<String, Value>> {
    Ok(rmp_serde::from_slice(bytes)?)
}

#[test]
fn every_field_and_header_survives_msgpack() -> anyhow::Result<()> {
    let original =
        with_every_header(Envelope::new("Sensor", Address::actor("Logger"), "reading", kitchen()).with_priority(-128));
    let copy = via_msgpack(&original)?;

    assert_same_fields(&copy, &original);
    assert_eq!(copy.headers(), original.headers());
    for (name, value) in every_value() {
        assert_eq!(copy.headers().get(name), Some(&value), "header {name}");
    }
    assert_eq!(copy.body_type(), "msgpack bytes");
    assert_eq!(copy.body::<Reading>()?, kitchen());
    Ok(())
}

#[test]
fn every_field_survives_json_and_headers_keep_what_json_can_carry() -> anyhow::Result<()> {
    let original =
        with_every_header(Envelope::new("Sensor", Address::actor("Logger"), "reading", kitchen()).with_priority(127));
    let copy = via_json(&original)?;

    assert_same_fields(&copy, &original);
    assert_eq!(copy.headers().len(), original.headers().len());
    for (name, value) in every_value().into_iter().filter(|(name, _)| json_faithful(name)) {
        assert_eq!(copy.headers().get(name), Some(&value), "header {name}");
    }
    // JSON has no bytes: they come back as a list of integers, and an
    // extension as its type and a list of its bytes.
    assert_eq!(copy.headers().get("bytes"), Some(&Value::from(vec![0, 255, 127])));
    assert_eq!(copy.headers().get("ext"), Some(&Value::List(vec![Value::from(42), Value::from(vec![1, 2, 3])])));
    assert_eq!(copy.headers().get("empty ext"), Some(&Value::List(vec![Value::from(0), Value::List(vec![])])));
    assert_eq!(copy.body::<Reading>()?, kitchen());
    Ok(())
}

#[test]
fn json_carries_every_finite_float_exactly() -> anyhow::Result<()> {
    let original = Envelope::new("a", "b", "s", TINY).with_header("x", TINY);
    let json = original.to_json()?;
    assert!(String::from_utf8(json.clone())?.contains("-1.25e-300"), "the encoder writes the float exactly");
    let copy = Envelope::from_json(&json)?;
    assert_eq!(copy.headers().get("x").and_then(Value::as_f64), Some(TINY));
    assert_eq!(copy.body::<f64>()?, TINY);
    assert_eq!(via_msgpack(&original)?.body::<f64>()?, TINY);
    Ok(())
}

#[test]
fn every_kind_of_address_survives_msgpack_and_json() -> anyhow::Result<()> {
    for to in [Address::actor("Logger"), Address::group("Workers"), Address::topic("tele/metry"), Address::Everyone] {
        let original = Envelope::new("Sensor", to.clone(), "reading", ());
        for copy in [via_msgpack(&original)?, via_json(&original)?] {
            assert_eq!(copy.recipient(), &to);
            assert_eq!(copy.recipient().to_string(), to.to_string());
            assert_eq!(copy.recipient().name().map(Name::as_str), to.name().map(Name::as_str));
        }
    }
    Ok(())
}

#[test]
fn every_priority_survives_msgpack_and_json() -> anyhow::Result<()> {
    for priority in [i8::MIN, -1, 0, 1, i8::MAX] {
        let original = Envelope::new("a", "b", "s", ()).with_priority(priority);
        assert_eq!(via_msgpack(&original)?.priority(), priority);
        assert_eq!(via_json(&original)?.priority(), priority);
    }
    Ok(())
}

#[test]
fn unicode_subjects_and_senders_survive_msgpack_and_json() -> anyhow::Result<()> {
    let original = Envelope::new("Ωmega-Sender", "b", "Grüße 🦀 \u{0} \"quoted\"\n", ());
    for copy in [via_msgpack(&original)?, via_json(&original)?] {
        assert_eq!(copy.subject(), original.subject());
        assert_eq!(copy.sender().as_str(), "Ωmega-Sender");
    }
    Ok(())
}

#[test]
fn the_time_keeps_its_nanoseconds_in_msgpack_and_json() -> anyhow::Result<()> {
    let mail = Envelope::new("a", "b", "s", ());
    assert_eq!(via_msgpack(&mail)?.time(), mail.time());
    assert_eq!(via_json(&mail)?.time(), mail.time());

    // A time with every nanosecond digit set, in each timestamp size: 4
    // bytes (whole seconds), 8 bytes, and 12 bytes (after 2514).
    let sizes: [(u64, u32, usize); 3] =
        [(1_700_000_000, 0, 4), (1_700_000_000, 123_456_789, 8), ((1 << 34) + 5, 999_999_999, 12)];
    for (secs, nanos, size) in sizes {
        let data = match size {
            4 => u32::try_from(secs)?.to_be_bytes().to_vec(),
            8 => ((u64::from(nanos) << 34) | secs).to_be_bytes().to_vec(),
            _ => [nanos.to_be_bytes().as_slice(), &secs.to_be_bytes()].concat(),
        };
        let id = Uuid::new_v4();
        let mail = Envelope::from_msgpack(&map(&from_outside(id, mp(Value::Ext(-1, data.clone())))))?;
        let expected = UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(mail.time(), expected, "{size}-byte timestamp");

        // Written back in the same, smallest, size.
        let bytes = mail.to_msgpack()?;
        assert_eq!(as_map(&bytes)?.get("time"), Some(&Value::Ext(-1, data)), "{size}-byte timestamp");
        assert_eq!(Envelope::from_msgpack(&bytes)?.time(), expected);

        let json = mail.to_json()?;
        let text: serde_json::Value = serde_json::from_slice(&json)?;
        let time = text["time"].as_str().unwrap_or_default();
        assert!(time.ends_with(&format!(".{nanos:09}Z")), "{time}");
        assert_eq!(Envelope::from_json(&json)?.time(), expected);
    }
    Ok(())
}

#[test]
fn the_incarnation_from_the_wire_survives_msgpack_and_json() -> anyhow::Result<()> {
    let mut fields = from_outside(Uuid::new_v4(), timestamp64(1_700_000_000, 1));
    fields.push(("incarnation", mp(u64::MAX)));
    let mail = Envelope::from_msgpack(&map(&fields))?;
    assert_eq!(mail.sender_incarnation(), u64::MAX);
    assert_eq!(via_msgpack(&mail)?.sender_incarnation(), u64::MAX);
    assert_eq!(via_json(&mail)?.sender_incarnation(), u64::MAX);

    // Mail from outside the actors has incarnation 0, and writes none.
    let plain = Envelope::new("a", "b", "s", ());
    assert_eq!(plain.sender_incarnation(), 0);
    assert!(!as_map(&plain.to_msgpack()?)?.contains_key("incarnation"));
    Ok(())
}

/// Replies to everything with a reading and an `acme` header.
struct Thermometer;

impl Actor for Thermometer {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::any(), Self::measure);
        Ok(())
    }
}

impl Thermometer {
    async fn measure(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, kitchen()).header("acme", 123).send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_reply_keeps_its_thread_index_and_in_reply_to() -> anyhow::Result<()> {
    let app = Application::builder().actor("thermometer", Thermometer).start().await?;
    let reply = app
        .mail("thermometer", "measure", ())
        .header("unicode", "Grüße")
        .priority(-5)
        .request(Duration::from_secs(1))
        .await?;
    app.shutdown().await;
    assert!(reply.in_reply_to().is_some());
    assert_ne!(reply.thread(), reply.id());
    assert_eq!(reply.thread_index(), 2);
    assert_ne!(reply.sender_incarnation(), 0, "an actor sends with its incarnation");

    for copy in [via_msgpack(&reply)?, via_json(&reply)?] {
        assert_same_fields(&copy, &reply);
        assert_eq!(copy.headers(), reply.headers());
        assert_eq!(copy.headers().get("unicode"), Some(&Value::from("Grüße")));
        assert!(copy.is_reply());
        assert_eq!(copy.body::<Reading>()?, kitchen());
    }
    Ok(())
}

#[test]
fn a_reply_from_outside_keeps_its_thread_index_and_in_reply_to() -> anyhow::Result<()> {
    let (id, thread, original) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut fields = from_outside(id, timestamp64(1_700_000_000, 42));
    fields.extend([("thread", bin(thread)), ("thread_index", mp(7)), ("in_reply_to", bin(original))]);
    let reply = Envelope::from_msgpack(&map(&fields))?;
    assert_eq!(reply.id(), id);
    assert_eq!(reply.thread(), thread);
    assert_eq!(reply.thread_index(), 7);
    assert_eq!(reply.in_reply_to(), Some(original));

    for copy in [via_msgpack(&reply)?, via_json(&reply)?] {
        assert_same_fields(&copy, &reply);
        assert_eq!(copy.thread(), thread);
        assert_eq!(copy.in_reply_to(), Some(original));
    }
    Ok(())
}

#[test]
fn optional_fields_left_out_take_their_defaults() -> anyhow::Result<()> {
    let id = Uuid::new_v4();
    let mail = Envelope::from_msgpack(&map(&from_outside(id, timestamp64(1_700_000_000, 0))))?;
    assert_eq!(mail.thread(), id, "a new thread's id is its first envelope's id");
    assert_eq!(mail.thread_index(), 1);
    assert_eq!(mail.priority(), 0);
    assert_eq!(mail.sender_incarnation(), 0);
    assert!(mail.headers().is_empty());
    assert_eq!(mail.in_reply_to(), None);
    mail.body::<()>()?;
    assert_eq!(mail.body::<Option<u8>>()?, None);
    Ok(())
}

/// Sends `body` through msgpack and JSON and reads it back as a `T`.
fn body_survives<T>(body: T) -> anyhow::Result<()>
where
    T: polyceph::Body + serde::de::DeserializeOwned + Clone + PartialEq + std::fmt::Debug,
{
    let original = Envelope::new("a", "b", "s", body.clone());
    let by_msgpack = via_msgpack(&original)?;
    assert_eq!(by_msgpack.body::<T>()?, body);
    assert_eq!(by_msgpack.into_body::<T>()?, body);
    assert_eq!(via_json(&original)?.body::<T>()?, body);
    Ok(())
}

#[test]
fn typed_bodies_come_back_from_msgpack_and_json() -> anyhow::Result<()> {
    body_survives(kitchen())?;
    for command in [
        Command::Stop,
        Command::Move(-3),
        Command::Resize(640, 480),
        Command::Rename { from: "old".into(), to: "new".into() },
    ] {
        body_survives(command)?;
    }
    body_survives(vec![kitchen(), kitchen()])?;
    body_survives(Vec::<u64>::new())?;
    body_survives(vec![u64::MAX, 0, 1])?;
    body_survives(Some(kitchen()))?;
    body_survives(None::<Reading>)?;
    body_survives(())?;
    body_survives(String::from("Grüße 🦀"))?;
    body_survives(21.5_f64)?;
    body_survives(f64::MAX)?;
    body_survives(-0.1_f64)?;
    body_survives(i64::MIN)?;
    body_survives(BTreeMap::from([("k".to_owned(), vec![1_i8, -1])]))?;
    body_survives(Value::from([("nested", Value::from(vec![Value::Nil, Value::from("x")]))]))?;
    Ok(())
}

#[test]
fn a_rust_body_is_a_msgpack_value_inside_the_map() -> anyhow::Result<()> {
    let mail = Envelope::new("a", "b", "s", kitchen());
    let fields = as_map(&mail.to_msgpack()?)?;
    let expected = Value::from([
        ("sensor", Value::from("kitchen")),
        ("celsius", Value::from(21.5)),
        ("tags", Value::from(vec!["indoor", "été"])),
    ]);
    assert_eq!(fields.get("body"), Some(&expected));

    // Not bin holding msgpack: a string body is a msgpack string.
    let fields = as_map(&Envelope::new("a", "b", "s", "text").to_msgpack()?)?;
    assert_eq!(fields.get("body"), Some(&Value::from("text")));
    Ok(())
}

#[test]
fn the_map_has_named_fields_a_timestamp_and_16_byte_ids() -> anyhow::Result<()> {
    let mail = Envelope::new("Sensor", Address::group("loggers"), "reading", ()).with_priority(-2).with_header("k", 1);
    let fields = as_map(&mail.to_msgpack()?)?;

    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["body", "headers", "id", "priority", "recipient", "sender", "subject", "thread", "thread_index", "time", "v"]
    );
    assert_eq!(fields["v"], Value::from(1));
    assert_eq!(fields["id"], Value::bytes(*mail.id().as_bytes()));
    assert_eq!(fields["thread"], Value::bytes(*mail.id().as_bytes()));
    assert_eq!(fields["id"].as_bytes().map(<[u8]>::len), Some(16));
    assert!(
        matches!(&fields["time"], Value::Ext(-1, data) if [4, 8, 12].contains(&data.len())),
        "{:?}",
        fields["time"]
    );
    assert_eq!(fields["thread_index"], Value::from(1));
    assert_eq!(fields["sender"], Value::from("Sensor"));
    assert_eq!(fields["recipient"], Value::from("group:loggers"));
    assert_eq!(fields["subject"], Value::from("reading"));
    assert_eq!(fields["priority"], Value::from(-2));
    assert_eq!(fields["headers"], Value::from([("k", 1)]));
    assert_eq!(fields["body"], Value::Nil);

    // The time is the envelope's, to the nanosecond.
    let Value::Ext(_, data) = &fields["time"] else { unreachable!("checked above") };
    let since_epoch = mail.time().duration_since(UNIX_EPOCH)?;
    let (secs, nanos) = match data.len() {
        4 => (u64::from(u32::from_be_bytes(data[..].try_into()?)), 0),
        8 => {
            let packed = u64::from_be_bytes(data[..].try_into()?);
            (packed & ((1 << 34) - 1), u32::try_from(packed >> 34)?)
        }
        _ => (u64::from_be_bytes(data[4..].try_into()?), u32::from_be_bytes(data[..4].try_into()?)),
    };
    assert_eq!(Duration::new(secs, nanos), since_epoch);
    Ok(())
}

#[test]
fn forwarding_reencodes_byte_for_byte_without_decoding_the_body() -> anyhow::Result<()> {
    let original =
        with_every_header(Envelope::new("Sensor", Address::topic("t"), "reading", kitchen())).with_priority(9);
    let bytes = original.to_msgpack()?;

    let first_hop = Envelope::from_msgpack(&bytes)?;
    assert_eq!(first_hop.body_type(), "msgpack bytes");
    let forwarded = first_hop.to_msgpack()?;
    assert_eq!(forwarded, bytes);

    let second_hop = Envelope::from_msgpack(&forwarded)?;
    assert_eq!(second_hop.to_msgpack()?, bytes);
    assert_eq!(second_hop.body::<Reading>()?, kitchen());
    // Reading the body does not change what is forwarded.
    assert_eq!(second_hop.to_msgpack()?, bytes);

    // A reply from outside, with an incarnation, forwards the same way.
    let mut fields = from_outside(Uuid::new_v4(), timestamp64(1_700_000_000, 5));
    fields.extend([
        ("thread", bin(Uuid::new_v4())),
        ("thread_index", mp(3)),
        ("incarnation", mp(77)),
        ("in_reply_to", bin(Uuid::new_v4())),
        ("body", mp(Value::Ext(9, vec![1, 2]))),
    ]);
    let reply = Envelope::from_msgpack(&map(&fields))?.to_msgpack()?;
    assert_eq!(Envelope::from_msgpack(&reply)?.to_msgpack()?, reply);

    // The JSON form forwards unchanged too (with floats JSON reads back).
    let mut faithful = original.clone();
    faithful.headers_mut().remove("tiny float");
    let json = faithful.to_json()?;
    assert_eq!(Envelope::from_json(&json)?.to_json()?, json);
    Ok(())
}

#[test]
fn a_body_from_outside_is_kept_as_it_came() -> anyhow::Result<()> {
    // A body in a form our encoder would not choose (a u64 marker for a
    // small number, a float32) is forwarded untouched.
    let odd_body = vec![0x92, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5, 0xca, 0x3f, 0xc0, 0, 0];
    let mut fields = from_outside(Uuid::new_v4(), timestamp64(1_700_000_000, 5));
    fields.push(("body", odd_body.clone()));
    let bytes = map(&fields);
    let mail = Envelope::from_msgpack(&bytes)?;
    assert_eq!(mail.body::<(u8, f32)>()?, (5, 1.5));
    let forwarded = mail.to_msgpack()?;
    assert!(forwarded.ends_with(&odd_body), "the body is written back as it came");
    Ok(())
}

#[test]
fn an_actor_address_that_reads_as_another_kind_changes_kind_on_the_wire() -> anyhow::Result<()> {
    // FIXME: a plain string is an actor address (`Address::from`), but the
    // wire carries the text form, which `Address::parse` reads: "*" sent
    // locally reaches no actor (no actor may be named so), yet after a
    // bridge it reaches everyone; "topic:t" becomes a topic. Either
    // `Address::from(&str)` should parse, or such actor names be refused.
    for (text, after) in [("*", Address::Everyone), ("topic:t", Address::topic("t")), ("group:g", Address::group("g"))]
    {
        let mail = Envelope::new("a", text, "s", ());
        assert_eq!(mail.recipient(), &Address::actor(text));
        assert_eq!(via_msgpack(&mail)?.recipient(), &after);
        assert_eq!(via_json(&mail)?.recipient(), &after);
    }
    Ok(())
}
