//! Proves that each kind of bad input to the wire decoders is an error of its
//! own `WireError` variant, never a panic: truncation at every length, input
//! that is not a map, wrong types, unknown versions, missing and duplicate
//! fields, out-of-range values, invalid UTF-8, nesting deeper than
//! `MAX_DEPTH`, trailing bytes and lengths the input cannot back; that
//! unknown fields are skipped and unknown extensions in headers are kept
//! verbatim; and that the JSON form names its errors the same way.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use polyceph::error::WireError;
use polyceph::prelude::*;
use polyceph::wire::MAX_DEPTH;
use support::{bin, map, mp};
use uuid::Uuid;

/// A msgpack timestamp (extension -1) of `data`.
fn timestamp(data: Vec<u8>) -> Vec<u8> {
    mp(Value::Ext(-1, data))
}

/// The 8-byte form of a msgpack timestamp; `nanos` is not checked.
fn timestamp64(secs: u64, nanos: u64) -> Vec<u8> {
    timestamp(((nanos << 34) | secs).to_be_bytes().to_vec())
}

/// A valid envelope's fields, every one present.
fn valid() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("v", mp(1)),
        ("id", bin(Uuid::new_v4())),
        ("thread", bin(Uuid::new_v4())),
        ("thread_index", mp(2)),
        ("time", timestamp64(1_700_000_000, 5)),
        ("sender", mp("outside")),
        ("incarnation", mp(9)),
        ("recipient", mp("inside")),
        ("subject", mp("hello")),
        ("priority", mp(-1)),
        ("headers", mp(Value::from([("k", 1)]))),
        ("in_reply_to", bin(Uuid::new_v4())),
        ("body", mp("text")),
    ]
}

/// The valid fields with `name` set to `value`.
fn with(name: &str, value: Vec<u8>) -> Vec<u8> {
    let mut fields = valid();
    fields.iter_mut().find(|(n, _)| *n == name).expect("a known field").1 = value;
    map(&fields)
}

fn without(name: &str) -> Vec<u8> {
    let mut fields = valid();
    fields.retain(|(n, _)| *n != name);
    map(&fields)
}

fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
    Envelope::from_msgpack(bytes)
}

/// `k` lists nested in one another, the innermost holding a `nil`.
fn nested_lists(k: usize) -> Vec<u8> {
    let mut out = vec![0x91; k]; // fixarray of one item
    out.push(0xc0);
    out
}

/// `k` maps nested in one another (`{"a": {"a": ... nil}}`).
fn nested_maps(k: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..k {
        out.extend_from_slice(&[0x81, 0xa1, b'a']); // fixmap of one entry, key "a"
    }
    out.push(0xc0);
    out
}

/// A rich, valid encoding: a reply with headers of every kind and a body.
fn rich() -> anyhow::Result<Vec<u8>> {
    let mut fields = valid();
    let headers = Value::from([
        ("text", Value::from("Grüße")),
        ("int", Value::from(i64::MIN)),
        ("uint", Value::from(u64::MAX)),
        ("float", Value::from(0.5)),
        ("bytes", Value::bytes(*b"\x00\x01")),
        ("list", Value::from(vec![Value::Nil, Value::from(true)])),
        ("map", Value::from([("a", Value::from([("b", 1)]))])),
        ("ext", Value::Ext(7, vec![1, 2, 3])),
    ]);
    fields.iter_mut().find(|(n, _)| *n == "headers").expect("headers").1 = mp(headers);
    fields.iter_mut().find(|(n, _)| *n == "body").expect("body").1 = mp(Value::from([("nested", vec![1, 2])]));
    let bytes = map(&fields);
    decode(&bytes)?;
    Ok(bytes)
}

#[test]
fn input_cut_at_any_length_is_truncated() -> anyhow::Result<()> {
    for bytes in [rich()?, Envelope::new("a", "b", "s", "body").with_header("h", 1.5).to_msgpack()?] {
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut]) {
                Err(WireError::Truncated { .. }) => {}
                other => panic!("cut at {cut} of {}: {other:?}", bytes.len()),
            }
        }
        decode(&bytes)?;
    }
    // The error says where the input ended.
    let bytes = map(&valid());
    assert_eq!(decode(&[]).unwrap_err(), WireError::Truncated { field: "envelope" });
    assert_eq!(decode(&bytes[..1]).unwrap_err(), WireError::Truncated { field: "field name" });
    assert_eq!(decode(&bytes[..10]).unwrap_err(), WireError::Truncated { field: "id" });
    assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap_err(), WireError::Truncated { field: "body" });
    Ok(())
}

