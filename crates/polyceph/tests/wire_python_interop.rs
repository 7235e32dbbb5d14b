//! Proves that Python's `msgpack` and polyceph speak the same wire format
//! (docs/wire-format.md), with a real Python process both ways:
//!
//! - Python writes envelopes as a Python client would (`uuid.UUID.bytes`,
//!   `msgpack.Timestamp`, dicts) in length-delimited frames on its stdout;
//!   Rust decodes them and checks every field against what it asked for.
//! - Rust writes envelopes (fresh ones, and a reply made by the runtime) in
//!   frames to a file; Python unpacks them with `msgpack.unpackb` and checks
//!   every field against what Rust expects, failing on any mismatch.
//!
//! The expected values always come from this file: it writes them as JSON
//! for `tests/python/wire_interop.py`, which never reports what it decoded
//! as the truth.
//!
//! Which Python runs, and why the test never passes without one: see
//! `support/python.rs`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use polyceph::prelude::*;
use polyceph::wire::EnvelopeCodec;
use polyceph::{APP_SENDER, Headers, Name};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::codec::{Decoder, Encoder};
use uuid::Uuid;

// --- Python ------------------------------------------------------------------

#[path = "support/python.rs"]
mod python;

use python::python;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/wire_interop.py")
}

/// A file for this run in the test's scratch directory (kept, to look at
/// after a failure).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wire_python_interop");
    std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// Runs the Python script with `args` and waits for it.
fn run_script(args: &[&OsStr]) -> Output {
    Command::new(python())
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", python()))
}

/// Fails the test, showing the script's stderr, unless it exited with 0.
fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {:?} {} exited with {}\n--- stderr ---\n{}--- stdout ---\n{}",
        python(),
        script().display(),
        output.status,
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout),
    );
}

fn write_json(name: &str, value: &serde_json::Value) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).expect("JSON encodes")).expect("the spec can be written");
    path
}

// --- values both sides agree on -----------------------------------------------

/// A body type as an application has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
    samples: Vec<u32>,
    calibrated: bool,
    raw: serde_bytes::ByteBuf,
    note: Option<String>,
}

fn reading() -> Reading {
    Reading {
        sensor: "t1".into(),
        celsius: -21.5,
        samples: vec![1, 200, 70_000],
        calibrated: true,
        raw: serde_bytes::ByteBuf::from(vec![0x00, 0xff]),
        note: None,
    }
}

/// [`reading`] as the msgpack map of named fields the format specifies,
/// written out by hand.
fn reading_value() -> Value {
    Value::from([
        ("sensor", Value::from("t1")),
        ("celsius", Value::Float(-21.5)),
        ("samples", Value::from(vec![1, 200, 70_000])),
        ("calibrated", Value::Bool(true)),
        ("raw", Value::bytes([0x00, 0xff])),
        ("note", Value::Nil),
    ])
}

/// An enum body: externally tagged, as the format specifies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Command2D {
    Move { x: i32, y: i32 },
}

fn command_value() -> Value {
    Value::from([("Move", Value::from([("x", -3), ("y", 4)]))])
}

/// A msgpack timestamp extension value in its smallest form, as the
/// msgpack spec lays it out.
fn timestamp_ext(secs: u64, nanos: u32) -> Value {
    let data = if secs >> 34 != 0 {
        [nanos.to_be_bytes().as_slice(), &secs.to_be_bytes()].concat()
    } else if nanos == 0 && secs <= u64::from(u32::MAX) {
        (secs as u32).to_be_bytes().to_vec()
    } else {
        ((u64::from(nanos) << 34) | secs).to_be_bytes().to_vec()
    };
    Value::Ext(-1, data)
}

