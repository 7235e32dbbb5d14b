//! A Python program with nothing but `msgpack` holds a conversation with a
//! polyceph application over two FIFOs, in the frame format docs/fifo.md
//! specifies: its envelopes arrive field for field, its garbage is
//! skipped, its request is answered, Rust's envelope reaches it, and it
//! answers Rust's request (`tests/python/fifo_interop.py`).
//!
//! Which Python runs, and why the test never passes without one: see
//! `crates/polyceph/tests/support/python.rs`.

#[path = "../../polyceph/tests/support/python.rs"]
mod python;
mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, UNIX_EPOCH};

use polyceph::prelude::*;
use polyceph_fifo::{FifoReader, FifoWriter};
use python::python;
use serde::{Deserialize, Serialize};
use support::{PATIENCE, fifo_path, stats_until};
use tokio::sync::mpsc;

/// The note's body, as Python writes it and Rust reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    from: String,
    n: Vec<u32>,
    ok: bool,
}

/// Echoes requests, and hands notes to the test.
struct Echo {
    notes: mpsc::UnboundedSender<Envelope>,
}

impl Actor for Echo {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^echo$")?, Self::echo);
        ctx.on(Filter::subject("^note$")?, Self::note);
        Ok(())
    }
}

impl Echo {
    async fn echo(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, mail.body::<String>()?).send().await?;
        Ok(())
    }

    async fn note(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.notes.send(mail)?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_program_talks_with_an_application_over_two_fifos() -> anyhow::Result<()> {
    let (_dir, to_rust) = fifo_path("to-rust.fifo");
    let to_python = to_rust.with_file_name("to-python.fifo");
    let (reader, writer) = polyceph_fifo::pair(FifoReader::builder(&to_rust, "echo"), FifoWriter::builder(&to_python))?;
    let counters = reader.counters();
    let (tx, mut notes) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("echo", Echo { notes: tx })
        .actor("out", writer)
        .actor("in", reader)
        .start()
        .await?;

    let note_id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let note_time_ns: u64 = 1_795_255_200_123_456_789;
    let note_body = Note { from: "python".into(), n: vec![1, 200, 70_000], ok: true };
    let rust_body = serde_json::json!({"greeting": "hello from rust", "numbers": [1.5, -2]});
    let spec = serde_json::json!({
        "note_id": note_id,
        "note_time_ns": note_time_ns,
        "note_body": note_body,
        "rust_body": rust_body,
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/fifo_interop.py");
    let mut python = tokio::process::Command::new(python())
        .arg(&script)
        .arg(&to_rust)
        .arg(&to_python)
        .arg(spec.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;

    // Python's envelope, field for field.
    let note = tokio::time::timeout(PATIENCE, notes.recv()).await?.expect("the note arrived");
    assert_eq!(note.id().to_string(), note_id);
    assert_eq!(note.thread().to_string(), note_id);
    assert_eq!(note.time(), UNIX_EPOCH + Duration::from_nanos(note_time_ns));
    assert_eq!((note.sender().as_str(), note.subject()), ("python", "note"));
    assert_eq!(note.recipient(), &Address::actor("echo"), "readdressed to the reader's recipient");
    assert_eq!(note.field("lang").as_deref(), Some("python"));
    assert_eq!(note.field("fifo").as_deref(), to_rust.to_str());
    assert_eq!(note.body::<Note>()?, note_body);

    // Rust's envelope to Python, then a request Python answers.
    app.mail("out", "from rust", serde_json::from_value::<Value>(rust_body)?).header("lang", "rust").send().await?;
    let answer = app.request("out", "ask", 21_u64, PATIENCE).await?;
    assert_eq!((answer.sender().as_str(), answer.body::<u64>()?), ("python", 42));

    let status = tokio::time::timeout(PATIENCE, python.wait()).await??;
    assert!(status.success(), "{} failed ({status}); its stderr is above", script.display());
    // Python's garbage line was skipped; its request answered, ours settled.
    let stats = stats_until(&counters, |s| s.answered == 1).await;
    assert_eq!((stats.delivered, stats.malformed, stats.settled), (2, 1, 1), "{stats:?}");
    app.shutdown().await;
    Ok(())
}