#[test]
fn input_that_is_not_a_map_says_what_it_is() {
    let cases: [(&[u8], &str); 8] = [
        (b"hello", "an integer"), // 'h' is a positive fixint
        (&[0x92, 0x01, 0x02], "an array"),
        (&[0xa3, b'a', b'b', b'c'], "a string"),
        (&[0xc0], "nil"),
        (&[0xc3], "a boolean"),
        (&[0xcb, 0, 0, 0, 0, 0, 0, 0, 0], "a float"),
        (&[0xc4, 0x01, 0x00], "bin"),
        (&[0xc1], "the reserved byte 0xc1"),
    ];
    for (bytes, found) in cases {
        assert_eq!(decode(bytes).unwrap_err(), WireError::NotAMap { found }, "{bytes:02x?}");
    }
    // JSON is not msgpack either: '{' is a positive fixint.
    let json = Envelope::new("a", "b", "s", ()).to_json().expect("encodes");
    assert_eq!(decode(&json).unwrap_err(), WireError::NotAMap { found: "an integer" });
}

#[test]
fn a_field_of_the_wrong_type_is_named_with_both_types() {
    let wrong = |field, expected, found| WireError::WrongType { field, expected, found };
    let cases = [
        (with("v", mp("1")), wrong("v", "an unsigned integer", "a string")),
        (with("id", mp(Uuid::new_v4().to_string())), wrong("id", "bin", "a string")),
        (with("thread", mp(7)), wrong("thread", "bin", "an integer")),
        (with("in_reply_to", mp(Value::Nil)), wrong("in_reply_to", "bin", "nil")),
        (with("thread_index", mp(1.0)), wrong("thread_index", "an unsigned integer", "a float")),
        (with("time", mp(1_700_000_000)), wrong("time", "a timestamp", "an integer")),
        (with("time", mp(Value::Ext(5, vec![0; 8]))), wrong("time", "a timestamp", "another extension")),
        (with("time", mp(Value::Ext(-1, vec![0; 16]))), wrong("time", "a timestamp", "an extension")),
        (with("sender", mp(42)), wrong("sender", "a string", "an integer")),
        (with("recipient", mp(Value::bytes(*b"main"))), wrong("recipient", "a string", "bin")),
        (with("subject", mp(vec!["a"])), wrong("subject", "a string", "an array")),
        (with("priority", mp("high")), wrong("priority", "an integer", "a string")),
        (with("incarnation", mp(false)), wrong("incarnation", "an unsigned integer", "a boolean")),
        (with("headers", mp(vec![1, 2])), wrong("headers", "a map", "an array")),
        (with("body", vec![0xc1]), wrong("body", "a msgpack value", "the reserved byte 0xc1")),
        (with("headers", vec![0x81, 0x01, 0xc0]), wrong("header name", "a string", "an integer")),
        (with("headers", vec![0x81, 0xa1, b'k', 0xc1]), wrong("headers", "a msgpack value", "the reserved byte 0xc1")),
    ];
    for (bytes, expected) in cases {
        assert_eq!(decode(&bytes).unwrap_err(), expected);
    }
    // A field name that is not a string.
    let mut bytes = vec![0x81, 0x01, 0x01];
    assert_eq!(decode(&bytes).unwrap_err(), wrong("field name", "a string", "an integer"));
    bytes[1] = 0xc0;
    assert_eq!(decode(&bytes).unwrap_err(), wrong("field name", "a string", "nil"));
}

#[test]
fn another_format_version_is_refused() {
    for version in [0, 2, 255, u64::MAX] {
        assert_eq!(decode(&with("v", mp(version))).unwrap_err(), WireError::UnknownVersion { found: version });
    }
    // The version is checked where it is read, whatever comes after it.
    let mut fields = vec![("v", mp(2))];
    fields.push(("id", mp("not even a uuid")));
    assert_eq!(decode(&map(&fields)).unwrap_err(), WireError::UnknownVersion { found: 2 });
    // A negative version is no version at all.
    assert!(matches!(decode(&with("v", mp(-1))), Err(WireError::OutOfRange { field: "v", .. })));
}

