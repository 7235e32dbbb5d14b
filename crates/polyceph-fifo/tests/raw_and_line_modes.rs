//! Raw mode delivers bytes as they came; line mode lets people and shell
//! scripts talk to actors, and actors answer them through a writer actor.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{DEFAULT_SENDER, FifoReader, FifoWriter, Framing, RawFrame};
use support::{PATIENCE, fifo_path, next};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::unix::pipe;

#[tokio::test]
async fn raw_frames_records_and_lines_arrive_as_bytes() -> anyhow::Result<()> {
    for framing in [Framing::Frames, Framing::Records, Framing::Lines] {
        let (_dir, path) = fifo_path("raw.fifo");
        let (probe, mut recorded) = Probe::new();
        let reader = FifoReader::builder(&path, "main").framing(framing).raw("chunk").open()?;
        let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;

        let writer = FifoWriter::builder(&path).framing(framing).open()?;
        let payloads: [&[u8]; 3] = [b"\x00\x01\xC1F binary", b"", b"text"];
        let payloads = if framing == Framing::Lines { [b"\x01\xC1F \xff".as_slice(), b"", b"text"] } else { payloads };
        for payload in payloads {
            writer.send_raw(payload).await?;
        }
        for payload in payloads {
            let mail = next(&mut recorded).await;
            assert_eq!(mail.subject(), "chunk", "{framing}");
            assert_eq!(mail.sender().as_str(), DEFAULT_SENDER);
            assert_eq!(mail.body_ref::<RawFrame>()?.as_bytes(), payload, "{framing}");
        }
        app.shutdown().await;
    }
    Ok(())
}

/// Greets whoever writes `greet<TAB>name`.
struct Greeter;

impl Actor for Greeter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^greet$")?, Self::greet);
        Ok(())
    }
}

impl Greeter {
    async fn greet(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let name: String = mail.body()?;
        ctx.reply(&mail, format!("Hello, {name}!")).send().await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_shell_script_talks_to_an_actor_and_reads_its_replies() -> anyhow::Result<()> {
    let (_dir, inbox) = fifo_path("in.fifo");
    let outbox = inbox.with_file_name("out.fifo");
    // Lines read from the inbox come from "out", so replies go to the outbox.
    let reader = FifoReader::builder(&inbox, "greeter").framing(Framing::Lines).sender("out").open()?;
    let writer = FifoWriter::builder(&outbox).framing(Framing::Lines).open()?;
    let app = Application::builder().actor("greeter", Greeter).actor("out", writer).actor("in", reader).start().await?;
    let mut replies = BufReader::new(pipe::OpenOptions::new().open_receiver(&outbox)?).lines();
    let mut reply = async || -> anyhow::Result<Envelope> {
        let line = tokio::time::timeout(PATIENCE, replies.next_line()).await??.expect("a reply line");
        Ok(Envelope::from_json(line.as_bytes())?)
    };

    // The short form, with the shell's own printf.
    let sh =
        |script: &str, arg: &str| std::process::Command::new("sh").args(["-c", script]).arg(&inbox).arg(arg).status();
    assert!(sh(r#"printf 'greet\t%s\n' "$1" > "$0""#, "world")?.success());
    let answer = reply().await?;
    assert_eq!(answer.body::<String>()?, "Hello, world!");
    assert_eq!(answer.recipient(), &Address::actor("out"));

    // The full form: a JSON envelope on one line, its fields kept.
    let request = Envelope::new("out", "whoever", "greet", "JSON");
    assert!(sh(r#"printf '%s\n' "$1" > "$0""#, std::str::from_utf8(&request.to_json()?)?)?.success());
    let answer = reply().await?;
    assert_eq!(answer.body::<String>()?, "Hello, JSON!");
    assert_eq!((answer.in_reply_to(), answer.thread()), (Some(request.id()), request.thread()));
    app.shutdown().await;
    Ok(())
}
