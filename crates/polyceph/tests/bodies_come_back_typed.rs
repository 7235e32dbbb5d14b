//! Proves that bodies come back as the types they were sent as (by value,
//! by reference, or moved out), that a wrong type is a `BodyError` naming both
//! types, that a `&'static str` reads as a `String`, that an envelope survives
//! msgpack with its body decoded lazily by the same call, and that an
//! envelope's `Display` shows every field.

mod support;

use std::time::Duration;

use polyceph::error::BodyError;
use polyceph::prelude::*;
use serde::{Deserialize, Serialize};
use support::{Probe, next};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
}

fn kitchen() -> Reading {
    Reading { sensor: "kitchen".into(), celsius: 21.5 }
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

/// Sends `body` to a probe and returns the envelope the probe got.
async fn through_a_probe<B: polyceph::Body>(subject: &'static str, body: B) -> anyhow::Result<Envelope> {
    let (probe, mut seen) = Probe::new();
    let app = Application::builder().actor("probe", probe).start().await?;
    app.send("probe", subject, body).await?;
    let mail = next(&mut seen).await;
    app.shutdown().await;
    Ok(mail)
}

/// A reply with headers of several kinds, a priority and a struct body.
async fn a_reply() -> anyhow::Result<Envelope> {
    let app = Application::builder().actor("thermometer", Thermometer).start().await?;
    let reply = app
        .mail("thermometer", "measure", ())
        .header("args", vec!["Arg1", "Arg2"])
        .header("note", "text")
        .header("raw", Value::bytes(*b"\x00\xff"))
        .priority(3)
        .request(Duration::from_secs(1))
        .await?;
    app.shutdown().await;
    Ok(reply)
}

#[tokio::test(start_paused = true)]
async fn a_local_body_comes_back_by_value_by_reference_and_moved_out() -> anyhow::Result<()> {
    let mail = through_a_probe("reading", kitchen()).await?;

    assert!(mail.body_type().ends_with("Reading"), "{}", mail.body_type());
    assert_eq!(mail.body::<Reading>()?, kitchen());
    assert_eq!(mail.body_ref::<Reading>()?, &kitchen());
    // Moved out of a copy that shares the body, and out of the last holder.
    let copy = mail.clone();
    assert_eq!(copy.into_body::<Reading>()?, kitchen());
    assert_eq!(mail.into_body::<Reading>()?, kitchen());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_wrong_type_is_an_error_naming_both_types() -> anyhow::Result<()> {
    let mail = through_a_probe("reading", kitchen()).await?;

    let by_value = mail.body::<u64>().expect_err("not a u64");
    assert!(matches!(by_value, BodyError::Decode { expected: "u64", .. }), "{by_value:?}");
    let text = by_value.to_string();
    assert!(text.contains("u64") && text.contains("Reading"), "{text}");

    let by_reference = mail.body_ref::<String>().expect_err("not a String");
    match &by_reference {
        BodyError::WrongType { expected, found } => {
            assert_eq!(*expected, "alloc::string::String");
            assert!(found.ends_with("Reading"), "{found}");
        }
        other => panic!("expected a wrong type, got {other:?}"),
    }
    let text = by_reference.to_string();
    assert!(text.contains("String") && text.contains("Reading"), "{text}");

    let moved = mail.into_body::<Vec<u8>>().expect_err("not bytes");
    let text = moved.to_string();
    assert!(text.contains("Vec<u8>") && text.contains("Reading"), "{text}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_static_str_body_reads_as_a_string() -> anyhow::Result<()> {
    let mail = through_a_probe("text", "Hello, World!").await?;

    assert_eq!(mail.body_type(), "&str");
    assert_eq!(mail.body::<String>()?, "Hello, World!");
    assert_eq!(mail.body_ref::<&str>()?, &"Hello, World!");
    assert!(mail.body_ref::<String>().is_err(), "borrowing needs the exact type");
    assert_eq!(mail.into_body::<String>()?, "Hello, World!");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_envelope_survives_msgpack_and_its_body_decodes_lazily() -> anyhow::Result<()> {
    let reply = a_reply().await?;
    let copy = Envelope::from_msgpack(&reply.to_msgpack()?)?;

    assert_eq!(copy.id(), reply.id());
    assert_eq!(copy.thread(), reply.thread());
    assert_eq!(copy.thread_index(), 2);
    assert_eq!(copy.time(), reply.time());
    assert_eq!(copy.sender(), reply.sender());
    assert_eq!(copy.recipient(), reply.recipient());
    assert_eq!(copy.subject(), "reply");
    assert_eq!(copy.priority(), 3);
    assert_eq!(copy.headers(), reply.headers());
    assert_eq!(copy.headers().get("raw"), Some(&Value::bytes(*b"\x00\xff")));
    assert_eq!(copy.in_reply_to(), reply.in_reply_to());
    assert!(copy.in_reply_to().is_some());

    // Still bytes until read, then read by the same call as a local body.
    assert_eq!(copy.body_type(), "msgpack bytes");
    assert_eq!(copy.body::<Reading>()?, kitchen());
    assert_eq!(copy.body_type(), "msgpack bytes");
    let not_borrowed = copy.body_ref::<Reading>().expect_err("bytes cannot be borrowed as a Reading");
    assert!(matches!(not_borrowed, BodyError::WrongType { found: "msgpack bytes", .. }), "{not_borrowed:?}");
    let wrong = copy.body::<u64>().expect_err("not a u64").to_string();
    assert!(wrong.contains("u64") && wrong.contains("msgpack bytes"), "{wrong}");
    assert_eq!(copy.clone().into_body::<Reading>()?, kitchen());

    // The copy encodes to the same bytes again.
    assert_eq!(copy.to_msgpack()?, reply.to_msgpack()?);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn display_shows_every_field() -> anyhow::Result<()> {
    let reply = a_reply().await?;
    let shown = reply.to_string();

    let time = reply.field("time").expect("a time").into_owned();
    let in_reply_to = reply.in_reply_to().expect("a reply").to_string();
    for line in [
        format!("id: {},", reply.id()),
        format!("thread: {},", reply.thread()),
        "thread_index: 2,".to_owned(),
        format!("time: {time},"),
        "sender: thermometer,".to_owned(),
        "recipient: $app,".to_owned(),
        r#"subject: "reply","#.to_owned(),
        "priority: 3,".to_owned(),
        format!("in_reply_to: {in_reply_to},"),
        "headers: {".to_owned(),
        r#"acme: 123,"#.to_owned(),
        r#"args: ["Arg1", "Arg2"],"#.to_owned(),
        r#"note: "text","#.to_owned(),
        "raw: 0x00ff,".to_owned(),
        r#"body: {"celsius": 21.5, "sensor": "kitchen"},"#.to_owned(),
    ] {
        assert!(shown.lines().any(|l| l.trim() == line), "no line {line:?} in\n{shown}");
    }

    // The wire copy shows the same, its body decoded for display.
    let copy = Envelope::from_msgpack(&reply.to_msgpack()?)?;
    assert_eq!(copy.to_string(), shown);

    // A new thread without headers says so, and shows a text body quoted.
    let plain = through_a_probe("text", "Hello, World!").await?.to_string();
    assert!(plain.lines().any(|l| l.trim() == "headers: {},"), "{plain}");
    assert!(plain.lines().any(|l| l.trim() == r#"body: "Hello, World!","#), "{plain}");
    assert!(!plain.contains("in_reply_to"), "{plain}");
    Ok(())
}