#[test]
fn each_missing_mandatory_field_is_named() {
    for field in ["v", "id", "time", "sender", "recipient", "subject"] {
        assert_eq!(decode(&without(field)).unwrap_err(), WireError::MissingField { field }, "without {field}");
    }
    // The others are optional.
    for field in ["thread", "thread_index", "incarnation", "priority", "headers", "in_reply_to", "body"] {
        assert!(decode(&without(field)).is_ok(), "without {field}");
    }
    // An empty map misses the version first.
    assert_eq!(decode(&[0x80]).unwrap_err(), WireError::MissingField { field: "v" });
}

#[test]
fn a_field_given_twice_is_refused() {
    for (field, value) in valid() {
        let mut fields = valid();
        fields.push((field, value));
        assert_eq!(decode(&map(&fields)).unwrap_err(), WireError::DuplicateField { field }, "{field} twice");
    }
    // A header name given twice.
    let headers = [&[0x82][..], &mp("k")[..], &mp(1)[..], &mp("k")[..], &mp(2)[..]].concat();
    assert_eq!(decode(&with("headers", headers)).unwrap_err(), WireError::DuplicateField { field: "header name" });
}

#[test]
fn a_value_out_of_range_is_refused_with_a_reason() {
    let out_of_range = |bytes: Vec<u8>, field: &str, reason: &str| match decode(&bytes) {
        Err(WireError::OutOfRange { field: f, reason: r }) if f == field => {
            assert!(r.contains(reason), "{field}: {r:?} does not say {reason:?}");
        }
        other => panic!("{field}: expected out of range, got {other:?}"),
    };
    out_of_range(with("thread_index", mp(0)), "thread_index", "0 is not in 1..=4294967295");
    out_of_range(with("thread_index", mp(1_u64 << 32)), "thread_index", "4294967296 is not in");
    out_of_range(with("thread_index", mp(-1)), "thread_index", "-1 is negative");
    out_of_range(with("priority", mp(300)), "priority", "300 is not in -128..=127");
    out_of_range(with("priority", mp(-129)), "priority", "-129 is not in -128..=127");
    out_of_range(with("priority", mp(u64::MAX)), "priority", "is above");
    out_of_range(with("incarnation", mp(-5)), "incarnation", "-5 is negative");
    out_of_range(with("id", mp(Value::bytes([0; 15]))), "id", "a UUID is 16 bytes, not 15");
    out_of_range(with("id", mp(Value::bytes([0; 17]))), "id", "not 17");
    out_of_range(with("thread", mp(Value::bytes(Vec::new()))), "thread", "not 0");
    out_of_range(with("in_reply_to", mp(Value::bytes([0; 15]))), "in_reply_to", "not 15");
    // Nanoseconds of a second or more, in the 8- and 12-byte timestamps.
    out_of_range(with("time", timestamp64(0, 1_000_000_000)), "time", "1000000000 nanoseconds");
    let twelve = |nanos: u32, secs: i64| timestamp([nanos.to_be_bytes().as_slice(), &secs.to_be_bytes()].concat());
    out_of_range(with("time", twelve(1_000_000_000, 0)), "time", "nanoseconds is a second or more");
    // Before 1970, and after what nanoseconds in a u64 reach (2554).
    out_of_range(with("time", twelve(0, -1)), "time", "-1 s is not between 1970 and 2554");
    out_of_range(with("time", twelve(0, 18_446_744_074)), "time", "not between 1970 and 2554");
    // A timestamp of another size than 4, 8 or 12 bytes.
    out_of_range(with("time", timestamp(vec![0; 3])), "time", "not 3");

    // The largest time that fits still decodes.
    let latest = twelve(709_551_615, 18_446_744_073);
    assert!(decode(&with("time", latest)).is_ok());
}

#[test]
fn invalid_utf8_is_refused_where_the_envelope_reads_text() {
    let bad = vec![0xa2, 0xc3, 0x28]; // a 2-byte string, not UTF-8
    for field in ["sender", "recipient", "subject"] {
        assert_eq!(decode(&with(field, bad.clone())).unwrap_err(), WireError::InvalidUtf8 { field });
    }
    let header_value = [&[0x81][..], &mp("k")[..], &bad[..]].concat();
    assert_eq!(decode(&with("headers", header_value)).unwrap_err(), WireError::InvalidUtf8 { field: "headers" });
    let header_name = [&[0x81][..], &bad[..], &mp(1)[..]].concat();
    assert_eq!(decode(&with("headers", header_name)).unwrap_err(), WireError::InvalidUtf8 { field: "header name" });
    let field_name = [&[0x81][..], &bad[..], &mp(1)[..]].concat();
    assert_eq!(decode(&field_name).unwrap_err(), WireError::InvalidUtf8 { field: "field name" });

    // The body is not decoded on arrival: its strings are checked when it is read.
    let mail = decode(&with("body", bad)).expect("the body is not read on arrival");
    assert!(matches!(mail.body::<String>(), Err(polyceph::error::BodyError::Decode { .. })));
}