/// A header of every value type, with edge values.
fn every_header_type() -> Vec<(&'static str, Value)> {
    vec![
        ("nil", Value::Nil),
        ("yes", Value::Bool(true)),
        ("no", Value::Bool(false)),
        ("small", Value::Int(7)),
        ("negative", Value::Int(-33)),
        ("i64_min", Value::Int(i64::MIN)),
        ("u64_max", Value::UInt(u64::MAX)),
        ("float", Value::Float(-0.1)),
        ("huge_float", Value::Float(1e300)),
        ("text", Value::from("grüße ✓")),
        ("empty_text", Value::from("")),
        ("bytes", Value::bytes([0x00, 0xff, 0x10])),
        ("list", Value::List(vec![Value::from(1), Value::from("two"), Value::Nil, Value::List(vec![])])),
        ("map", Value::from([("abc", Value::from(123)), ("nested", Value::from([("deep", true)]))])),
        ("ext", Value::Ext(42, vec![1, 2, 3])),
        ("timestamp", timestamp_ext(1_700_000_000, 123_456_789)),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A [`Value`] as the script's typed JSON: `{"int": 7}`, `{"bin": "00ff"}`...
fn typed(value: &Value) -> serde_json::Value {
    match value {
        Value::Nil => json!({ "nil": null }),
        Value::Bool(b) => json!({ "bool": b }),
        Value::Int(i) => json!({ "int": i }),
        Value::UInt(u) => json!({ "int": u }),
        Value::Float(x) => {
            assert!(x.is_finite(), "JSON cannot carry {x}");
            json!({ "float": x })
        }
        Value::Str(s) => json!({ "str": s }),
        Value::Bytes(b) => json!({ "bin": hex(b) }),
        Value::List(items) => json!({ "list": items.iter().map(typed).collect::<Vec<_>>() }),
        Value::Map(entries) => {
            json!({ "map": entries.iter().map(|(k, v)| (k.clone(), typed(v))).collect::<serde_json::Map<_, _>>() })
        }
        Value::Ext(-1, data) => {
            let (secs, nanos) = match data.len() {
                4 => (u64::from(u32::from_be_bytes(data[..].try_into().unwrap())), 0),
                8 => {
                    let packed = u64::from_be_bytes(data[..].try_into().unwrap());
                    (packed & ((1 << 34) - 1), (packed >> 34) as u32)
                }
                12 => (
                    u64::from_be_bytes(data[4..].try_into().unwrap()),
                    u32::from_be_bytes(data[..4].try_into().unwrap()),
                ),
                n => panic!("a timestamp of {n} bytes"),
            };
            json!({ "timestamp": [secs, nanos] })
        }
        Value::Ext(tag, data) => json!({ "ext": [tag, hex(data)] }),
        other => panic!("the test cannot describe {other:?} to Python yet"),
    }
}

fn typed_map(entries: &[(&str, Value)]) -> serde_json::Value {
    serde_json::Value::Object(entries.iter().map(|(k, v)| ((*k).to_owned(), typed(v))).collect())
}

fn headers(entries: &[(&str, Value)]) -> Headers {
    entries.iter().map(|(k, v)| (*k, v.clone())).collect()
}

fn time_of(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

fn secs_and_nanos(time: SystemTime) -> (u64, u32) {
    let since = time.duration_since(UNIX_EPOCH).expect("after 1970");
    (since.as_secs(), since.subsec_nanos())
}

/// Splits length-delimited frames: a 4-byte big-endian length, then the bytes.
fn unframe(mut data: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    while !data.is_empty() {
        assert!(data.len() >= 4, "{} stray bytes after frame {}", data.len(), frames.len());
        let (len, rest) = data.split_at(4);
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        assert!(rest.len() >= len, "frame {} announces {len} bytes, {} remain", frames.len(), rest.len());
        let (frame, rest) = rest.split_at(len);
        frames.push(frame);
        data = rest;
    }
    frames
}

// --- Python writes, Rust reads ------------------------------------------------

/// An envelope the test asks Python to write: what Rust must then read.
/// `None` fields are left out of the envelope, so their defaults apply.
#[derive(Clone)]
struct Sent {
    label: &'static str,
    id: Uuid,
    thread: Option<Uuid>,
    thread_index: Option<u32>,
    time: (u64, u32),
    sender: &'static str,
    incarnation: Option<u64>,
    recipient: Address,
    subject: &'static str,
    priority: Option<i8>,
    headers: Option<Vec<(&'static str, Value)>>,
    in_reply_to: Option<Uuid>,
    body: Option<Value>,
    /// Fields this version does not know, which it must skip.
    unknown: Vec<(&'static str, Value)>,
}

impl Sent {
    /// Only the required fields.
    fn minimal(label: &'static str, recipient: Address, time: (u64, u32)) -> Self {
        Self {
            label,
            id: Uuid::new_v4(),
            thread: None,
            thread_index: None,
            time,
            sender: "py-sender",
            incarnation: None,
            recipient,
            subject: "minimal",
            priority: None,
            headers: None,
            in_reply_to: None,
            body: None,
            unknown: Vec::new(),
        }
    }

    fn spec(&self) -> serde_json::Value {
        let mut spec = json!({
            "label": self.label,
            "id": self.id.to_string(),
            "time": [self.time.0, self.time.1],
            "sender": self.sender,
            "recipient": self.recipient.to_string(),
            "subject": self.subject,
        });
        let fields = spec.as_object_mut().unwrap();
        let mut set = |name: &str, value: Option<serde_json::Value>| {
            if let Some(value) = value {
                fields.insert(name.to_owned(), value);
            }
        };
        set("thread", self.thread.map(|t| json!(t.to_string())));
        set("thread_index", self.thread_index.map(|i| json!(i)));
        set("incarnation", self.incarnation.map(|i| json!(i)));
        set("priority", self.priority.map(|p| json!(p)));
        set("headers", self.headers.as_deref().map(typed_map));
        set("in_reply_to", self.in_reply_to.map(|t| json!(t.to_string())));
        set("body", self.body.as_ref().map(typed));
        set("unknown", (!self.unknown.is_empty()).then(|| typed_map(&self.unknown)));
        spec
    }

    /// Checks that `mail` is this envelope, field by field.
    fn assert_read_as(&self, mail: &Envelope) {
        let label = self.label;
        assert_eq!(mail.id(), self.id, "{label}: id");
        assert_eq!(mail.thread(), self.thread.unwrap_or(self.id), "{label}: thread");
        assert_eq!(mail.thread_index(), self.thread_index.unwrap_or(1), "{label}: thread_index");
        assert_eq!(mail.time(), time_of(self.time.0, self.time.1), "{label}: time");
        assert_eq!(mail.sender().as_str(), self.sender, "{label}: sender");
        assert_eq!(mail.sender_incarnation(), self.incarnation.unwrap_or(0), "{label}: incarnation");
        assert_eq!(mail.recipient(), &self.recipient, "{label}: recipient");
        assert_eq!(mail.subject(), self.subject, "{label}: subject");
        assert_eq!(mail.priority(), self.priority.unwrap_or(0), "{label}: priority");
        assert_eq!(mail.headers(), &headers(self.headers.as_deref().unwrap_or_default()), "{label}: headers");
        assert_eq!(mail.in_reply_to(), self.in_reply_to, "{label}: in_reply_to");
        assert_eq!(mail.body_type(), "msgpack bytes", "{label}: the body stays bytes until read");
        let body = mail.body::<Value>().unwrap_or_else(|e| panic!("{label}: body: {e}"));
        assert_eq!(body, self.body.clone().unwrap_or(Value::Nil), "{label}: body");
    }
}

#[test]
fn envelopes_python_writes_are_read_field_by_field() {
    let first = Uuid::new_v4();
    let full = Sent {
        id: first,
        thread: Some(first),
        thread_index: Some(1),
        time: (1_767_225_600, 123_456_789), // 2026-01-01, with nanoseconds: the 64-bit form
        sender: "thermometer",
        incarnation: Some(0xdead_beef_0001),
        recipient: Address::actor("logger"),
        subject: "température ✓",
        priority: Some(5),
        headers: Some(every_header_type()),
        body: Some(reading_value()),
        ..Sent::minimal("every field", Address::Everyone, (0, 0))
    };
    let reply = Sent {
        thread: Some(first),
        thread_index: Some(2),
        in_reply_to: Some(first),
        sender: "logger",
        recipient: Address::group("thermometers"),
        subject: "reply",
        priority: Some(-100),
        headers: Some(vec![("acme", Value::from(123))]),
        body: Some(Value::from("logged")),
        ..Sent::minimal("a reply", Address::Everyone, (1_767_225_601, 999_999_999))
    };
    let unknown = Sent {
        recipient: Address::topic("news"),
        subject: "command",
        priority: Some(-1),
        body: Some(command_value()),
        unknown: vec![
            ("x_future", Value::from([("a", Value::from(1)), ("b", Value::from(vec![true, false]))])),
            ("trace", Value::bytes([9; 20])),
        ],
        ..Sent::minimal("with unknown fields", Address::Everyone, (1_767_225_602, 0)) // the 32-bit form
    };
    // Only the required fields, at a time that needs the 96-bit form (2514+).
    let minimal = Sent::minimal("only the required fields", Address::Everyone, ((1 << 34) + 5, 42));
    let sent = [full, reply, unknown, minimal];

    let spec = write_json("python-writes.json", &json!(sent.iter().map(Sent::spec).collect::<Vec<_>>()));
    let output = run_script(&["write".as_ref(), spec.as_os_str()]);
    assert_success(&output, "Python writing envelopes");

    let frames = unframe(&output.stdout);
    assert_eq!(frames.len(), sent.len(), "one frame per envelope");
    let mails: Vec<Envelope> = frames
        .iter()
        .zip(&sent)
        .map(|(frame, s)| Envelope::from_msgpack(frame).unwrap_or_else(|e| panic!("{}: {e}", s.label)))
        .collect();
    for (mail, s) in mails.iter().zip(&sent) {
        s.assert_read_as(mail);
    }
    // The bodies read as the Rust types they match.
    assert_eq!(mails[0].body::<Reading>().unwrap(), reading());
    assert_eq!(mails[1].body::<String>().unwrap(), "logged");
    assert_eq!(mails[2].body::<Command2D>().unwrap(), Command2D::Move { x: -3, y: 4 });
    assert_eq!(mails[3].body::<Option<String>>().unwrap(), None);

    // The frame codec reads Python's frames the same.
    let mut codec = EnvelopeCodec::new();
    let mut buf = BytesMut::from(&output.stdout[..]);
    let mut ids = Vec::new();
    while let Some(item) = codec.decode(&mut buf).expect("no I/O error") {
        ids.push(item.expect("a valid envelope").id());
    }
    assert!(codec.decode_eof(&mut buf).expect("no I/O error").is_none(), "nothing after the last frame");
    assert_eq!(ids, sent.iter().map(|s| s.id).collect::<Vec<_>>());

    // A bridge forwards them: Rust writes them again, and Python finds every
    // field it wrote (the unknown ones dropped, the body's bytes as they came).
    let mut forwarded = BytesMut::new();
    for mail in &mails {
        codec.encode(mail, &mut forwarded).expect("encodes");
    }
    let frames = scratch("forwarded.bin");
    std::fs::write(&frames, &forwarded).expect("frames can be written");
    let output = run_script(&["check".as_ref(), spec.as_os_str(), frames.as_os_str()]);
    assert_success(&output, "Python checking the envelopes Rust forwarded");
}

// --- Rust writes, Python reads ------------------------------------------------

/// What Python must find in an envelope Rust wrote.
#[derive(Clone)]
struct Expected {
    label: &'static str,
    id: Uuid,
    thread: Uuid,
    thread_index: u32,
    time: SystemTime,
    sender: &'static str,
    incarnation: u64,
    recipient: String,
    subject: &'static str,
    priority: i8,
    headers: Vec<(&'static str, Value)>,
    in_reply_to: Option<Uuid>,
    body: Value,
}

impl Expected {
    /// A new thread's first envelope: only its id and time come from `mail`,
    /// which makes them; everything else is what the test put in.
    fn fresh(label: &'static str, mail: &Envelope) -> Self {
        Self {
            label,
            id: mail.id(),
            thread: mail.id(),
            thread_index: 1,
            time: mail.time(),
            sender: "",
            incarnation: 0,
            recipient: String::new(),
            subject: "",
            priority: 0,
            headers: Vec::new(),
            in_reply_to: None,
            body: Value::Nil,
        }
    }

    fn spec(&self) -> serde_json::Value {
        let (secs, nanos) = secs_and_nanos(self.time);
        let mut spec = json!({
            "label": self.label,
            "id": self.id.to_string(),
            "thread": self.thread.to_string(),
            "thread_index": self.thread_index,
            "time": [secs, nanos],
            "sender": self.sender,
            "incarnation": self.incarnation,
            "recipient": self.recipient,
            "subject": self.subject,
            "priority": self.priority,
            "headers": typed_map(&self.headers),
            "body": typed(&self.body),
        });
        if let Some(id) = self.in_reply_to {
            spec["in_reply_to"] = json!(id.to_string());
        }
        spec
    }
}

/// Answers `ping` with `pong` and a header of its own.
struct Echo;

impl Actor for Echo {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        Ok(())
    }
}

impl Echo {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "pong").header("served_by", "echo").send().await?;
        Ok(())
    }
}

/// A request from the app and the reply the runtime made for it.
async fn request_and_reply() -> (Envelope, Envelope) {
    let app = Application::builder().actor("echo", Echo).start().await.expect("the app starts");
    let mail = app.mail("echo", "ping", 1_u8).priority(-5).header("trace", "abc");
    let request = mail.envelope().clone();
    let reply = mail.request(Duration::from_secs(10)).await.expect("echo replies");
    app.shutdown().await;
    (request, reply)
}

#[tokio::test]
async fn envelopes_rust_writes_are_read_by_python_field_by_field() {
    let mut mails = Vec::new();
    let mut expected = Vec::new();

    let mail = every_header_type()
        .into_iter()
        .fold(Envelope::new("thermometer", "logger", "température ✓", reading()), |m, (k, v)| m.with_header(k, v))
        .with_priority(5);
    expected.push(Expected {
        sender: "thermometer",
        recipient: "logger".into(),
        subject: "température ✓",
        priority: 5,
        headers: every_header_type(),
        body: reading_value(),
        ..Expected::fresh("every header type, a struct body", &mail)
    });
    mails.push(mail);

    let mail = Envelope::new("commander", Address::group("robots"), "command", Command2D::Move { x: -3, y: 4 })
        .with_priority(-128);
    expected.push(Expected {
        sender: "commander",
        recipient: "group:robots".into(),
        subject: "command",
        priority: -128,
        body: command_value(),
        ..Expected::fresh("a group, an enum body, the lowest priority", &mail)
    });
    mails.push(mail);

    let mail = Envelope::new("press", Address::topic("news"), "headline", "héllo ✓".to_owned());
    expected.push(Expected {
        sender: "press",
        recipient: "topic:news".into(),
        subject: "headline",
        body: Value::from("héllo ✓"),
        ..Expected::fresh("a topic, a string body", &mail)
    });
    mails.push(mail);

    let mail = Envelope::new("janitor", Address::Everyone, "ping", ());
    expected.push(Expected {
        sender: "janitor",
        recipient: "*".into(),
        subject: "ping",
        ..Expected::fresh("everyone, no headers, a nil body", &mail)
    });
    mails.push(mail);

    let (request, reply) = request_and_reply().await;
    assert_ne!(reply.sender_incarnation(), 0, "an actor's reply carries its incarnation");
    expected.push(Expected {
        thread: request.id(),
        thread_index: 2,
        sender: "echo",
        // Made by the actor when it replied: nothing else knows it.
        incarnation: reply.sender_incarnation(),
        recipient: APP_SENDER.into(),
        subject: "reply",
        priority: -5,
        headers: vec![("trace", Value::from("abc")), ("served_by", Value::from("echo"))],
        in_reply_to: Some(request.id()),
        body: Value::from("pong"),
        ..Expected::fresh("a reply made by the runtime", &reply)
    });
    assert_eq!(reply.sender(), &Name::new("echo"));
    mails.push(reply);

    let mut codec = EnvelopeCodec::new();
    let mut buf = BytesMut::new();
    for mail in &mails {
        codec.encode(mail, &mut buf).expect("encodes");
    }
    let frames = scratch("rust-writes.bin");
    std::fs::write(&frames, &buf).expect("frames can be written");

    let spec = write_json("rust-writes.json", &json!(expected.iter().map(Expected::spec).collect::<Vec<_>>()));
    let output = run_script(&["check".as_ref(), spec.as_os_str(), frames.as_os_str()]);
    assert_success(&output, "Python checking the envelopes Rust wrote");

    // The check is strict: a wrong expectation fails it, naming the field.
    let mut wrong = expected.clone();
    wrong[1].subject = "commandeer";
    wrong[0].headers.iter_mut().find(|(name, _)| *name == "small").expect("a header `small`").1 = Value::Float(7.0);
    wrong[4].thread = wrong[4].id;
    let spec = write_json("rust-writes-wrong.json", &json!(wrong.iter().map(Expected::spec).collect::<Vec<_>>()));
    let output = run_script(&["check".as_ref(), spec.as_os_str(), frames.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a mismatch fails the check\n{stderr}");
    for needle in ["field 'subject'", "header['small']", "field 'thread'", "3 mismatches"] {
        assert!(stderr.contains(needle), "the check names {needle}:\n{stderr}");
    }
}