#[test]
fn nesting_deeper_than_max_depth_is_refused() {
    // A body may nest MAX_DEPTH lists (or maps); one more is too deep.
    for nested in [nested_lists, nested_maps] {
        assert!(decode(&with("body", nested(MAX_DEPTH))).is_ok());
        assert_eq!(decode(&with("body", nested(MAX_DEPTH + 1))).unwrap_err(), WireError::TooDeep { field: "body" });
        let header = |k| [&[0x81][..], &mp("deep")[..], &nested(k)[..]].concat();
        // The header map counts as a level: a header value nests one less.
        assert!(decode(&with("headers", header(MAX_DEPTH - 1))).is_ok());
        assert_eq!(decode(&with("headers", header(MAX_DEPTH))).unwrap_err(), WireError::TooDeep { field: "headers" });
    }
    // Far deeper input stops at the limit instead of exhausting the stack.
    assert_eq!(decode(&with("body", nested_lists(1_000_000))).unwrap_err(), WireError::TooDeep { field: "body" });
    let header = [&[0x81][..], &mp("deep")[..], &nested_maps(100_000)[..]].concat();
    assert_eq!(decode(&with("headers", header)).unwrap_err(), WireError::TooDeep { field: "headers" });
    // Unknown fields are skipped with the same limit.
    let mut fields = valid();
    fields.push(("future", nested_lists(MAX_DEPTH + 1)));
    assert_eq!(decode(&map(&fields)).unwrap_err(), WireError::TooDeep { field: "unknown field" });
    // A list (or map) as a map key is refused outright: its text form would
    // re-escape at each level and grow without bound.
    let key = [&[0x81][..], &nested_lists(MAX_DEPTH)[..], &[0xc0][..]].concat();
    let header = [&[0x81][..], &mp("deep")[..], &key[..]].concat();
    assert_eq!(
        decode(&with("headers", header)).unwrap_err(),
        WireError::WrongType { field: "headers", expected: "a scalar map key", found: "an array" }
    );
}

#[test]
fn a_too_deep_envelope_is_refused_by_the_writers_too() {
    // What every reader refuses is not written in the first place.
    let deep = (0..=MAX_DEPTH).fold(Value::Nil, |inner, _| Value::List(vec![inner]));
    let deep_header = Envelope::new("a", "b", "s", ()).with_header("deep", deep.clone());
    assert_eq!(deep_header.to_msgpack().unwrap_err(), WireError::TooDeep { field: "headers" });
    assert_eq!(deep_header.to_json().unwrap_err(), WireError::TooDeep { field: "headers" });

    let deep_body = Envelope::new("a", "b", "s", Value::List(vec![deep]));
    assert_eq!(deep_body.to_msgpack().unwrap_err(), WireError::TooDeep { field: "body" });
    assert_eq!(deep_body.to_json().unwrap_err(), WireError::TooDeep { field: "body" });
}

#[test]
fn bytes_after_the_envelope_are_refused() {
    let mut bytes = map(&valid());
    assert!(decode(&bytes).is_ok());
    bytes.extend_from_slice(&[0xc0, 0xc0, 0xc0]);
    assert_eq!(decode(&bytes).unwrap_err(), WireError::TrailingBytes { count: 3 });
    // A map that declares fewer fields than it holds leaves the rest trailing.
    let mut fields = map(&valid());
    fields[0] -= 1;
    let last = mp("body").len() + mp("text").len();
    assert_eq!(decode(&fields).unwrap_err(), WireError::TrailingBytes { count: last });
}

#[test]
fn a_length_the_input_cannot_back_is_truncated_at_once() {
    let huge = |marker: u8| [&[marker, 0xff, 0xff, 0xff, 0xff][..], b"abc"].concat();
    let header = |value: Vec<u8>| [&[0x81][..], &mp("k")[..], &value[..]].concat();
    // A map32 of 4 billion entries, the first one `"v": 1`.
    let huge_map = vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'v', 0x01];
    let cases = [
        (with("subject", huge(0xdb)), "subject"),           // str32
        (with("sender", huge(0xdb)), "sender"),             // str32
        (with("id", huge(0xc6)), "id"),                     // bin32
        (with("headers", header(huge(0xdb))), "headers"),   // str32
        (with("headers", header(huge(0xc6))), "headers"),   // bin32
        (with("headers", header(huge(0xdd))), "headers"),   // array32
        (with("headers", header(huge(0xdf))), "headers"),   // map32
        (with("headers", header(huge(0xc9))), "headers"),   // ext32
        (with("headers", huge_map.clone()), "header name"), // map32 of headers
        (with("body", huge(0xdb)), "body"),                 // str32
        (with("body", huge(0xc6)), "body"),                 // bin32
        (with("body", huge(0xdd)), "body"),                 // array32 of three nils
        (with("body", huge(0xdf)), "body"),                 // map32
        (with("body", huge(0xc9)), "body"),                 // ext32
        (huge_map, "field name"),                           // an envelope of 4 billion fields
    ];
    for (bytes, field) in cases {
        let start = Instant::now();
        let result = decode(&bytes);
        assert!(start.elapsed() < Duration::from_millis(100), "{field}: took {:?}", start.elapsed());
        assert_eq!(result.unwrap_err(), WireError::Truncated { field }, "{bytes:02x?}");
    }
}

#[test]
fn unknown_fields_are_skipped() -> anyhow::Result<()> {
    let mut fields = valid();
    fields.insert(1, ("added later", mp(Value::from([("any", Value::from(vec![Value::Ext(3, vec![1])]))]))));
    fields.push(("zzz", mp(Value::bytes([1, 2, 3]))));
    fields.push(("", vec![0xd4, 0x05, 0x00])); // fixext1
    let mail = decode(&map(&fields))?;
    assert_eq!(mail.subject(), "hello");
    assert_eq!(mail.body::<String>()?, "text");
    // FIXME (design): a bridge that decodes and re-encodes drops them, so
    // a field a newer peer adds does not survive an older forwarder.
    let forwarded: BTreeMap<String, Value> = rmp_serde::from_slice(&mail.to_msgpack()?)?;
    assert!(!forwarded.contains_key("added later") && !forwarded.contains_key("zzz"));
    Ok(())
}

#[test]
fn unknown_extensions_in_headers_are_kept_and_written_back_verbatim() -> anyhow::Result<()> {
    // Every extension size: fixext 1, 2, 4, 8, 16, then ext 8 and ext 16.
    let exts: Vec<Value> = [(5, 1), (-100, 2), (127, 4), (-128, 8), (0, 16), (-1, 3), (64, 300)]
        .into_iter()
        .map(|(tag, len)| Value::Ext(tag, (0..len).map(|i| i as u8).collect()))
        .collect();
    let headers: Vec<(String, Value)> = exts.iter().enumerate().map(|(i, v)| (format!("ext{i}"), v.clone())).collect();
    let encoded = mp(Value::Map(headers.iter().cloned().collect()));
    let mail = decode(&with("headers", encoded.clone()))?;
    for (name, value) in &headers {
        assert_eq!(mail.headers().get(name), Some(value), "{name}");
    }
    let forwarded = mail.to_msgpack()?;
    assert!(forwarded.windows(encoded.len()).any(|w| w == encoded), "the headers are written back byte for byte");
    // As is an extension in the body.
    let body = mp(Value::Ext(33, vec![7; 5]));
    let mail = decode(&with("body", body.clone()))?;
    assert!(mail.to_msgpack()?.ends_with(&body));
    assert_eq!(mail.body::<Value>()?, Value::Ext(33, vec![7; 5]));
    Ok(())
}

/// A valid JSON envelope, as an object to take apart.
fn json_fields() -> serde_json::Map<String, serde_json::Value> {
    let json = Envelope::new("a", "b", "s", ()).with_header("k", 1).to_json().expect("encodes");
    match serde_json::from_slice(&json).expect("is JSON") {
        serde_json::Value::Object(fields) => fields,
        other => panic!("not an object: {other}"),
    }
}

fn from_json(fields: &serde_json::Map<String, serde_json::Value>) -> Result<Envelope, WireError> {
    Envelope::from_json(&serde_json::to_vec(fields).expect("encodes"))
}

fn json_with(name: &str, value: serde_json::Value) -> Result<Envelope, WireError> {
    let mut fields = json_fields();
    fields.insert(name.to_owned(), value);
    from_json(&fields)
}

#[test]
fn json_names_missing_fields_versions_and_bad_times() {
    assert!(from_json(&json_fields()).is_ok());
    for field in ["v", "id", "time", "sender", "recipient", "subject"] {
        let mut fields = json_fields();
        fields.remove(field);
        assert_eq!(from_json(&fields).unwrap_err(), WireError::MissingField { field }, "without {field}");
    }
    for field in ["thread", "thread_index", "priority", "headers", "body"] {
        let mut fields = json_fields();
        fields.remove(field);
        assert!(from_json(&fields).is_ok(), "without {field}");
    }
    for version in [0, 2, u64::MAX] {
        assert_eq!(json_with("v", version.into()).unwrap_err(), WireError::UnknownVersion { found: version });
    }
    for time in ["yesterday", "", "2026-13-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-11-21T10:00:00+02:00"] {
        assert!(matches!(json_with("time", time.into()), Err(WireError::OutOfRange { field: "time", .. })), "{time:?}");
    }
    // Nanoseconds are read to the last digit.
    let mail = json_with("time", "2026-11-21T10:00:00.123456789Z".into()).expect("a valid time");
    let nanos = mail.time().duration_since(std::time::UNIX_EPOCH).expect("after 1970").subsec_nanos();
    assert_eq!(nanos, 123_456_789);
}

#[test]
fn json_names_out_of_range_values_and_deep_nesting() {
    let range = |result: Result<Envelope, WireError>, field: &str| {
        assert!(matches!(&result, Err(WireError::OutOfRange { field: f, .. }) if *f == field), "{field}: {result:?}");
    };
    range(json_with("thread_index", 0.into()), "thread_index");
    range(json_with("thread_index", (1_u64 << 32).into()), "thread_index");
    range(json_with("priority", 300.into()), "priority");
    range(json_with("priority", (-129).into()), "priority");

    let deep = |k: usize| -> serde_json::Value {
        (0..k).fold(serde_json::Value::Null, |inner, _| serde_json::Value::Array(vec![inner]))
    };
    assert!(json_with("body", deep(MAX_DEPTH)).is_ok());
    assert_eq!(json_with("body", deep(MAX_DEPTH + 1)).unwrap_err(), WireError::TooDeep { field: "body" });
    assert!(json_with("headers", serde_json::json!({ "deep": deep(MAX_DEPTH - 1) })).is_ok());
    assert_eq!(
        json_with("headers", serde_json::json!({ "deep": deep(MAX_DEPTH) })).unwrap_err(),
        WireError::TooDeep { field: "headers" }
    );
    // Beyond serde_json's own recursion limit (128) it is the parser that refuses.
    let text = format!(r#"{{"v":1,"body":{}null{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(Envelope::from_json(text.as_bytes()), Err(WireError::Json { .. })));
}

#[test]
fn input_that_is_not_a_json_envelope_is_a_json_error() {
    let valid = Envelope::new("a", "b", "s", "body").to_json().expect("encodes");
    let msgpack = Envelope::new("a", "b", "s", "body").to_msgpack().expect("encodes");
    let trailing = [&valid[..], b"{}"].concat();
    let cases: [&[u8]; 10] = [
        b"",
        b"not json",
        b"[1, 2]",
        b"null",
        b"\"text\"",
        &msgpack,
        &trailing,
        br#"{"v": 1, "id": "not a uuid"}"#,
        br#"{"v": "1"}"#,
        br#"{"v": 1, "v": 1}"#,
    ];
    for bytes in cases {
        let result = Envelope::from_json(bytes);
        assert!(matches!(result, Err(WireError::Json { .. })), "{:?}: {result:?}", String::from_utf8_lossy(bytes));
    }
    // Cut at any length, it is an error.
    for cut in 0..valid.len() {
        assert!(Envelope::from_json(&valid[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn a_header_given_twice_in_json_keeps_the_last() {
    // FIXME: msgpack refuses a header name given twice (DuplicateField
    // "header name") and JSON refuses a field given twice, but a header
    // given twice in JSON silently keeps the last value.
    let mut text = String::from_utf8(Envelope::new("a", "b", "s", ()).to_json().expect("encodes")).expect("UTF-8");
    assert!(text.contains(r#""headers":{}"#), "{text}");
    text = text.replace(r#""headers":{}"#, r#""headers":{"k":1,"k":2}"#);
    let mail = Envelope::from_json(text.as_bytes()).expect("decodes");
    assert_eq!(mail.headers().get("k"), Some(&Value::from(2)));
}
